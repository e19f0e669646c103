package provider

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	cloudprovider "k8s.io/cloud-provider"
	"k8s.io/klog/v2"

	"github.com/vsphere-cloud/provider/pkg/loadbalancer"
	"github.com/vsphere-cloud/provider/pkg/providerid"
	"github.com/vsphere-cloud/provider/pkg/vsphere"
)

var _ cloudprovider.InstancesV2 = (*instances)(nil)

// initialSyncWait bounds how long a lookup waits for the first inventory read.
const initialSyncWait = 20 * time.Second

type instances struct {
	cloud *Cloud
}

// InstanceExists is false only when every vCenter's cache proves the VM is gone; any
// doubt is an error, and the node controller then keeps the Node.
func (i *instances) InstanceExists(ctx context.Context, node *corev1.Node) (bool, error) {
	_, err := i.find(ctx, node, false)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, vsphere.ErrNotFound) && node.Spec.ProviderID == "":
		// Never matched to a VM (not initialized yet, or not a vSphere VM at all): there
		// is no VM to be gone, so nothing proves the Node should go.
		return false, fmt.Errorf("node %s has no providerID and matches no VM; it is kept: %w", node.Name, err)
	case errors.Is(err, vsphere.ErrNotFound):
		klog.FromContext(ctx).Info("Node's VM is gone from every vCenter", "node", klog.KObj(node))
		return false, nil
	default:
		return false, err
	}
}

// InstanceShutdown is true when the VM is powered off or suspended, according to a
// fresh cache; a stale cache is an error rather than an old answer.
func (i *instances) InstanceShutdown(ctx context.Context, node *corev1.Node) (bool, error) {
	vm, err := i.find(ctx, node, false)
	switch {
	case err == nil && !vm.Fresh:
		err = fmt.Errorf("node %s: power state unknown: %w", node.Name, vm.Stale)
	case err == nil && (vm.ConfigUnreadable || (vm.ConnectionState != "" && vm.ConnectionState != "connected")):
		// vCenter keeps the last power state of a VM it cannot reach; it proves nothing.
		err = fmt.Errorf("node %s: power state unknown: VM %s is %s in vCenter %s", node.Name, vm.Ref, vm.ConnectionState, vm.VCenter)
	}
	switch {
	case err == nil:
		return vm.PowerState == vsphere.PoweredOff || vm.PowerState == vsphere.Suspended, nil
	case errors.Is(err, vsphere.ErrNotFound):
		return false, nil
	default:
		return false, err
	}
}

// InstanceMetadata returns providerID, instance type, addresses, zone and region from a
// fresh cache (a stale one is an error: nodes are not initialized, nor their addresses
// changed, from data that may be out of date). A VM whose guest reports no hostname or
// no NICs still initializes.
func (i *instances) InstanceMetadata(ctx context.Context, node *corev1.Node) (*cloudprovider.InstanceMetadata, error) {
	vm, err := i.find(ctx, node, true)
	if err == nil && !vm.Fresh {
		return nil, fmt.Errorf("node %s: %w", node.Name, vm.Stale)
	}
	if err != nil {
		if errors.Is(err, vsphere.ErrNotFound) {
			return nil, fmt.Errorf("%w: %w", cloudprovider.InstanceNotFound, err)
		}
		return nil, err
	}
	families := []string{"ipv4"}
	for _, vc := range i.cloud.cfg.VCenters {
		if vc.Name == vm.VCenter {
			families = vc.IPFamilies
		}
	}
	if i.cloud.lb != nil {
		// A VIP on a node's NIC is reported by VMware Tools; it must never become the
		// Node's address.
		isVIP, err := i.cloud.lb.VIPFilter(ctx)
		if err != nil {
			// Node initialization must not depend on VIP allocation; the addresses are
			// filtered again at the next update once it runs.
			klog.FromContext(ctx).Error(err, "Node addresses not filtered for VIPs", "node", klog.KObj(node))
		}
		nics := slices.Clone(vm.NICs)
		for k := range nics {
			nics[k].IPs = loadbalancer.DropVIPs(nics[k].IPs, isVIP)
		}
		vm.NICs = nics
	}
	// The control-plane endpoint is on the holder's NIC too (vsphere-node control-plane).
	// Unlike the VIPs, not knowing it fails the call (retried): an endpoint address moves
	// between nodes, and must never become one's InternalIP.
	isEndpoint, err := i.cloud.endpoints.isEndpoint(ctx)
	if err != nil {
		return nil, fmt.Errorf("node %s: %w", node.Name, err)
	}
	nics := slices.Clone(vm.NICs)
	for k := range nics {
		nics[k].IPs = loadbalancer.DropVIPs(nics[k].IPs, isEndpoint)
	}
	vm.NICs = nics
	if err := checkTopology(vm, i.cloud.cfg); err != nil {
		return nil, fmt.Errorf("node %s: %w", node.Name, err)
	}
	md := &cloudprovider.InstanceMetadata{
		ProviderID:    providerid.Format(vm.UUID),
		InstanceType:  InstanceType(vm),
		NodeAddresses: NodeAddresses(vm, node.Name, families, i.cloud.cfg.Nodes),
		Zone:          vm.Zone,
		Region:        vm.Region,
	}
	klog.FromContext(ctx).V(2).Info("Node metadata from the inventory", "node", klog.KObj(node),
		"vcenter", vm.VCenter, "datacenter", vm.Datacenter, "vm", vm.Ref, "nics", len(vm.NICs), "addresses", md.NodeAddresses)
	return md, nil
}

// find looks the node's VM up. With waitSync, a lookup that fails because an inventory
// is not read yet waits for it (up to initialSyncWait) and tries once more; only
// initialization asks for that, so the lifecycle controller's periodic checks of
// NotReady Nodes never queue behind an unreachable vCenter.
func (i *instances) find(ctx context.Context, node *corev1.Node, waitSync bool) (vsphere.VM, error) {
	if i.cloud.inventory == nil {
		return vsphere.VM{}, fmt.Errorf("%w: inventory not started", vsphere.ErrUnavailable)
	}
	q, ours := vsphere.QueryForNode(node)
	if !ours {
		// Not ours: never report it as gone.
		return vsphere.VM{}, fmt.Errorf("node %s: providerID %q does not start with %s", node.Name, node.Spec.ProviderID, providerid.Prefix)
	}
	vm, err := i.cloud.inventory.FindNodeVM(ctx, q)
	if waitSync && errors.Is(err, vsphere.ErrUnavailable) {
		// Right after a start the inventory may not have been read yet: wait for it
		// briefly rather than fail, since the node controller retries failures at a
		// back-off shared by every Node (10 per second): Nodes that register while
		// cloud-controller starts would otherwise wait minutes (README, Performance).
		wctx, cancel := context.WithTimeout(ctx, initialSyncWait)
		synced := i.cloud.inventory.WaitSynced(wctx) == nil
		cancel()
		if synced {
			vm, err = i.cloud.inventory.FindNodeVM(ctx, q)
		}
	}
	if err != nil {
		return vm, fmt.Errorf("node %s: %w", node.Name, err)
	}
	return vm, nil
}

// InstanceType is the upstream provider's form, vsphere-vm.cpu-4.mem-16gb.os-<guest>.
func InstanceType(vm vsphere.VM) string {
	os := strings.ToLower(strings.TrimSuffix(vm.GuestID, "Guest"))
	if os == "" {
		os = "unknown"
	}
	return fmt.Sprintf("vsphere-vm.cpu-%d.mem-%dgb.os-%s", vm.NumCPU, vm.MemoryMB/1024, os)
}
