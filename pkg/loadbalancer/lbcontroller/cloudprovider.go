package lbcontroller

import (
	"context"
	"sync"

	corev1 "k8s.io/api/core/v1"

	"github.com/vsphere-cloud/provider/pkg/loadbalancer"
)

// GetLoadBalancer reports the addresses a class-less Service holds.
func (p *Provider) GetLoadBalancer(_ context.Context, _ string, svc *corev1.Service) (*corev1.LoadBalancerStatus, bool, error) {
	ips := p.alloc.Held(serviceKey(svc))
	if len(ips) == 0 {
		return nil, false, nil
	}
	return loadbalancer.StatusFor(ips), true, nil
}

// GetLoadBalancerName names the Service's load balancer.
func (p *Provider) GetLoadBalancerName(_ context.Context, _ string, svc *corev1.Service) string {
	return "vip-" + string(svc.UID)
}

// EnsureLoadBalancer allocates the Service's addresses; announcement is vsphere-node's.
// A failure leaves the Service pending with an Event (the service controller's, carrying
// this error) and the Allocated condition, which the Service controller writes from the
// result recorded here.
func (p *Provider) EnsureLoadBalancer(ctx context.Context, _ string, svc *corev1.Service, _ []*corev1.Node) (*corev1.LoadBalancerStatus, error) {
	if err := p.waitReady(ctx); err != nil {
		return nil, err
	}
	key := serviceKey(svc)
	ips, err := p.services.assign(ctx, svc)
	p.results.set(key, err)
	p.services.enqueue(key)
	if err != nil {
		return nil, err
	}
	return loadbalancer.StatusFor(ips), nil
}

// UpdateLoadBalancer has nothing to do: the node set does not change a VIP.
func (p *Provider) UpdateLoadBalancer(context.Context, string, *corev1.Service, []*corev1.Node) error {
	return nil
}

// EnsureLoadBalancerDeleted releases the Service's addresses.
func (p *Provider) EnsureLoadBalancerDeleted(ctx context.Context, _ string, svc *corev1.Service) error {
	if err := p.waitReady(ctx); err != nil {
		return err
	}
	key := serviceKey(svc)
	p.alloc.Release(key)
	p.results.forget(key)
	p.vipPools.enqueueAll()
	return nil
}

// allocResults holds the last allocation result of each class-less Service (by
// namespace/name), which the upstream service controller obtains through
// EnsureLoadBalancer; the Service controller writes it into the Allocated condition.
type allocResults struct {
	mu   sync.Mutex
	errs map[string]error
}

func newAllocResults() *allocResults { return &allocResults{errs: map[string]error{}} }

func (r *allocResults) set(key string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs[key] = err
}

// get returns the last result recorded for key (nil: none, or success).
func (r *allocResults) get(key string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.errs[key]
}

func (r *allocResults) forget(key string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.errs, key)
}
