package vsphere

import (
	"cmp"
	"context"
	"fmt"
	"sort"
	"sync"

	"github.com/vmware/govmomi/fault"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/types"
	"github.com/vmware/govmomi/vslm"
	"golang.org/x/sync/errgroup"
	"k8s.io/klog/v2"
)

type vslmObjectManager = *vslm.ObjectManager

func vslmManager(c *vim25.Client) vslmObjectManager { return vslm.NewObjectManager(c) }

// diskCatalog knows every First Class Disk on the configured datacenters' datastores:
// vSphere can only list FCD IDs per datastore and needs the datastore for every call, so
// the catalog maps IDs and names to datastores. It is read completely once (one list per
// datastore and one retrieval per disk), then kept current by this process's own
// changes; lookups that miss re-list (only new IDs are retrieved).
type diskCatalog struct {
	mu     sync.Mutex
	loaded bool
	byID   map[string]Disk
	// unreadable are the datastores (vCenter/ref) whose disks could not be listed at the
	// last refresh, with why: their disks are kept as last known, and a disk not found
	// elsewhere may be on one of them.
	unreadable map[string]error
	// loadMu serializes (re)loads.
	loadMu sync.Mutex
}

func (k *diskCatalog) load(ctx context.Context, m *Manager) error {
	k.mu.Lock()
	loaded := k.loaded
	k.mu.Unlock()
	if loaded {
		return nil
	}
	return k.reload(ctx, m)
}

// reload lists every datastore and retrieves the disks it does not know yet.
func (k *diskCatalog) reload(ctx context.Context, m *Manager) error {
	k.loadMu.Lock()
	defer k.loadMu.Unlock()
	for _, c := range m.vcenters {
		if err := k.refresh(ctx, c, "", types.ManagedObjectReference{}); err != nil {
			return err
		}
	}
	k.mu.Lock()
	k.loaded = true
	k.mu.Unlock()
	return nil
}

// refresh re-lists one datastore of c (or all of them when only is empty), adds disks it
// did not know and forgets the ones that are gone.
func (k *diskCatalog) refresh(ctx context.Context, c *vCenter, dc string, only types.ManagedObjectReference) error {
	var dss []Datastore
	if only.Value != "" {
		dss = []Datastore{{VCenter: c.vc.Name, Datacenter: dc, Ref: only.Value}}
	} else {
		all, err := c.datastores(ctx)
		if err != nil {
			return err
		}
		dss = all
	}
	client, err := c.sess.Client(ctx)
	if err != nil {
		return err
	}
	om := vslmManager(client)
	for _, ds := range dss {
		ids, err := om.List(ctx, dsRef(ds.Ref))
		if err != nil {
			// One datastore (inaccessible, all paths down) must not stop the others: its
			// disks stay as last known, and lookups that miss say it could not be read.
			err = fmt.Errorf("vCenter %s: listing disks on datastore %s: %w", c.vc.Name, cmp.Or(ds.Name, ds.Ref), classify(err))
			if ctx.Err() != nil {
				return err
			}
			k.markUnreadable(c.vc.Name, ds.Ref, err)
			klog.FromContext(ctx).Info("Datastore skipped: its disks cannot be listed", "vcenter", c.vc.Name, "datastore", cmp.Or(ds.Name, ds.Ref), "err", err)
			continue
		}
		k.markUnreadable(c.vc.Name, ds.Ref, nil)
		present := map[string]bool{}
		var unknown []string
		k.mu.Lock()
		for _, id := range ids {
			present[id.Id] = true
			if _, ok := k.byID[id.Id]; !ok {
				unknown = append(unknown, id.Id)
			}
		}
		for id, d := range k.byID {
			if d.VCenter == c.vc.Name && d.DatastoreRef == ds.Ref && !present[id] {
				delete(k.byID, id)
			}
		}
		k.mu.Unlock()
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(8)
		for _, id := range unknown {
			g.Go(func() error {
				obj, err := om.Retrieve(gctx, dsRef(ds.Ref), id)
				if err != nil {
					if fault.Is(err, &types.NotFound{}) {
						return nil // deleted meanwhile
					}
					err = fmt.Errorf("vCenter %s: reading disk %s on datastore %s: %w", c.vc.Name, id, cmp.Or(ds.Name, ds.Ref), classify(err))
					k.markUnreadable(c.vc.Name, ds.Ref, err)
					return nil // this datastore only
				}
				name := ds.Name
				if name == "" {
					name = c.datastoreName(ds.Ref)
				}
				k.put(diskFrom(c.vc.Name, ds.Datacenter, name, *obj))
				return nil
			})
		}
		_ = g.Wait() // failures mark the datastore unreadable
	}
	klog.FromContext(ctx).V(2).Info("Disk catalog refreshed", "vcenter", c.vc.Name, "datastores", len(dss))
	return nil
}

// markUnreadable records whether a datastore's disks could be read (err nil: they could).
func (k *diskCatalog) markUnreadable(vcenter, ref string, err error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	key := vcenter + "/" + ref
	if err == nil {
		delete(k.unreadable, key)
		return
	}
	if k.unreadable == nil {
		k.unreadable = map[string]error{}
	}
	k.unreadable[key] = err
}

// unreadableErr says why a disk not in the catalog may still exist: a datastore whose
// disks could not be read (nil when every datastore was read).
func (k *diskCatalog) unreadableErr() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, err := range k.unreadable {
		return err
	}
	return nil
}

func (k *diskCatalog) put(d Disk) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.byID == nil {
		k.byID = map[string]Disk{}
	}
	k.byID[d.ID] = d
}

func (k *diskCatalog) remove(id string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	delete(k.byID, id)
}

func (k *diskCatalog) get(id string) (Disk, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	d, ok := k.byID[id]
	return d, ok
}

// byNameAny returns the disk with the name; two disks with one name are ambiguous.
func (k *diskCatalog) byNameAny(name string) (Disk, bool, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	var found []Disk
	for _, d := range k.byID {
		if d.Name == name {
			found = append(found, d)
		}
	}
	switch len(found) {
	case 0:
		return Disk{}, false, nil
	case 1:
		return found[0], true, nil
	}
	return Disk{}, false, fmt.Errorf("%w: %d disks are named %s (%s and %s)", ErrAmbiguous, len(found), name, found[0].ID, found[1].ID)
}

func (k *diskCatalog) byNameOn(name, ds string) (Disk, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, d := range k.byID {
		if d.Name == name && d.DatastoreRef == ds {
			return d, true
		}
	}
	return Disk{}, false
}

func (k *diskCatalog) all() []Disk {
	k.mu.Lock()
	defer k.mu.Unlock()
	out := make([]Disk, 0, len(k.byID))
	for _, d := range k.byID {
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// datastoreName is a datastore's name from the inventory, its ref when unknown.
func (c *vCenter) datastoreName(ref string) string {
	name := ref
	c.inventory.read(func(idx *inventoryIndex, _ CacheStatus) {
		if idx == nil {
			return
		}
		if n, ok := idx.names["Datastore:"+ref]; ok {
			name = n
		}
	})
	return name
}
