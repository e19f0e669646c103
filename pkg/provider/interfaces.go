package provider

import (
	"context"

	"github.com/vsphere-cloud/provider/pkg/vsphere"
)

// Inventory finds node VMs. vsphere.Manager implements it.
type Inventory interface {
	// FindNodeVM returns the VM of a node from the cache, without calling vCenter.
	// It returns an error wrapping vsphere.ErrNotFound only when every vCenter's cache
	// is synced and fresh and none holds a match; vsphere.ErrUnavailable when a match
	// may exist in a cache that cannot prove absence; vsphere.ErrAmbiguous when several
	// VMs match.
	FindNodeVM(ctx context.Context, q vsphere.NodeQuery) (vsphere.VM, error)
	// WaitSynced waits until every vCenter's inventory has been read once, or ctx ends.
	WaitSynced(ctx context.Context) error
	// VMsByIP lists the VMs that report ip on a NIC, from the cache: the VIP allocator
	// refuses an address a VM already uses. It fails while an inventory was never read.
	VMsByIP(ip string) ([]vsphere.VM, error)
}
