package vsphere

import (
	"context"
	"fmt"

	"github.com/vmware/govmomi/vapi/tags"
)

// tagIndex maps "Type:Value" of tagged objects to tag names, per category.
type tagIndex struct {
	zones   map[string]string
	regions map[string]string
}

// readTags reads which objects carry a tag of the zone and region categories. It makes
// a handful of REST calls and is run once per resync, never per lookup. A category
// that does not exist yields no labels (and a warning from the caller).
func readTags(ctx context.Context, s *Session, zoneCat, regionCat string) (tagIndex, []string, error) {
	idx := tagIndex{zones: map[string]string{}, regions: map[string]string{}}
	if zoneCat == "" && regionCat == "" {
		return idx, nil, nil
	}
	rc, err := s.REST(ctx)
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
	}{{zoneCat, idx.zones}, {regionCat, idx.regions}} {
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
		ts, err := m.GetTagsForCategory(ctx, id)
		if err != nil {
			return idx, nil, fmt.Errorf("listing tags of category %q: %w", want.name, classify(err))
		}
		if len(ts) == 0 {
			continue
		}
		names := map[string]string{}
		ids := make([]string, 0, len(ts))
		for _, t := range ts {
			names[t.ID] = t.Name
			ids = append(ids, t.ID)
		}
		attached, err := m.ListAttachedObjectsOnTags(ctx, ids)
		if err != nil {
			return idx, nil, fmt.Errorf("listing objects tagged in category %q: %w", want.name, classify(err))
		}
		for _, a := range attached {
			for _, o := range a.ObjectIDs {
				ref := o.Reference()
				want.into[ref.Type+":"+ref.Value] = names[a.TagID]
			}
		}
	}
	return idx, missing, nil
}
