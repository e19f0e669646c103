package provider

import (
	"context"
	"fmt"
	"io"
	"sync"

	"k8s.io/client-go/informers"
	cloudprovider "k8s.io/cloud-provider"
	"k8s.io/klog/v2"

	lbcontroller "github.com/vsphere-cloud/provider/pkg/loadbalancer/controller"
	"github.com/vsphere-cloud/provider/pkg/vsphere"
	"github.com/vsphere-cloud/provider/pkg/vsphere/config"
)

// ProviderName is the name kubelets and cloud-controller use (--cloud-provider).
const ProviderName = "vsphere"

var _ cloudprovider.Interface = (*Cloud)(nil)

// Cloud is the vSphere cloud provider.
type Cloud struct {
	cfg       *config.Config
	inventory Inventory
	// lb allocates VIPs (nil when loadBalancer.enabled is false); it starts in Initialize.
	lb *lbcontroller.Provider
	// start connects to vCenter; called by Initialize with the framework's client.
	start func(ctx context.Context, b cloudprovider.ControllerClientBuilder) error
	// startLB, set by Initialize, starts VIP allocation; SetInformers calls it.
	startLB func(informers.SharedInformerFactory)
}

// registerOnce guards the framework's global registry, which refuses a second
// registration of one name.
var registerOnce sync.Once

// Register makes the provider available to cloudprovider.InitCloudProvider under
// ProviderName. It is safe to call more than once; the package has no init function.
func Register() {
	RegisterWith(func(cfg *config.Config) (*Cloud, error) { return NewFromConfig(cfg), nil })
}

// RegisterWith is Register with a constructor of the caller's: cloud-controller uses it to
// share one vsphere.Manager between the provider and the CSI controller. Only the first
// registration counts.
func RegisterWith(newCloud func(*config.Config) (*Cloud, error)) {
	registerOnce.Do(func() { register(newCloud) })
}

func register(newCloud func(*config.Config) (*Cloud, error)) {
	cloudprovider.RegisterCloudProvider(ProviderName, func(r io.Reader) (cloudprovider.Interface, error) {
		if r == nil {
			return nil, fmt.Errorf("--cloud-config: required (the vsphere.conf YAML file)")
		}
		data, err := io.ReadAll(r)
		if err != nil {
			return nil, fmt.Errorf("--cloud-config: %w", err)
		}
		cfg, err := config.Load(data)
		if err != nil {
			return nil, err
		}
		return newCloud(cfg)
	})
}

// NewFromConfig returns a provider that connects to the configured vCenters when the
// framework calls Initialize, reading credentials through the framework's client.
func NewFromConfig(cfg *config.Config) *Cloud {
	c := &Cloud{cfg: cfg}
	c.lb = newLB(c)
	c.start = func(ctx context.Context, b cloudprovider.ControllerClientBuilder) error {
		client, err := b.Client("vsphere-cloud-credentials")
		if err != nil {
			return fmt.Errorf("building a Kubernetes client for credentials: %w", err)
		}
		m := vsphere.NewManager(cfg, vsphere.SecretSource{Client: client})
		rc, err := b.Config("vsphere-cloud-node-memory")
		if err != nil {
			return fmt.Errorf("building a Kubernetes client for NodeVMs: %w", err)
		}
		mem, err := Memory(rc)
		if err != nil {
			return fmt.Errorf("building a Kubernetes client for NodeVMs: %w", err)
		}
		m.SetMemory(mem)
		m.Start(ctx)
		c.inventory = m
		return nil
	}
	return c
}

// New returns a provider over an existing inventory (tests, and callers that manage the
// vsphere.Manager themselves).
func New(cfg *config.Config, inv Inventory) *Cloud {
	c := &Cloud{cfg: cfg, inventory: inv}
	c.lb = newLB(c)
	return c
}

func newLB(c *Cloud) *lbcontroller.Provider {
	if !c.cfg.LoadBalancer.Enabled {
		return nil
	}
	return lbcontroller.NewProvider(lbInventory{c}, c.cfg.LoadBalancer.LeaseNamespace, c.cfg.LoadBalancer.ServeClassless)
}

// lbInventory reads the inventory lazily: it exists only after Initialize.
type lbInventory struct{ c *Cloud }

func (l lbInventory) VMsReporting(ip string) []lbcontroller.VMRef {
	inv, ok := l.c.inventory.(interface{ VMsByIP(string) []vsphere.VM })
	if !ok {
		return nil
	}
	var out []lbcontroller.VMRef
	for _, vm := range inv.VMsByIP(ip) {
		out = append(out, lbcontroller.VMRef{Name: vm.Name, UUID: vm.UUID})
	}
	return out
}

// Inventory is the inventory the provider answers from, nil before Initialize.
func (c *Cloud) Inventory() Inventory { return c.inventory }

// Initialize starts the vCenter sessions and inventory caches. It runs in the leader only.
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
	if c.start != nil {
		if err := c.start(ctx, b); err != nil {
			log.Error(err, "Cannot start the vSphere inventory; node operations will fail until restart")
		}
	}
	if c.lb != nil {
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
