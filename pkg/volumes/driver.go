package volumes

import (
	"context"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// Names the driver uses on the wire.
const (
	DriverName = "disk.vsphere-cloud.io"
	// TopologyZone and TopologyRegion are the topology keys: the same as the nodes'
	// well-known labels, which come from the same vSphere tags.
	TopologyZone   = "topology.kubernetes.io/zone"
	TopologyRegion = "topology.kubernetes.io/region"
	// PublishDiskUUID carries the attached disk's UUID from ControllerPublish to the node.
	PublishDiskUUID = "diskUUID"

	// StorageClass parameters (matched case-insensitively).
	ParamDatastoreURL = "datastoreURL"
	ParamDatastore    = "datastore"
	ParamPolicy       = "storagePolicyName"
	ParamFSType       = "csi.storage.k8s.io/fstype"
)

// Version is reported by GetPluginInfo; set at build time.
var Version = "dev"

// Identity is the CSI Identity service, served next to the controller or node service.
type Identity struct {
	csi.UnimplementedIdentityServer
	// Topology reports whether volumes have topology (zone and region tag categories are
	// configured; on a node: the Node has zone or region labels). Nil means no.
	Topology func(ctx context.Context) bool
	// Ready reports readiness (the inventory synced); nil means ready.
	Ready func() bool
}

// GetPluginInfo names the driver.
func (i *Identity) GetPluginInfo(context.Context, *csi.GetPluginInfoRequest) (*csi.GetPluginInfoResponse, error) {
	return &csi.GetPluginInfoResponse{Name: DriverName, VendorVersion: Version}, nil
}

// GetPluginCapabilities advertises the controller service, topology and online expansion.
// Capabilities are the plugin's, so the node's identity names the controller service
// too (cloud-controller serves it).
func (i *Identity) GetPluginCapabilities(ctx context.Context, _ *csi.GetPluginCapabilitiesRequest) (*csi.GetPluginCapabilitiesResponse, error) {
	svc := func(t csi.PluginCapability_Service_Type) *csi.PluginCapability {
		return &csi.PluginCapability{Type: &csi.PluginCapability_Service_{Service: &csi.PluginCapability_Service{Type: t}}}
	}
	caps := []*csi.PluginCapability{
		svc(csi.PluginCapability_Service_CONTROLLER_SERVICE),
		{Type: &csi.PluginCapability_VolumeExpansion_{VolumeExpansion: &csi.PluginCapability_VolumeExpansion{Type: csi.PluginCapability_VolumeExpansion_ONLINE}}},
	}
	if i.Topology != nil && i.Topology(ctx) {
		caps = append(caps, svc(csi.PluginCapability_Service_VOLUME_ACCESSIBILITY_CONSTRAINTS))
	}
	return &csi.GetPluginCapabilitiesResponse{Capabilities: caps}, nil
}

// Probe reports readiness.
func (i *Identity) Probe(context.Context, *csi.ProbeRequest) (*csi.ProbeResponse, error) {
	ready := i.Ready == nil || i.Ready()
	return &csi.ProbeResponse{Ready: wrapperspb.Bool(ready)}, nil
}
