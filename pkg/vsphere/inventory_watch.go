package vsphere

import (
	"context"
	"fmt"
	"time"

	"github.com/vmware/govmomi/vim25/mo"
	"k8s.io/klog/v2"
)

// The inventory watch keeps one vCenter's inventory current with WaitForUpdatesEx. Each
// round reads the complete inventory into a new index, publishes it, then applies every
// later batch to it, until the resync period is over; a new round then starts from
// scratch, so that nothing missed survives a resync.

// run watches until ctx ends, retrying with backoff after errors.
func (inv *inventory) run(ctx context.Context) {
	log := klog.FromContext(ctx).WithValues("vcenter", inv.vc.Name)
	retryForever(klog.NewContext(ctx, log), "Inventory watch failed; retrying", func(ctx context.Context) error {
		err := inv.watch(ctx)
		if err != nil {
			inv.failed(err)
		}
		return err
	})
}

// watch is one round: it returns nil when the resync period is over or ctx ended, and the
// error when a call failed.
func (inv *inventory) watch(ctx context.Context) error {
	client, err := inv.sess.Client(ctx)
	if err != nil {
		return err
	}
	feed, err := openInventoryFeed(ctx, client, inv.vc)
	if err != nil {
		return err
	}
	defer feed.close(context.WithoutCancel(ctx))
	idx, err := inv.newIndex(ctx, feed.datacenters)
	if err != nil {
		return err
	}
	resyncAt := inv.now().Add(inv.cfg.ResyncPeriod)
	now, err := inv.readAll(ctx, feed, idx, resyncAt)
	if err == nil {
		err = inv.follow(ctx, feed, now, resyncAt)
	}
	if ctx.Err() != nil {
		return nil // ended by shutdown, not by vCenter
	}
	return err
}

// newIndex is an empty index for a read of the datacenters dcs, with the zone and region
// tags as they are now.
func (inv *inventory) newIndex(ctx context.Context, dcs []mo.Datacenter) (*inventoryIndex, error) {
	tags, missing, err := inv.tags.read(ctx)
	if err != nil {
		return nil, err
	}
	if len(missing) > 0 {
		klog.FromContext(ctx).Info("Tag categories named in labels do not exist; nodes get no zone/region from them", "categories", missing)
	}
	idx := newInventoryIndex()
	idx.left, idx.back = inv.gone.add, inv.gone.seen
	for _, dc := range dcs {
		idx.dcRefs[dc.Name] = dc.Self.Value
	}
	idx.zones, idx.regions = tags.zones, tags.regions
	return idx, nil
}

// readAll applies batches to idx until one is not truncated, then publishes idx and tells
// the change listener that everything changed. idx is the watch's own until then: it is
// filled without a lock. It returns when the last batch was applied.
func (inv *inventory) readAll(ctx context.Context, feed *inventoryFeed, idx *inventoryIndex, resyncAt time.Time) (time.Time, error) {
	for {
		set, err := feed.next(ctx, inv.waitUntil(resyncAt), inv.cfg.CallTimeout)
		if err != nil {
			return time.Time{}, waitingErr(err)
		}
		ch := feed.apply(idx, set)
		now := inv.now()
		if truncated(set) {
			inv.contact(now) // more of the complete read follows
			continue
		}
		vms, hosts := inv.publish(idx, now)
		klog.FromContext(ctx).V(1).Info("Inventory synced", "vms", vms, "hosts", hosts)
		ch.All = true
		if notify := inv.changes.get(); notify != nil {
			notify(ch)
		}
		return now, nil
	}
}

// follow applies batches to the published index until resyncAt; now is when the last
// batch was applied.
func (inv *inventory) follow(ctx context.Context, feed *inventoryFeed, now, resyncAt time.Time) error {
	for now.Before(resyncAt) {
		set, err := feed.next(ctx, inv.waitUntil(resyncAt), inv.cfg.CallTimeout)
		if err != nil {
			return waitingErr(err)
		}
		var ch Change
		ch, now = inv.applyBatch(feed, set)
		if notify := inv.changes.get(); notify != nil && ch.any() {
			notify(ch)
		}
	}
	return nil
}

// waitUntil is how long the next long-poll may wait: maxWait, or less so as to end near
// resyncAt, but at least a second.
func (inv *inventory) waitUntil(resyncAt time.Time) time.Duration {
	wait := inv.cfg.MaxWait
	if left := time.Until(resyncAt); left < wait {
		wait = max(left, time.Second)
	}
	return wait
}

// waitingErr wraps an error of the long-poll.
func waitingErr(err error) error {
	return fmt.Errorf("waiting for inventory updates: %w", err)
}
