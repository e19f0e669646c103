package vsphere

import (
	"context"
	"time"

	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/types"
)

// updateStream is a property collector read with WaitForUpdatesEx, each call from the
// version the previous one returned. The inventory, event and disk watches each read one.
type updateStream struct {
	client  *vim25.Client
	pc      *property.Collector
	version string
}

// next is one long-poll of at most wait: the next batch of updates, nil when nothing
// changed meanwhile.
func (s *updateStream) next(ctx context.Context, wait, callTimeout time.Duration) (*types.UpdateSet, error) {
	set, err := waitForUpdates(ctx, s.client, s.pc.Reference(), s.version, wait, callTimeout)
	if err != nil {
		return nil, err
	}
	if set != nil {
		s.version = set.Version
	}
	return set, nil
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

// truncated reports whether vCenter cut the batch short: more of it follows.
func truncated(set *types.UpdateSet) bool {
	return set != nil && set.Truncated != nil && *set.Truncated
}
