package controller

import (
	"context"

	v1 "k8s.io/api/core/v1"

	"github.com/vsphere-cloud/provider/pkg/loadbalancer"
)

// GetLoadBalancer reports the addresses a class-less Service holds.
func (p *Provider) GetLoadBalancer(_ context.Context, _ string, svc *v1.Service) (*v1.LoadBalancerStatus, bool, error) {
	ips := p.alloc.Held(svc.Namespace + "/" + svc.Name)
	if len(ips) == 0 {
		return nil, false, nil
	}
	return loadbalancer.StatusFor(ips), true, nil
}

// GetLoadBalancerName names the Service's load balancer.
func (p *Provider) GetLoadBalancerName(_ context.Context, _ string, svc *v1.Service) string {
	return "vip-" + string(svc.UID)
}

// EnsureLoadBalancer allocates the Service's addresses; announcement is vsphere-node's.
// A failure leaves the Service pending with an Event (the service controller's, carrying
// this error) and the Allocated condition.
func (p *Provider) EnsureLoadBalancer(ctx context.Context, _ string, svc *v1.Service, _ []*v1.Node) (*v1.LoadBalancerStatus, error) {
	if err := p.waitReady(ctx); err != nil {
		return nil, err
	}
	key := svc.Namespace + "/" + svc.Name
	ips, err := p.assign(ctx, svc)
	p.mu.Lock()
	p.lastErr[key] = err
	p.mu.Unlock()
	p.queue.Add(key)
	if err != nil {
		return nil, err
	}
	return loadbalancer.StatusFor(ips), nil
}

// UpdateLoadBalancer has nothing to do: the node set does not change a VIP.
func (p *Provider) UpdateLoadBalancer(context.Context, string, *v1.Service, []*v1.Node) error {
	return nil
}

// EnsureLoadBalancerDeleted releases the Service's addresses.
func (p *Provider) EnsureLoadBalancerDeleted(ctx context.Context, _ string, svc *v1.Service) error {
	if err := p.waitReady(ctx); err != nil {
		return err
	}
	key := svc.Namespace + "/" + svc.Name
	p.alloc.Release(key)
	p.mu.Lock()
	delete(p.lastErr, key)
	p.mu.Unlock()
	p.queue.Add(poolsKey)
	return nil
}
