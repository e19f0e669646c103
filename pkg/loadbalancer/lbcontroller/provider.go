package lbcontroller

import (
	"context"
	"errors"
	"net/netip"
	"sync"
	"time"

	cloudprovider "k8s.io/cloud-provider"

	"github.com/vsphere-cloud/provider/pkg/loadbalancer"
)

// Inventory is what allocation needs from vCenter: the VMs whose guests report an address.
type Inventory interface {
	// VMsReporting returns the VMs whose guests report ip on any NIC, nil for none. It
	// answers from a cache, without network I/O: allocation calls it holding its lock. It
	// fails while that is not known (an inventory never read): the address is then not
	// handed out.
	VMsReporting(ip string) ([]VMRef, error)
}

// VMRef names a VM and its BIOS UUID (lower case).
type VMRef struct {
	Name string
	UUID string
}

// errNotReady is returned while the watches are still being read.
var errNotReady = errors.New("VIP allocation is not ready yet: Services, VIPPools and existing allocations are still being read")

// readyTimeout bounds how long a caller waits for the watches to be read.
const readyTimeout = 10 * time.Second

// Provider allocates VIPs. It is the cloudprovider.LoadBalancer for class-less Services
// and runs the controllers for Services of Class and for VIPPools. All its state is
// rebuilt from Services' status when it starts; it answers nothing before that.
type Provider struct {
	namespace string // of the VIP Leases
	classless bool

	alloc   *loadbalancer.Allocator
	pools   *poolSet
	nodes   *nodeIndex
	results *allocResults

	once  sync.Once
	ready chan struct{}
	// services and vipPools are set by Start before ready is closed.
	services *serviceReconciler
	vipPools *poolReconciler
}

var _ cloudprovider.LoadBalancer = (*Provider)(nil)

// NewProvider returns a Provider; Start connects it. namespace holds the VIP Leases;
// classless serves Services without a loadBalancerClass.
func NewProvider(inv Inventory, namespace string, classless bool) *Provider {
	RegisterMetrics()
	p := &Provider{
		namespace: namespace, classless: classless,
		pools: &poolSet{}, nodes: &nodeIndex{}, results: newAllocResults(),
		ready: make(chan struct{}),
	}
	p.alloc = loadbalancer.NewAllocator(nil, usesOf(inv, p.nodes))
	return p
}

// waitReady waits until the watches are read and the allocations rebuilt, for at most
// readyTimeout.
func (p *Provider) waitReady(ctx context.Context) error {
	t := time.NewTimer(readyTimeout)
	defer t.Stop()
	select {
	case <-p.ready:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return errNotReady
	}
}

// IsVIP reports whether ip is inside any VIPPool (valid or not) or held by a Service:
// such an address must never become a Node's address.
func (p *Provider) IsVIP(ip netip.Addr) bool {
	ip = ip.Unmap()
	return p.alloc.Holds(ip) || p.pools.covers(ip)
}

// VIPFilter returns IsVIP once VIPPools and the existing allocations have been read; it
// waits for that (up to ten seconds, or until ctx ends) and fails if they are not, so
// that a Node's addresses are never chosen without knowing the VIPs. Use it with
// loadbalancer.DropVIPs on each NIC's addresses before picking a Node's addresses.
func (p *Provider) VIPFilter(ctx context.Context) (func(netip.Addr) bool, error) {
	if err := p.waitReady(ctx); err != nil {
		return nil, err
	}
	return p.IsVIP, nil
}
