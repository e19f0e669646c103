package main

import (
	"context"
	"sync"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"

	"github.com/vsphere-cloud/provider/pkg/cpvip"
)

// bootstrapRetry is how long the bootstrap credentials are used before admin.conf is
// tried again.
const bootstrapRetry = 30 * time.Second

// fallbackLeases uses primary (admin.conf) and, while the API server refuses it
// (Unauthorized or Forbidden, as during kubeadm init before admin.conf's group is bound),
// bootstrap (super-admin.conf), going back to primary as soon as it is accepted.
type fallbackLeases struct {
	primary, bootstrap cpvip.Leases
	mu                 sync.Mutex
	until              time.Time // bootstrap in use until then
}

func (f *fallbackLeases) pick() (cpvip.Leases, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.bootstrap != nil && time.Now().Before(f.until) {
		return f.bootstrap, true
	}
	return f.primary, false
}

// call runs do with the current credentials, switching to the bootstrap ones when the
// primary ones are refused.
func call[T any](ctx context.Context, f *fallbackLeases, do func(cpvip.Leases) (T, error)) (T, error) {
	l, boot := f.pick()
	out, err := do(l)
	if !boot && f.bootstrap != nil && (apierrors.IsUnauthorized(err) || apierrors.IsForbidden(err)) {
		klog.FromContext(ctx).Info("The kubeconfig is refused; using the bootstrap kubeconfig (kubeadm init's super-admin.conf) for now", "err", err)
		f.mu.Lock()
		f.until = time.Now().Add(bootstrapRetry)
		f.mu.Unlock()
		return do(f.bootstrap)
	}
	return out, err
}

func (f *fallbackLeases) Get(ctx context.Context, name string, opts metav1.GetOptions) (*coordinationv1.Lease, error) {
	return call(ctx, f, func(l cpvip.Leases) (*coordinationv1.Lease, error) { return l.Get(ctx, name, opts) })
}

func (f *fallbackLeases) Create(ctx context.Context, lease *coordinationv1.Lease, opts metav1.CreateOptions) (*coordinationv1.Lease, error) {
	return call(ctx, f, func(l cpvip.Leases) (*coordinationv1.Lease, error) { return l.Create(ctx, lease, opts) })
}

func (f *fallbackLeases) Update(ctx context.Context, lease *coordinationv1.Lease, opts metav1.UpdateOptions) (*coordinationv1.Lease, error) {
	return call(ctx, f, func(l cpvip.Leases) (*coordinationv1.Lease, error) { return l.Update(ctx, lease, opts) })
}
