package vsphere

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/view"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
	"k8s.io/klog/v2"

	"github.com/vsphere-cloud/provider/pkg/vsphere/config"
)

// cache is one vCenter's inventory, kept current by a WaitForUpdatesEx loop and rebuilt
// from scratch every resync period.
type cache struct {
	vc   config.VCenterConfig
	sess *Session
	inv  config.InventoryConfig
	zone string
	reg  string
	now  func() time.Time
	// cns is the session's Cloud Native Storage client.
	cns cnsClients
	// deviceScans coalesces DiskUsers' reads of VM devices.
	deviceScans deviceScans

	mu          sync.RWMutex
	snap        *snapshot
	lastContact time.Time
	lastResync  time.Time
	lastErr     error
	onChange    func(Change)
	// entering marks hosts (by ref) entering maintenance mode: set by
	// EnteringMaintenanceModeEvent or a running enter task, cleared by the Entered or
	// Exit event and by reconcileEntering (see maintenance.go).
	entering map[string]bool
	// markKey is the key of the NodeMarkField custom attribute once markKnown (keys can
	// be 0); marked the marks this process set, by VM ref.
	markKey   int32
	markKnown bool
	marked    map[string]string
	// disks follows the devices of node VMs.
	disks *diskWatch
	// gone remembers VMs that left the inventory, to prove their absence (absence.go).
	gone *departures
	// synced is closed once the first complete inventory has been read.
	synced     chan struct{}
	syncedOnce sync.Once
}

func newCache(vc config.VCenterConfig, sess *Session, cfg *config.Config) *cache {
	c := &cache{vc: vc, sess: sess, inv: cfg.Inventory, zone: cfg.ZoneCategory, reg: cfg.RegionCategory, now: time.Now, synced: make(chan struct{}), gone: newDepartures()}
	c.disks = newDiskWatch(c)
	return c
}

// run watches until ctx ends, retrying with backoff after errors.
func (c *cache) run(ctx context.Context) {
	log := klog.FromContext(ctx).WithValues("vcenter", c.vc.Name)
	retryForever(klog.NewContext(ctx, log), "Inventory watch failed; retrying", func(ctx context.Context) error {
		err := c.watch(ctx)
		if err != nil {
			c.mu.Lock()
			c.lastErr = err
			c.mu.Unlock()
		}
		return err
	})
}

// retryForever runs f until ctx ends: again at once after it returns nil, after a backoff
// (1s doubling to 10s, reset after a minute of success) after an error, which it logs.
func retryForever(ctx context.Context, msg string, f func(context.Context) error) {
	log := klog.FromContext(ctx)
	backoff := time.Second
	for ctx.Err() == nil {
		started := time.Now()
		err := f(ctx)
		if ctx.Err() != nil {
			return
		}
		if err == nil || time.Since(started) > time.Minute {
			backoff = time.Second
		}
		if err == nil {
			continue
		}
		log.Error(err, msg, "retryIn", backoff)
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 10*time.Second)
	}
}

// watch builds a complete inventory, then applies updates until the resync period is
// over (returns nil) or a call fails (returns the error).
func (c *cache) watch(ctx context.Context) error {
	log := klog.FromContext(ctx)
	client, err := c.sess.Client(ctx)
	if err != nil {
		return err
	}
	dcs, err := c.datacenters(ctx, client)
	if err != nil {
		return err
	}
	bg := context.WithoutCancel(ctx)
	pc, err := property.DefaultCollector(client).Create(ctx)
	if err != nil {
		return fmt.Errorf("creating property collector: %w", classify(err))
	}
	defer func() { _ = pc.Destroy(bg) }()
	filterDC := map[string]string{}
	snap := newSnapshot()
	snap.left, snap.back = c.gone.add, c.gone.seen
	for _, dc := range dcs {
		snap.dcRefs[dc.Name] = dc.Self.Value
		v, err := view.NewManager(client).CreateContainerView(ctx, dc.Self, append([]string{"VirtualMachine", "HostSystem"}, namedTypes...), true)
		if err != nil {
			return fmt.Errorf("creating view of datacenter %s: %w", dc.Name, classify(err))
		}
		defer func() { _ = v.Destroy(bg) }()
		f, err := pc.CreateFilter(ctx, types.CreateFilter{Spec: filterSpec(v.Reference())})
		if err != nil {
			return fmt.Errorf("creating property filter for datacenter %s: %w", dc.Name, classify(err))
		}
		filterDC[f.Reference().Value] = dc.Name
	}
	tagIdx, missing, err := readTags(ctx, c.sess, c.zone, c.reg)
	if err != nil {
		return err
	}
	if len(missing) > 0 {
		log.Info("Tag categories named in labels do not exist; nodes get no zone/region from them", "categories", missing)
	}
	snap.zones, snap.regions = tagIdx.zones, tagIdx.regions

	resyncAt := c.now().Add(c.inv.ResyncPeriod)
	version := ""
	live := false
	for {
		wait := c.inv.MaxWait
		if left := time.Until(resyncAt); left < wait {
			wait = max(left, time.Second)
		}
		set, err := waitForUpdates(ctx, client, pc.Reference(), version, wait, c.inv.CallTimeout)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("waiting for inventory updates: %w", err)
		}
		truncated := false
		changed := false
		ch := Change{VCenter: c.vc.Name}
		if set != nil {
			version = set.Version
			truncated = set.Truncated != nil && *set.Truncated
			if live {
				c.mu.Lock()
			}
			for _, fs := range set.FilterSet {
				dc := filterDC[fs.Filter.Value]
				for _, u := range fs.ObjectSet {
					snap.apply(dc, u)
					changed = true
					switch u.Obj.Type {
					case "VirtualMachine":
						ch.VMs = append(ch.VMs, u.Obj.Value)
					case "HostSystem":
						ch.Hosts = append(ch.Hosts, u.Obj.Value)
					default: // a renamed cluster, pool, folder or datastore can concern any VM
						ch.All = true
					}
				}
			}
			if live {
				c.mu.Unlock()
			}
		}
		now := c.now()
		c.mu.Lock()
		c.lastContact = now
		if !live && !truncated {
			if c.snap != nil {
				// VMs the new inventory lacks left without a leave update being seen.
				for ref, r := range c.snap.vms {
					if snap.vms[ref] == nil {
						c.gone.add(r.uuid, ref)
					}
				}
			}
			c.snap = snap
			c.lastResync = now
			live = true
			changed = true
			ch.All = true
			c.lastErr = nil
			log.V(2).Info("Inventory synced", "vms", len(snap.vms), "hosts", len(snap.hosts))
			inventoryResyncs.WithLabelValues(c.vc.Name).Inc()
		}
		notify := c.onChange
		if live {
			c.syncedOnce.Do(func() { close(c.synced) })
			inventoryObjects.WithLabelValues(c.vc.Name, "VirtualMachine").Set(float64(len(snap.vms)))
			inventoryObjects.WithLabelValues(c.vc.Name, "HostSystem").Set(float64(len(snap.hosts)))
		}
		c.mu.Unlock()
		inventoryLastContact.WithLabelValues(c.vc.Name).Set(float64(now.Unix()))
		if changed && live && notify != nil {
			notify(ch)
		}
		if live && !now.Before(resyncAt) {
			return nil
		}
	}
}

// waitForUpdates is one WaitForUpdatesEx long-poll of at most wait (whole seconds) on the
// property collector pc, bounded by wait plus callTimeout; nil when nothing changed.
func waitForUpdates(ctx context.Context, client *vim25.Client, pc types.ManagedObjectReference, version string, wait, callTimeout time.Duration) (*types.UpdateSet, error) {
	secs := int32(wait / time.Second)
	callCtx, cancel := context.WithTimeout(ctx, wait+callTimeout)
	defer cancel()
	res, err := methods.WaitForUpdatesEx(callCtx, client, &types.WaitForUpdatesEx{
		This: pc, Version: version, Options: &types.WaitOptions{MaxWaitSeconds: &secs},
	})
	if err != nil {
		return nil, classify(err)
	}
	return res.Returnval, nil
}

func filterSpec(viewRef types.ManagedObjectReference) types.PropertyFilterSpec {
	ts := &types.TraversalSpec{Type: "ContainerView", Path: "view", Skip: types.NewBool(false)}
	props := []types.PropertySpec{{Type: "VirtualMachine", PathSet: vmProps}, {Type: "HostSystem", PathSet: hostProps}}
	for _, t := range namedTypes {
		props = append(props, types.PropertySpec{Type: t, PathSet: nameProps})
	}
	return types.PropertyFilterSpec{
		ObjectSet: []types.ObjectSpec{{Obj: viewRef, Skip: types.NewBool(true), SelectSet: []types.BaseSelectionSpec{ts}}},
		PropSet:   props,
	}
}

// datacenters resolves the configured datacenters (all when none are configured).
func (c *cache) datacenters(ctx context.Context, client *vim25.Client) ([]mo.Datacenter, error) {
	v, err := view.NewManager(client).CreateContainerView(ctx, client.ServiceContent.RootFolder, []string{"Datacenter"}, true)
	if err != nil {
		return nil, fmt.Errorf("listing datacenters: %w", classify(err))
	}
	defer func() { _ = v.Destroy(context.WithoutCancel(ctx)) }()
	var all []mo.Datacenter
	if err := v.Retrieve(ctx, []string{"Datacenter"}, []string{"name"}, &all); err != nil {
		return nil, fmt.Errorf("listing datacenters: %w", classify(err))
	}
	if len(c.vc.Datacenters) == 0 {
		return all, nil
	}
	var out []mo.Datacenter
	var missing []string
	for _, want := range c.vc.Datacenters {
		found := false
		for _, dc := range all {
			if dc.Name == want {
				out = append(out, dc)
				found = true
			}
		}
		if !found {
			missing = append(missing, want)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%w: vcenter.%s.datacenters: %v not found in vCenter %s", ErrNotFound, c.vc.Name, missing, c.vc.Server)
	}
	return out, nil
}

// status reports whether the cache can be trusted.
func (c *cache) status() CacheStatus {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.statusLocked()
}

func (c *cache) statusLocked() CacheStatus {
	st := CacheStatus{VCenter: c.vc.Name, Synced: c.snap != nil, LastContact: c.lastContact, LastResync: c.lastResync, LastError: c.lastErr}
	// A broken watch misses changes, so the cache is not fresh until a new complete
	// inventory has been read, however recent the last contact was.
	st.Fresh = st.Synced && c.lastErr == nil && c.now().Sub(c.lastContact) <= c.inv.Freshness
	return st
}

// errStale explains why a cache cannot prove absence.
func (st CacheStatus) errStale() error {
	switch {
	// LastError is quoted with %v: it may wrap ErrNotFound (a configured datacenter that
	// vCenter does not show), which must not read as proof that a VM is gone.
	case !st.Synced && st.LastError != nil:
		return fmt.Errorf("%w: vCenter %s inventory not synced yet: %v", ErrUnavailable, st.VCenter, st.LastError)
	case !st.Synced:
		return fmt.Errorf("%w: vCenter %s inventory not synced yet", ErrUnavailable, st.VCenter)
	case st.LastError != nil:
		return fmt.Errorf("%w: vCenter %s last answered %s ago: %v", ErrUnavailable, st.VCenter, time.Since(st.LastContact).Round(time.Second), st.LastError)
	default:
		return fmt.Errorf("%w: vCenter %s last answered %s ago", ErrUnavailable, st.VCenter, time.Since(st.LastContact).Round(time.Second))
	}
}
