package vsphere

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/view"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/types"
	"k8s.io/klog/v2"

	"github.com/vsphere-cloud/provider/pkg/vsphere/config"
)

// diskWatch follows the virtual disks of the node VMs the CSI controller works with (see
// TrackDisks). The inventory watch does not read config.hardware.device: reading it for
// every VM made the whole inventory much slower to read, and only node VMs ever receive
// our disks. One ListView per vCenter holds the tracked VMs; tracking more VMs extends it
// in place (ModifyListView).
type diskWatch struct {
	vcenter string
	sess    *Session
	cfg     config.InventoryConfig

	mu          sync.Mutex
	want        map[string]bool
	disks       map[string][]diskRec // VM ref -> disks, for VMs the watch has reported
	synced      bool
	lastErr     error
	lastContact time.Time
	wake        chan struct{}
}

// newDiskWatch returns a watch of no VMs yet; run starts it.
func newDiskWatch(vcenter string, sess *Session, cfg config.InventoryConfig) *diskWatch {
	return &diskWatch{vcenter: vcenter, sess: sess, cfg: cfg, want: map[string]bool{}, disks: map[string][]diskRec{}, wake: make(chan struct{}, 1)}
}

// track adds VMs to the watch.
func (d *diskWatch) track(refs ...string) {
	d.mu.Lock()
	added := false
	for _, r := range refs {
		if r != "" && !d.want[r] {
			d.want[r] = true
			added = true
		}
	}
	d.mu.Unlock()
	if added {
		select {
		case d.wake <- struct{}{}:
		default:
		}
	}
}

// run watches until ctx ends, retrying with backoff after errors.
func (d *diskWatch) run(ctx context.Context) {
	log := klog.FromContext(ctx).WithValues("vcenter", d.vcenter, "watch", "node VM disks")
	retryForever(klog.NewContext(ctx, log), "Disk watch failed; retrying", func(ctx context.Context) error {
		err := d.watch(ctx)
		d.mu.Lock()
		d.lastErr, d.synced = err, d.synced && err == nil
		d.mu.Unlock()
		return err
	})
}

// watch is one round: it waits until a VM is tracked, then follows the tracked VMs' disks
// until the resync period is over (returns nil) or a call fails (returns the error).
func (d *diskWatch) watch(ctx context.Context) error {
	if !d.waitForWork(ctx) {
		return nil
	}
	client, err := d.sess.Client(ctx)
	if err != nil {
		return err
	}
	feed, err := openDiskFeed(ctx, client)
	if err != nil {
		return err
	}
	defer feed.close(context.WithoutCancel(ctx))
	in := map[string]bool{}
	fresh := map[string][]diskRec{}
	resyncAt := time.Now().Add(d.cfg.ResyncPeriod)
	for time.Now().Before(resyncAt) {
		add := d.untracked(in)
		if len(add) > 0 {
			if _, err := feed.lv.Add(ctx, add); err != nil {
				return fmt.Errorf("adding node VMs to the disk watch: %w", classify(err))
			}
		}
		wait := d.cfg.MaxWait
		if len(add) > 0 || feed.version == "" {
			wait = time.Second // pick the additions up at once
		}
		set, err := feed.next(ctx, wait, d.cfg.CallTimeout)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("waiting for disk updates: %w", err)
		}
		applyDiskUpdates(fresh, set)
		// The call was made after the additions, so its answer covers them.
		d.publish(fresh, truncated(set))
	}
	return nil
}

// waitForWork returns at once when some VM is tracked, else when one is or ctx ends
// (false).
func (d *diskWatch) waitForWork(ctx context.Context) bool {
	d.mu.Lock()
	idle := len(d.want) == 0
	d.mu.Unlock()
	if !idle {
		return true
	}
	select {
	case <-ctx.Done():
		return false
	case <-d.wake:
		return true
	}
}

// untracked returns the wanted VMs not in the list view yet, and adds them to in.
func (d *diskWatch) untracked(in map[string]bool) []types.ManagedObjectReference {
	d.mu.Lock()
	defer d.mu.Unlock()
	var add []types.ManagedObjectReference
	for r := range d.want {
		if !in[r] {
			add = append(add, types.ManagedObjectReference{Type: "VirtualMachine", Value: r})
			in[r] = true
		}
	}
	return add
}

// publish makes a copy of fresh, as vCenter has just answered, the disks the watch vouches
// for; truncated says that more of the answer follows.
func (d *diskWatch) publish(fresh map[string][]diskRec, truncated bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.disks = make(map[string][]diskRec, len(fresh))
	for k, v := range fresh {
		d.disks[k] = append([]diskRec(nil), v...)
	}
	d.synced = d.synced || !truncated
	d.lastContact, d.lastErr = time.Now(), nil
}

// applyDiskUpdates merges a batch of device updates into disks (VM ref -> disks).
func applyDiskUpdates(disks map[string][]diskRec, set *types.UpdateSet) {
	if set == nil {
		return
	}
	for _, fs := range set.FilterSet {
		for _, u := range fs.ObjectSet {
			if u.Kind == types.ObjectUpdateKindLeave {
				delete(disks, u.Obj.Value)
				continue
			}
			r := &vmRec{disks: disks[u.Obj.Value]}
			for _, c := range u.ChangeSet {
				r.set(c)
			}
			disks[u.Obj.Value] = r.disks
		}
	}
}

// holding returns the refs of the watched VMs that have disk x (by FCD ID or file).
func (d *diskWatch) holding(x Disk) []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	var refs []string
	for ref, disks := range d.disks {
		if slices.ContainsFunc(disks, func(r diskRec) bool { return (r.fcd != "" && r.fcd == x.ID) || (x.File != "" && r.file == x.File) }) {
			refs = append(refs, ref)
		}
	}
	return refs
}

// status is nil when the watch can vouch for every tracked VM.
func (d *diskWatch) status() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	switch {
	case len(d.want) == 0:
		return nil
	case d.lastErr != nil:
		return fmt.Errorf("%w: disk watch of vCenter %s: %w", ErrUnavailable, d.vcenter, d.lastErr)
	case !d.synced:
		return fmt.Errorf("%w: disk watch of vCenter %s not synced yet", ErrUnavailable, d.vcenter)
	case time.Since(d.lastContact) > d.cfg.Freshness:
		return fmt.Errorf("%w: disk watch of vCenter %s last answered %s ago", ErrUnavailable, d.vcenter, time.Since(d.lastContact).Round(time.Second))
	}
	return nil
}

// diskFeed is a property collector of the devices of the VMs in a list view.
type diskFeed struct {
	updateStream
	lv *view.ListView
}

// openDiskFeed creates an empty list view and a collector over it. On error, nothing it
// created is left behind.
func openDiskFeed(ctx context.Context, client *vim25.Client) (*diskFeed, error) {
	bg := context.WithoutCancel(ctx)
	pc, err := property.DefaultCollector(client).Create(ctx)
	if err != nil {
		return nil, fmt.Errorf("creating property collector: %w", classify(err))
	}
	lv, err := view.NewManager(client).CreateListView(ctx, nil)
	if err != nil {
		_ = pc.Destroy(bg)
		return nil, fmt.Errorf("creating list view: %w", classify(err))
	}
	f := &diskFeed{updateStream: updateStream{client: client, pc: pc}, lv: lv}
	ts := &types.TraversalSpec{Type: "ListView", Path: "view", Skip: types.NewBool(false)}
	spec := types.PropertyFilterSpec{
		ObjectSet: []types.ObjectSpec{{Obj: lv.Reference(), Skip: types.NewBool(true), SelectSet: []types.BaseSelectionSpec{ts}}},
		PropSet:   []types.PropertySpec{{Type: "VirtualMachine", PathSet: []string{"config.hardware.device"}}},
	}
	if _, err := pc.CreateFilter(ctx, types.CreateFilter{Spec: spec}); err != nil {
		f.close(bg)
		return nil, fmt.Errorf("creating disk filter: %w", classify(err))
	}
	return f, nil
}

// close destroys the list view, then the collector.
func (f *diskFeed) close(ctx context.Context) {
	_ = f.lv.Destroy(ctx)
	_ = f.pc.Destroy(ctx)
}
