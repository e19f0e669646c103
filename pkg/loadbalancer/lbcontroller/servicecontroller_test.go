package lbcontroller

import (
	"context"
	"net/netip"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/vsphere-cloud/provider/api/v1alpha1"
	"github.com/vsphere-cloud/provider/pkg/loadbalancer"
)

// lbService is a LoadBalancer Service default/name of class (nil: class-less).
func lbService(name string, class *string, opts ...func(*corev1.Service)) *corev1.Service {
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name, Annotations: map[string]string{}},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, LoadBalancerClass: class,
			Ports: []corev1.ServicePort{{Port: 80, Protocol: corev1.ProtocolTCP}}},
	}
	for _, o := range opts {
		o(svc)
	}
	return svc
}

func withIngress(ip string) func(*corev1.Service) {
	return func(s *corev1.Service) {
		s.Status.LoadBalancer = *loadbalancer.StatusFor([]netip.Addr{netip.MustParseAddr(ip)})
	}
}

func deleting(finalizers ...string) func(*corev1.Service) {
	return func(s *corev1.Service) {
		s.Finalizers = finalizers
		s.DeletionTimestamp = ptr.To(metav1.Now())
	}
}

func TestServiceReconcile(t *testing.T) {
	ours := ptr.To(v1alpha1.ServiceClassVIP)
	addr := netip.MustParseAddr
	for _, tc := range []struct {
		name      string
		classless bool
		svc       *corev1.Service // in the cache and the clientset; nil: gone
		setup     func(h *testServices)
		check     func(t *testing.T, h *testServices)
	}{{
		name: "a Service of the class gets a VIP and the finalizer",
		svc:  lbService("web", ours),
		check: func(t *testing.T, h *testServices) {
			svc := h.get(t, "default", "web")
			if !slices.Equal(svc.Finalizers, []string{v1alpha1.FinalizerVIP}) {
				t.Errorf("finalizers = %v, want [%s]", svc.Finalizers, v1alpha1.FinalizerVIP)
			}
			if got := loadbalancer.IngressIPs(svc); !slices.Equal(got, []netip.Addr{addr("10.0.0.1")}) {
				t.Errorf("ingress = %v, want 10.0.0.1", got)
			}
			if c := meta.FindStatusCondition(svc.Status.Conditions, v1alpha1.ServiceConditionAllocated); c == nil || c.Status != metav1.ConditionTrue || !strings.Contains(c.Message, "10.0.0.1 from VIPPool lan") {
				t.Errorf("Allocated = %+v", c)
			}
			if c := meta.FindStatusCondition(svc.Status.Conditions, v1alpha1.ServiceConditionAnnounced); c == nil || c.Status != metav1.ConditionFalse || c.Reason != "NotAnnounced" {
				t.Errorf("Announced = %+v, want False NotAnnounced (no Lease)", c)
			}
			if got := h.p.alloc.Held("default/web"); !slices.Equal(got, []netip.Addr{addr("10.0.0.1")}) {
				t.Errorf("held %v, want 10.0.0.1", got)
			}
			if h.usage == 0 {
				t.Error("the pools' usage was not queued")
			}
		},
	}, {
		name: "deleting a Service of the class releases its VIP and removes the finalizer",
		svc:  lbService("web", ours, withIngress("10.0.0.1"), deleting("example.com/keep", v1alpha1.FinalizerVIP)),
		setup: func(h *testServices) {
			h.p.alloc.Restore(request("web"), []netip.Addr{addr("10.0.0.1")})
		},
		check: func(t *testing.T, h *testServices) {
			if got := h.p.alloc.Held("default/web"); got != nil {
				t.Errorf("still held: %v", got)
			}
			if svc := h.get(t, "default", "web"); !slices.Equal(svc.Finalizers, []string{"example.com/keep"}) {
				t.Errorf("finalizers = %v, want only example.com/keep", svc.Finalizers)
			}
			if h.usage == 0 {
				t.Error("the pools' usage was not queued")
			}
		},
	}, {
		name: "a Service gone releases its VIP",
		setup: func(h *testServices) {
			h.p.alloc.Restore(request("web"), []netip.Addr{addr("10.0.0.1")})
		},
		check: func(t *testing.T, h *testServices) {
			if got := h.p.alloc.Held("default/web"); got != nil {
				t.Errorf("still held: %v", got)
			}
			if h.usage == 0 {
				t.Error("the pools' usage was not queued")
			}
		},
	}, {
		name:      "a Service of another class is ignored",
		classless: true,
		svc:       lbService("web", ptr.To("example.com/other")),
		check:     untouched,
	}, {
		name:  "a class-less Service is ignored when class-less Services are not served",
		svc:   lbService("web", nil),
		check: untouched,
	}, {
		name: "a Service of the class asking for an address outside every pool is pending, with an Event",
		svc:  lbService("web", ours, func(s *corev1.Service) { s.Annotations[v1alpha1.AnnotationLoadBalancerIPs] = "192.168.9.9" }),
		check: func(t *testing.T, h *testServices) {
			svc := h.get(t, "default", "web")
			if c := meta.FindStatusCondition(svc.Status.Conditions, v1alpha1.ServiceConditionAllocated); c == nil || c.Status != metav1.ConditionFalse || c.Reason != loadbalancer.ReasonNotInPool {
				t.Errorf("Allocated = %+v, want False %s", c, loadbalancer.ReasonNotInPool)
			}
			if len(svc.Status.LoadBalancer.Ingress) != 0 {
				t.Errorf("ingress %v", svc.Status.LoadBalancer.Ingress)
			}
			if len(h.recorder.Events) != 1 {
				t.Fatalf("%d Events, want one", len(h.recorder.Events))
			}
			if ev := <-h.recorder.Events; !strings.HasPrefix(ev, "Warning "+loadbalancer.ReasonNotInPool+" No address allocated: ") {
				t.Errorf("Event %q", ev)
			}
		},
	}, {
		name:      "a class-less Service gets the Allocated condition of its last EnsureLoadBalancer",
		classless: true,
		svc:       lbService("web", nil, withIngress("10.0.0.1")),
		setup: func(h *testServices) {
			h.p.alloc.Restore(request("web"), []netip.Addr{addr("10.0.0.1")})
		},
		check: func(t *testing.T, h *testServices) {
			svc := h.get(t, "default", "web")
			if c := meta.FindStatusCondition(svc.Status.Conditions, v1alpha1.ServiceConditionAllocated); c == nil || c.Status != metav1.ConditionTrue {
				t.Errorf("Allocated = %+v", c)
			}
			if len(svc.Finalizers) != 0 {
				t.Errorf("a class-less Service got finalizers %v", svc.Finalizers)
			}
		},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			var svcs []*corev1.Service
			if tc.svc != nil {
				svcs = append(svcs, tc.svc)
			}
			h := newTestServices(t, tc.classless, svcs...)
			if tc.setup != nil {
				tc.setup(h)
			}
			if err := h.reconcile(context.Background(), "default/web"); err != nil {
				t.Fatalf("reconcile: %v", err)
			}
			tc.check(t, h)
		})
	}
}

// untouched checks that the reconcile wrote nothing, held nothing and said nothing.
func untouched(t *testing.T, h *testServices) {
	t.Helper()
	for _, a := range h.kube.Actions() {
		t.Errorf("API action %s %s/%s, want none", a.GetVerb(), a.GetResource().Resource, a.GetSubresource())
	}
	if got := h.p.alloc.Held("default/web"); got != nil {
		t.Errorf("holds %v", got)
	}
	if len(h.recorder.Events) != 0 || h.usage != 0 {
		t.Errorf("%d Events, usage queued %d times; want none", len(h.recorder.Events), h.usage)
	}
}

// TestEnsureLoadBalancerResultBecomesTheCondition: the error EnsureLoadBalancer returns
// for a class-less Service is the reason of its Allocated condition, with an Event.
func TestEnsureLoadBalancerResultBecomesTheCondition(t *testing.T) {
	svc := lbService("web", nil, func(s *corev1.Service) { s.Annotations[v1alpha1.AnnotationLoadBalancerIPs] = "192.168.9.9" })
	h := newTestServices(t, true, svc)
	h.p.services = h.serviceReconciler
	close(h.p.ready)
	if _, err := h.p.EnsureLoadBalancer(context.Background(), "kubernetes", svc, nil); reasonOfErr(err) != loadbalancer.ReasonNotInPool {
		t.Fatalf("EnsureLoadBalancer: %v, want %s", err, loadbalancer.ReasonNotInPool)
	}
	if got := drain(h.queue); !slices.Equal(got, []string{"default/web"}) {
		t.Fatalf("queued %v, want default/web", got)
	}
	if err := h.reconcile(context.Background(), "default/web"); err != nil {
		t.Fatal(err)
	}
	c := meta.FindStatusCondition(h.get(t, "default", "web").Status.Conditions, v1alpha1.ServiceConditionAllocated)
	if c == nil || c.Status != metav1.ConditionFalse || c.Reason != loadbalancer.ReasonNotInPool {
		t.Errorf("Allocated = %+v, want False %s", c, loadbalancer.ReasonNotInPool)
	}
	if len(h.recorder.Events) != 1 {
		t.Errorf("%d Events, want one", len(h.recorder.Events))
	}
}
