package announce

import (
	"context"
	"fmt"
	"net/netip"
	"strconv"
	"sync"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/vsphere-cloud/provider/api/v1alpha1"
)

// slowLeases keeps Leases itself, in memory, and answers every Lease write after delay,
// like an API server a few milliseconds away; everything else goes to Client. (The fake
// client's own tracker spends milliseconds of CPU on each write, which would measure it,
// not the agent.)
type slowLeases struct {
	client.Client
	delay time.Duration
	mu    sync.Mutex
	rv    int
	byKey map[client.ObjectKey]*coordinationv1.Lease
}

func (s *slowLeases) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	l, ok := obj.(*coordinationv1.Lease)
	if !ok {
		return s.Client.Get(ctx, key, obj, opts...)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, ok := s.byKey[key]
	if !ok {
		return apierrors.NewNotFound(coordinationv1.Resource("leases"), key.Name)
	}
	cur.DeepCopyInto(l)
	return nil
}

func (s *slowLeases) List(ctx context.Context, list client.ObjectList, opts ...client.ListOption) error {
	ll, ok := list.(*coordinationv1.LeaseList)
	if !ok {
		return s.Client.List(ctx, list, opts...)
	}
	o := (&client.ListOptions{}).ApplyOptions(opts)
	s.mu.Lock()
	defer s.mu.Unlock()
	ll.Items = nil
	for _, l := range s.byKey {
		if o.LabelSelector == nil || o.LabelSelector.Matches(labels.Set(l.Labels)) {
			ll.Items = append(ll.Items, *l.DeepCopy())
		}
	}
	return nil
}

func (s *slowLeases) write(ctx context.Context, obj client.Object, create bool) error {
	time.Sleep(s.delay)
	if err := ctx.Err(); err != nil {
		return err
	}
	l := obj.(*coordinationv1.Lease)
	key := client.ObjectKeyFromObject(l)
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, exists := s.byKey[key]
	switch {
	case create && exists:
		return apierrors.NewAlreadyExists(coordinationv1.Resource("leases"), key.Name)
	case !create && !exists:
		return apierrors.NewNotFound(coordinationv1.Resource("leases"), key.Name)
	case !create && cur.ResourceVersion != l.ResourceVersion:
		return apierrors.NewConflict(coordinationv1.Resource("leases"), key.Name, nil)
	}
	s.rv++
	l.ResourceVersion = strconv.Itoa(s.rv)
	s.byKey[key] = l.DeepCopy()
	return nil
}

func (s *slowLeases) Create(ctx context.Context, obj client.Object, opts ...client.CreateOption) error {
	if _, ok := obj.(*coordinationv1.Lease); !ok {
		return s.Client.Create(ctx, obj, opts...)
	}
	return s.write(ctx, obj, true)
}

func (s *slowLeases) Update(ctx context.Context, obj client.Object, opts ...client.UpdateOption) error {
	if _, ok := obj.(*coordinationv1.Lease); !ok {
		return s.Client.Update(ctx, obj, opts...)
	}
	return s.write(ctx, obj, false)
}

// A node that holds 150 VIPs renews every one within its Lease, although each write takes
// 10 ms: one after the other a round would take 1.5 s, longer than the 0.75 s fence
// deadline of a 1 s Lease, and the VIPs would flap.
func TestManyVIPsAreRenewedInTime(t *testing.T) {
	const n = 150
	var objs []client.Object
	for i := range n {
		ip := netip.AddrFrom4([4]byte{10, 0, byte(1 + i/250), byte(1 + i%250)})
		objs = append(objs, &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("svc-%d", i), Namespace: "default"},
			Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, ExternalTrafficPolicy: corev1.ServiceExternalTrafficPolicyCluster},
			Status:     corev1.ServiceStatus{LoadBalancer: corev1.LoadBalancerStatus{Ingress: []corev1.LoadBalancerIngress{{IP: ip.String()}}}},
		})
	}
	c := worldWithPool(t, func(p *v1alpha1.VIPPool) { p.Spec.Addresses = []string{"10.0.0.0/16"} }, lbService(corev1.ServiceExternalTrafficPolicyCluster), objs...)
	a := runAgent(t, &slowLeases{Client: c, delay: 10 * time.Millisecond, byKey: map[client.ObjectKey]*coordinationv1.Lease{}}, "a")
	all := func() bool {
		for _, o := range objs {
			if !a.has(netip.MustParseAddr(o.(*corev1.Service).Status.LoadBalancer.Ingress[0].IP)) {
				return false
			}
		}
		return true
	}
	if !waitFor(20*time.Second, all) {
		held := 0
		for _, o := range objs {
			if a.has(netip.MustParseAddr(o.(*corev1.Service).Status.LoadBalancer.Ingress[0].IP)) {
				held++
			}
		}
		t.Fatalf("a did not come to hold all %d VIPs (holds %d, removed %d)", n, held, len(a.removedAt))
	}
	a.mu.Lock()
	removedBefore := len(a.removedAt)
	a.mu.Unlock()
	time.Sleep(3 * time.Second) // twelve renewal intervals, three Lease durations
	a.mu.Lock()
	removed := len(a.removedAt) - removedBefore
	a.mu.Unlock()
	if removed > 0 || !all() {
		t.Errorf("%d VIPs were removed while the node held %d steadily (every one should have been renewed in time)", removed, n)
	}
}
