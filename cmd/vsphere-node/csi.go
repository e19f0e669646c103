package main

import (
	"context"
	"fmt"
	"strings"

	"google.golang.org/grpc"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	"github.com/vsphere-cloud/provider/pkg/volumes"
	"github.com/vsphere-cloud/provider/pkg/vsphere/biosuuid"
)

// csiNode serves the CSI Node service. It runs on every replica (it is not leader
// elected): node-driver-registrar and kubelet talk to it over the socket.
func csiNode(opts *Options, reader client.Reader) manager.Runnable {
	node := volumes.NewNode(volumes.NodeConfig{
		Identity: func(ctx context.Context) (volumes.NodeIdentity, error) {
			return nodeIdentity(ctx, reader, opts.NodeName)
		},
		DevRoot: opts.DevRoot, SysRoot: opts.SysRoot, DeviceWait: opts.DeviceWait,
	})
	return manager.RunnableFunc(func(ctx context.Context) error {
		return volumes.Serve(ctx, opts.CSIEndpoint, func(s *grpc.Server) {
			id := &volumes.Identity{Topology: func(ctx context.Context) bool {
				ni, err := nodeIdentity(ctx, reader, opts.NodeName)
				return err == nil && (ni.Zone != "" || ni.Region != "")
			}}
			volumes.Register(s, id, nil, node)
		})
	})
}

// nodeIdentity reads the Node: its ID is the VM's BIOS UUID from the providerID that
// cloud-controller set, so the controller can find the VM without guessing.
func nodeIdentity(ctx context.Context, reader client.Reader, name string) (volumes.NodeIdentity, error) {
	var n v1.Node
	if err := reader.Get(ctx, types.NamespacedName{Name: name}, &n); err != nil {
		return volumes.NodeIdentity{}, fmt.Errorf("reading Node %s: %w", name, err)
	}
	raw, ok := strings.CutPrefix(n.Spec.ProviderID, "vsphere://")
	if !ok {
		return volumes.NodeIdentity{}, fmt.Errorf("node %s has no vsphere:// providerID yet (%q); cloud-controller sets it when it initializes the node", name, n.Spec.ProviderID)
	}
	id, err := biosuuid.Normalize(raw)
	if err != nil {
		return volumes.NodeIdentity{}, fmt.Errorf("node %s: providerID %q: %w", name, n.Spec.ProviderID, err)
	}
	return volumes.NodeIdentity{ID: id, Zone: n.Labels[v1.LabelTopologyZone], Region: n.Labels[v1.LabelTopologyRegion]}, nil
}
