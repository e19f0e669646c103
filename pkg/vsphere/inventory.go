package vsphere

import (
	"fmt"
	"sync"
	"time"

	"github.com/vmware/govmomi/vim25/types"

	"github.com/vsphere-cloud/provider/pkg/vsphere/config"
)

// inventory is one vCenter's inventory cache: the index its watch last read completely
// (inventory_watch.go), kept current by every later batch of updates, and whether that
// index can be trusted.
//
// The fields under mu are shared: they are read and written under mu only, and no method
// holds mu across a call to vCenter. Readers use read (or status, unidentified); the
// volume code in datastores.go, disk_catalog.go, disk_consumers.go and disk_users.go still
// takes mu.RLock itself around its reads of index. The watch reads a complete inventory
// into a new index that nothing else sees, then hands it over with publish; later batches
// change the published index through applyBatch.
type inventory struct {
	vc   config.VCenterConfig
	cfg  config.InventoryConfig
	now  func() time.Time
	sess *Session
	// tags reads the zone and region tags once per resync.
	tags *tagReader
	// gone is told of VMs that leave the inventory and of VMs that come back (absence.go).
	gone *departures
	// changes is told of every batch of changes to the published index.
	changes *changeListener
	// synced is closed once the first complete inventory has been published.
	synced     chan struct{}
	syncedOnce sync.Once

	mu sync.RWMutex
	// index is nil until the first complete read.
	index       *inventoryIndex
	lastContact time.Time
	lastResync  time.Time
	lastErr     error
}

// newInventory returns an inventory not read yet; run starts its watch.
func newInventory(vc config.VCenterConfig, cfg config.InventoryConfig, sess *Session, tags *tagReader, gone *departures, changes *changeListener) *inventory {
	return &inventory{vc: vc, cfg: cfg, now: time.Now, sess: sess, tags: tags, gone: gone, changes: changes, synced: make(chan struct{})}
}

// read calls f under the read lock with the published index (nil before the first
// complete read) and the status. f must not call vCenter, take another part's lock, or
// keep the index.
func (inv *inventory) read(f func(idx *inventoryIndex, st CacheStatus)) {
	inv.mu.RLock()
	defer inv.mu.RUnlock()
	f(inv.index, inv.statusLocked())
}

// status reports whether the cache can be trusted.
func (inv *inventory) status() CacheStatus {
	inv.mu.RLock()
	defer inv.mu.RUnlock()
	return inv.statusLocked()
}

// statusLocked is status for a caller that holds mu.
func (inv *inventory) statusLocked() CacheStatus {
	st := CacheStatus{VCenter: inv.vc.Name, Synced: inv.index != nil, LastContact: inv.lastContact, LastResync: inv.lastResync, LastError: inv.lastErr}
	// A broken watch misses changes, so the cache is not fresh until a new complete
	// inventory has been read, however recent the last contact was.
	st.Fresh = st.Synced && inv.lastErr == nil && inv.now().Sub(inv.lastContact) <= inv.cfg.Freshness
	return st
}

// unidentified counts the VMs whose BIOS UUID was never readable, and names one of them.
func (inv *inventory) unidentified() (n int, example string) {
	inv.mu.RLock()
	defer inv.mu.RUnlock()
	if inv.index == nil {
		return 0, ""
	}
	for ref := range inv.index.unidentified {
		example = ref
		break
	}
	return len(inv.index.unidentified), example
}

// failed records the error that ended a watch round: the cache is not fresh again until a
// complete inventory has been read.
func (inv *inventory) failed(err error) {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	inv.lastErr = err
}

// contact records that vCenter answered the watch at now, with part of a complete read.
func (inv *inventory) contact(now time.Time) {
	inv.mu.Lock()
	inv.lastContact = now
	inv.mu.Unlock()
	inventoryLastContact.WithLabelValues(inv.vc.Name).Set(float64(now.Unix()))
}

// publish makes idx, a complete read that ended at now, the index. VMs the old index has
// and idx lacks left without a leave update being seen: gone hears of them. It returns
// the number of VMs and hosts in idx.
func (inv *inventory) publish(idx *inventoryIndex, now time.Time) (vms, hosts int) {
	inv.mu.Lock()
	if old := inv.index; old != nil {
		for ref, r := range old.vms {
			if idx.vms[ref] == nil {
				inv.gone.add(r.uuid, ref)
			}
		}
	}
	inv.index = idx
	inv.lastContact, inv.lastResync, inv.lastErr = now, now, nil
	vms, hosts = len(idx.vms), len(idx.hosts)
	inv.mu.Unlock()
	inv.syncedOnce.Do(func() { close(inv.synced) })
	inventoryResyncs.WithLabelValues(inv.vc.Name).Inc()
	inv.observe(now, vms, hosts)
	return vms, hosts
}

// applyBatch applies a batch of updates from feed to the published index and records
// the contact. It returns what the batch touched and when it was applied.
func (inv *inventory) applyBatch(feed *inventoryFeed, set *types.UpdateSet) (Change, time.Time) {
	inv.mu.Lock()
	ch := feed.apply(inv.index, set)
	now := inv.now()
	inv.lastContact = now
	vms, hosts := len(inv.index.vms), len(inv.index.hosts)
	inv.mu.Unlock()
	inv.observe(now, vms, hosts)
	return ch, now
}

// observe updates the inventory metrics after contact at now with a published index.
func (inv *inventory) observe(now time.Time, vms, hosts int) {
	inventoryObjects.WithLabelValues(inv.vc.Name, "VirtualMachine").Set(float64(vms))
	inventoryObjects.WithLabelValues(inv.vc.Name, "HostSystem").Set(float64(hosts))
	inventoryLastContact.WithLabelValues(inv.vc.Name).Set(float64(now.Unix()))
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
