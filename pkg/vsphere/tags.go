package vsphere

import (
	"context"
	"fmt"

	"github.com/vmware/govmomi/vapi/tags"
)

// tagReader reads which objects of one vCenter carry a tag of the zone and region
// categories, over a REST login of the session. It makes a handful of REST calls; the
// inventory watch asks it once per resync, never per lookup.
type tagReader struct {
	sess *Session
	// zoneCategory and regionCategory name the tag categories (labels.zone,
	// labels.region); empty when not configured.
	zoneCategory, regionCategory string
}

// tagIndex maps "Type:Value" of tagged objects to tag names, per category.
type tagIndex struct {
	zones   map[string]string
	regions map[string]string
}

// read returns the tagged objects and the configured categories that do not exist: those
// yield no labels (and a warning from the caller).
func (t *tagReader) read(ctx context.Context) (tagIndex, []string, error) {
	idx := tagIndex{zones: map[string]string{}, regions: map[string]string{}}
	if t.zoneCategory == "" && t.regionCategory == "" {
		return idx, nil, nil
	}
	rc, err := t.sess.REST(ctx)
	if err != nil {
		return idx, nil, err
	}
	defer func() { _ = rc.Logout(context.WithoutCancel(ctx)) }()
	m := tags.NewManager(rc)
	cats, err := m.GetCategories(ctx)
	if err != nil {
		return idx, nil, fmt.Errorf("listing tag categories: %w", classify(err))
	}
	var missing []string
	for _, want := range []struct {
		name string
		into map[string]string
	}{{t.zoneCategory, idx.zones}, {t.regionCategory, idx.regions}} {
		if want.name == "" {
			continue
		}
		id := ""
		for _, c := range cats {
			if c.Name == want.name {
				id = c.ID
			}
		}
		if id == "" {
			missing = append(missing, want.name)
			continue
		}
		if err := readCategory(ctx, m, id, want.name, want.into); err != nil {
			return idx, nil, err
		}
	}
	return idx, missing, nil
}

// readCategory puts into into the tag name, in the category id (named name), of every
// tagged object.
func readCategory(ctx context.Context, m *tags.Manager, id, name string, into map[string]string) error {
	ts, err := m.GetTagsForCategory(ctx, id)
	if err != nil {
		return fmt.Errorf("listing tags of category %q: %w", name, classify(err))
	}
	if len(ts) == 0 {
		return nil
	}
	names := map[string]string{}
	ids := make([]string, 0, len(ts))
	for _, t := range ts {
		names[t.ID] = t.Name
		ids = append(ids, t.ID)
	}
	attached, err := m.ListAttachedObjectsOnTags(ctx, ids)
	if err != nil {
		return fmt.Errorf("listing objects tagged in category %q: %w", name, classify(err))
	}
	for _, a := range attached {
		for _, o := range a.ObjectIDs {
			ref := o.Reference()
			into[ref.Type+":"+ref.Value] = names[a.TagID]
		}
	}
	return nil
}
