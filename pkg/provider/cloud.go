package provider

import (
	"context"

	"k8s.io/client-go/informers"
	cloudprovider "k8s.io/cloud-provider"
	"k8s.io/klog/v2"

	"github.com/vsphere-cloud/provider/pkg/loadbalancer/lbcontroller"
	"github.com/vsphere-cloud/provider/pkg/vsphere/config"
)

// ProviderName is the name kubelets and cloud-controller use (--cloud-provider).
const ProviderName = "vsphere"

var _ cloudprovider.Interface = (*Cloud)(nil)

// Cloud is the vSphere cloud provider. It answers from an inventory its caller built and
// started (cmd/cloud-controller builds one vsphere.Manager per process and hands it here
// and to the CSI service); the provider itself never connects to vCenter.
type Cloud struct {
	cfg       *config.Config
	inventory Inventory
	// lb allocates VIPs (nil when loadBalancer.enabled is false); it starts in Initialize.
	lb *lbcontroller.Provider
	// startLB, set by Initialize, starts VIP allocation; SetInformers calls it.
	startLB func(informers.SharedInformerFactory)
	// endpoints are the control-plane endpoint addresses, kept out of Node addresses; set
	// by Initialize.
	endpoints *controlPlaneEndpoints
}

// New returns the provider over inv.
func New(cfg *config.Config, inv Inventory) *Cloud {
	c := &Cloud{cfg: cfg, inventory: inv}
	if cfg.LoadBalancer.Enabled {
		c.lb = lbcontroller.NewProvider(lbInventory{inv}, cfg.LoadBalancer.LeaseNamespace, cfg.LoadBalancer.ServeClassless)
	}
	return c
}

// lbInventory tells the VIP allocator which VMs report an address (its conflict check).
type lbInventory struct{ inv Inventory }

func (l lbInventory) VMsReporting(ip string) ([]lbcontroller.VMRef, error) {
	vms, err := l.inv.VMsByIP(ip)
	var out []lbcontroller.VMRef
	for _, vm := range vms {
		out = append(out, lbcontroller.VMRef{Name: vm.Name, UUID: vm.UUID})
	}
	return out, err
}

// Initialize logs the cloud config's warnings and prepares VIP allocation. It runs in the
// leader only.
func (c *Cloud) Initialize(b cloudprovider.ControllerClientBuilder, stop <-chan struct{}) {
	log := klog.Background().WithName(ProviderName)
	for _, w := range c.cfg.Warnings {
		log.Info("Cloud config warning", "warning", w)
	}
	for _, vc := range c.cfg.VCenters {
		if vc.Insecure {
			log.Info("WARNING: TLS verification of vCenter is turned off (insecureFlag); set caFile or thumbprint", "vcenter", vc.Name)
		}
	}
	ctx, cancel := context.WithCancel(klog.NewContext(context.Background(), log))
	go func() { <-stop; cancel() }()
	if kube, err := b.Client("vsphere-cloud-endpoints"); err == nil {
		c.endpoints = startEndpoints(ctx, kube)
	} else {
		log.Error(err, "Cannot watch the control-plane endpoint Leases; their address may become a Node address")
	}
	if c.lb == nil {
		return
	}
	c.startLB = func(f informers.SharedInformerFactory) {
		cfg, err := b.Config("vsphere-cloud-vip")
		if err == nil {
			err = c.lb.Start(ctx, cfg, f)
		}
		if err != nil {
			log.Error(err, "Cannot start VIP allocation; LoadBalancer Services stay pending until restart")
		}
	}
}

var _ cloudprovider.InformerUser = (*Cloud)(nil)

// SetInformers starts VIP allocation on the framework's shared informer factory. The
// framework calls it right after Initialize, before it starts the factory.
func (c *Cloud) SetInformers(f informers.SharedInformerFactory) {
	if c.startLB != nil {
		c.startLB(f)
	}
}

// InstancesV2 is the only instances interface served.
func (c *Cloud) InstancesV2() (cloudprovider.InstancesV2, bool) { return &instances{cloud: c}, true }

// Instances is not served: InstancesV2 replaces it.
func (c *Cloud) Instances() (cloudprovider.Instances, bool) { return nil, false }

// LoadBalancer allocates VIPs from VIPPools for class-less LoadBalancer Services (unless
// loadBalancer.serveClassless is false); Services of class vsphere-cloud.io/vip are served
// by the same allocator's own controller.
func (c *Cloud) LoadBalancer() (cloudprovider.LoadBalancer, bool) {
	if c.lb == nil || !c.cfg.LoadBalancer.ServeClassless {
		return nil, false
	}
	return c.lb, true
}

// Zones is not served: zones come from InstanceMetadata.
func (c *Cloud) Zones() (cloudprovider.Zones, bool) { return nil, false }

// Clusters is not served.
func (c *Cloud) Clusters() (cloudprovider.Clusters, bool) { return nil, false }

// Routes is not served: pod networking is the CNI's job on vSphere.
func (c *Cloud) Routes() (cloudprovider.Routes, bool) { return nil, false }

// ProviderName returns "vsphere".
func (c *Cloud) ProviderName() string { return ProviderName }

// HasClusterID is true: nothing is tagged per cluster in vCenter.
func (c *Cloud) HasClusterID() bool { return true }
