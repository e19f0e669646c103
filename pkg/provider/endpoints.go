package provider

import (
	"context"
	"fmt"
	"net/netip"
	"sync/atomic"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	coordinationlisters "k8s.io/client-go/listers/coordination/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"

	"github.com/vsphere-cloud/provider/api/v1alpha1"
)

// endpointSyncWait bounds how long node initialization waits for the control-plane
// endpoint Leases to be read.
const endpointSyncWait = 10 * time.Second

// controlPlaneEndpoints knows the control-plane endpoint addresses (vsphere-node
// control-plane run), which VMware Tools reports on the holder's NIC and which must never
// become a Node's address: their Leases in kube-system, labelled and annotated.
type controlPlaneEndpoints struct {
	leases coordinationlisters.LeaseLister
	synced cache.InformerSynced
	// gaveUp is set once a wait for the first read timed out: later calls do not wait.
	gaveUp atomic.Bool
}

// startEndpoints watches the labelled Leases of kube-system until ctx ends.
func startEndpoints(ctx context.Context, kube kubernetes.Interface) *controlPlaneEndpoints {
	f := informers.NewSharedInformerFactoryWithOptions(kube, 0, informers.WithNamespace(metav1.NamespaceSystem),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = v1alpha1.LabelControlPlaneEndpoint }))
	inf := f.Coordination().V1().Leases()
	e := &controlPlaneEndpoints{leases: inf.Lister(), synced: inf.Informer().HasSynced}
	f.Start(ctx.Done())
	return e
}

// isEndpoint returns whether an address is a control-plane endpoint. It waits for the
// first read (up to endpointSyncWait) and fails rather than answer without it.
func (e *controlPlaneEndpoints) isEndpoint(ctx context.Context) (func(netip.Addr) bool, error) {
	if e == nil {
		return func(netip.Addr) bool { return false }, nil
	}
	if !e.synced() {
		if e.gaveUp.Load() {
			return nil, fmt.Errorf("the control-plane endpoint Leases in kube-system cannot be read (RBAC?)")
		}
		wctx, cancel := context.WithTimeout(ctx, endpointSyncWait)
		defer cancel()
		if !cache.WaitForCacheSync(wctx.Done(), e.synced) {
			e.gaveUp.Store(true)
			return nil, fmt.Errorf("the control-plane endpoint Leases in kube-system were not read within %s", endpointSyncWait)
		}
	}
	leases, err := e.leases.List(labels.Everything())
	if err != nil {
		return nil, err
	}
	addrs := map[netip.Addr]bool{}
	for _, l := range leases {
		addrs = addEndpoint(ctx, addrs, l)
	}
	return func(ip netip.Addr) bool { return addrs[ip.Unmap()] }, nil
}

func addEndpoint(ctx context.Context, addrs map[netip.Addr]bool, l *coordinationv1.Lease) map[netip.Addr]bool {
	v := l.Annotations[v1alpha1.AnnotationControlPlaneEndpoint]
	ip, err := netip.ParseAddr(v)
	if err != nil {
		klog.FromContext(ctx).V(2).Info("Control-plane endpoint Lease without an address", "lease", klog.KObj(l), "value", v)
		return addrs
	}
	addrs[ip.Unmap()] = true
	return addrs
}
