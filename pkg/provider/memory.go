package provider

import (
	"context"
	"strings"

	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"

	"github.com/vsphere-cloud/provider/api/v1alpha1"
	"github.com/vsphere-cloud/provider/pkg/kubeclient"
	"github.com/vsphere-cloud/provider/pkg/vsphere"
)

// Memory answers, from the NodeVM objects the placement controller writes, which VMs the cluster
// recorded with a BIOS UUID. vsphere.Manager uses it (SetMemory) to ask vCenter about a
// node's VM by its managed object ID after a restart: only that answer proves a VM gone.
// It lists NodeVMs, which happens only when a VM is missing from the inventory and no
// departure of it was seen.
func Memory(cfg *rest.Config) (func(ctx context.Context, uuid string) []vsphere.VMRef, error) {
	cl, err := kubeclient.New(cfg, "vsphere-cloud-node-memory")
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, uuid string) []vsphere.VMRef {
		var list v1alpha1.NodeVMList
		if err := cl.List(ctx, &list); err != nil {
			klog.FromContext(ctx).V(2).Info("Cannot read NodeVMs to find a VM's managed object ID", "vmUUID", uuid, "err", err)
			return nil
		}
		return recorded(list.Items, uuid)
	}, nil
}

// recorded returns the VMs of NodeVMs whose status has uuid.
func recorded(items []v1alpha1.NodeVM, uuid string) []vsphere.VMRef {
	var out []vsphere.VMRef
	for _, n := range items {
		st := n.Status
		if st.VM != "" && st.VCenter != "" && strings.EqualFold(st.UUID, uuid) {
			out = append(out, vsphere.VMRef{VCenter: st.VCenter, Ref: st.VM, UUID: strings.ToLower(st.UUID)})
		}
	}
	return out
}
