package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/vsphere-cloud/provider/api/v1alpha1"
	"github.com/vsphere-cloud/provider/pkg/loadbalancer"
	"github.com/vsphere-cloud/provider/test/framework"
)

// lbWorld: control plane, simulator with three node VMs on three hosts and one database
// VM whose address lies inside the pool, and cloud-controller with the service and
// placement controllers.
type lbWorld struct {
	dir   string
	cp    *framework.ControlPlane
	sim   *framework.Simulator
	ccm   *framework.Process
	crc   client.Client
	conf  string
	nodes []string
	// flags are cloud-controller's flags beyond the controllers and the node monitor.
	flags []string
	// lan, lan4 and lan6 name the announcement segment's bridge and its IPv4 (three
	// octets and a dot) and IPv6 (ending in ::) prefixes; empty: brvip, 10.77.0., fd77::.
	lan, lan4, lan6 string
	// t is the whole test's: processes started in a subtest outlive it.
	t *testing.T
}

const lbNodes = 3

// lbKubeVIP is an address inside the pool lan that the last node VM's guest reports
// beside its Node address, like a kube-vip or keepalived API address.
const lbKubeVIP = "10.77.0.205"

func startLBWorld(t *testing.T) *lbWorld { return startLBWorldWith(t, "loadbalancer", "--v=3") }

// startLBWorldWith is startLBWorld with its artifacts in name and cloud-controller's
// extra flags.
func startLBWorldWith(t *testing.T, name string, flags ...string) *lbWorld {
	t.Helper()
	inv := &framework.SimInventory{Datacenters: 1, Clusters: 1, Hosts: lbNodes}
	w := &lbWorld{t: t, flags: flags}
	for i := range lbNodes {
		name := fmt.Sprintf("lb-node-%d", i)
		w.nodes = append(w.nodes, name)
		ips := []string{fmt.Sprintf("10.77.0.%d", 11+i)}
		if i == lbNodes-1 {
			ips = append(ips, lbKubeVIP) // a second address on a node VM, as kube-vip adds
		}
		inv.VMs = append(inv.VMs, framework.SimVM{Name: name, UUID: framework.TestUUID(name), Hostname: name, IPs: ips})
	}
	inv.VMs = append(inv.VMs, framework.SimVM{Name: "db-0", UUID: framework.TestUUID("db-0"), IPs: []string{"10.77.0.201"}})
	w.dir, w.cp, w.sim = startWorld(t, name, inv)
	ctx := context.Background()
	if err := framework.EnsureCredentials(ctx, w.cp, "127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	w.conf = framework.CloudConfig("127.0.0.1", w.sim.Port, w.sim.CAFile, "inventory:\n  maxWait: 2s\n  freshness: 6s\n")
	w.startCCM()
	var err error
	if w.crc, err = client.New(w.cp.Config, client.Options{Scheme: scheme(t)}); err != nil {
		t.Fatal(err)
	}
	for _, n := range w.nodes {
		if err := framework.RegisterNode(ctx, w.cp.Client, n, framework.TestUUID(n)); err != nil {
			t.Fatal(err)
		}
	}
	return w
}

func (w *lbWorld) startCCM() {
	t := w.t
	t.Helper()
	ccm, err := framework.StartCloudController(w.cp, "cloud-controller", w.conf,
		append([]string{"--controllers=cloud-node,cloud-node-lifecycle,service,vsphere-placement", "--node-monitor-period=2s"}, w.flags...)...)
	if err != nil {
		t.Fatal(err)
	}
	w.ccm = ccm
	t.Cleanup(func() {
		ccm.Stop()
		if ccm.LogContains(framework.SimPassword) {
			t.Error("the vCenter password appears in cloud-controller's log")
		}
	})
}

func (w *lbWorld) pool(t *testing.T, name string, addrs ...string) {
	t.Helper()
	p := &v1alpha1.VIPPool{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: v1alpha1.VIPPoolSpec{Addresses: addrs, Network: "VM Network"}}
	if err := w.crc.Create(context.Background(), p); err != nil {
		t.Fatal(err)
	}
}

type svcOpt func(*corev1.Service)

func withPort(proto corev1.Protocol, port int32) svcOpt {
	return func(s *corev1.Service) {
		s.Spec.Ports = append(s.Spec.Ports, corev1.ServicePort{Name: fmt.Sprintf("p%d", port), Protocol: proto, Port: port, TargetPort: intstr.FromInt32(port)})
	}
}
func withAnnotation(k, v string) svcOpt {
	return func(s *corev1.Service) { s.Annotations[k] = v }
}
func withClass(c string) svcOpt {
	return func(s *corev1.Service) { s.Spec.LoadBalancerClass = ptr.To(c) }
}

func (w *lbWorld) service(t *testing.T, name string, opts ...svcOpt) {
	t.Helper()
	s := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", Annotations: map[string]string{}},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, Selector: map[string]string{"app": name}}}
	for _, o := range opts {
		o(s)
	}
	if len(s.Spec.Ports) == 0 {
		withPort(corev1.ProtocolTCP, 8080)(s)
	}
	if _, err := w.cp.Client.CoreV1().Services("default").Create(context.Background(), s, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// waitService waits for the Service to satisfy ok and returns it.
func (w *lbWorld) waitService(t *testing.T, name, what string, ok func(*corev1.Service) bool) *corev1.Service {
	t.Helper()
	var s *corev1.Service
	if !framework.WaitFor(30*time.Second, 100*time.Millisecond, func() bool {
		var err error
		s, err = w.cp.Client.CoreV1().Services("default").Get(context.Background(), name, metav1.GetOptions{})
		return err == nil && ok(s)
	}) {
		t.Fatalf("Service %s: %s; status %+v\ncloud-controller log tail:\n%s", name, what, s.Status, w.ccm.Tail(3000))
	}
	return s
}

func ingress(s *corev1.Service) string {
	var ips []string
	for _, in := range s.Status.LoadBalancer.Ingress {
		ips = append(ips, in.IP)
	}
	return strings.Join(ips, ",")
}

func condition(s *corev1.Service, typ string) *metav1.Condition {
	return meta.FindStatusCondition(s.Status.Conditions, typ)
}

func (w *lbWorld) hasEvent(name, reason string) bool {
	evs, err := w.cp.Client.CoreV1().Events("default").List(context.Background(), metav1.ListOptions{FieldSelector: "involvedObject.name=" + name})
	if err != nil {
		return false
	}
	for _, e := range evs.Items {
		if e.Reason == reason || strings.Contains(e.Message, reason) {
			return true
		}
	}
	return false
}

func TestLoadBalancer(t *testing.T) {
	w := startLBWorld(t)
	ctx := context.Background()
	w.pool(t, "lan", "10.77.0.200-10.77.0.205")

	t.Run("a class-less Service gets the first free address, ipMode VIP, and Allocated", func(t *testing.T) {
		w.service(t, "web", withAnnotation(v1alpha1.AnnotationSharingKey, "k"), withPort(corev1.ProtocolTCP, 8080))
		s := w.waitService(t, "web", "no ingress", func(s *corev1.Service) bool { return ingress(s) != "" })
		if ingress(s) != "10.77.0.200" || s.Status.LoadBalancer.Ingress[0].IPMode == nil || *s.Status.LoadBalancer.Ingress[0].IPMode != corev1.LoadBalancerIPModeVIP {
			t.Fatalf("ingress = %+v, want 10.77.0.200 with ipMode VIP", s.Status.LoadBalancer.Ingress)
		}
		s = w.waitService(t, "web", "no Allocated condition", func(s *corev1.Service) bool { return condition(s, v1alpha1.ServiceConditionAllocated) != nil })
		if c := condition(s, v1alpha1.ServiceConditionAllocated); c.Status != metav1.ConditionTrue || !strings.Contains(c.Message, "VIPPool lan") {
			t.Errorf("Allocated = %+v", c)
		}
	})

	t.Run("Services with one sharing key and other ports share the address; clashing ports stay pending", func(t *testing.T) {
		w.service(t, "dns", withAnnotation(v1alpha1.AnnotationSharingKey, "k"), withPort(corev1.ProtocolUDP, 53))
		s := w.waitService(t, "dns", "no ingress", func(s *corev1.Service) bool { return ingress(s) != "" })
		if ingress(s) != "10.77.0.200" {
			t.Errorf("dns got %s, want the shared 10.77.0.200", ingress(s))
		}
		w.service(t, "web-clash", withAnnotation(v1alpha1.AnnotationSharingKey, "k"), withPort(corev1.ProtocolTCP, 8080))
		w.waitService(t, "web-clash", "no SharingConflict condition", func(s *corev1.Service) bool {
			c := condition(s, v1alpha1.ServiceConditionAllocated)
			return c != nil && c.Reason == loadbalancer.ReasonSharingConflict && ingress(s) == ""
		})
		if !framework.WaitFor(10*time.Second, 100*time.Millisecond, func() bool { return w.hasEvent("web-clash", loadbalancer.ReasonSharingConflict) }) {
			t.Error("no Event names the sharing conflict")
		}
	})

	t.Run("an address a VM uses, or one outside every pool, is never handed out", func(t *testing.T) {
		w.service(t, "wants-db-ip", withAnnotation(v1alpha1.AnnotationLoadBalancerIPs, "10.77.0.201"))
		w.waitService(t, "wants-db-ip", "no AddressUsedByVM condition", func(s *corev1.Service) bool {
			c := condition(s, v1alpha1.ServiceConditionAllocated)
			return c != nil && c.Reason == loadbalancer.ReasonUsedByVM && strings.Contains(c.Message, "db-0")
		})
		w.service(t, "outside", withAnnotation(v1alpha1.AnnotationLoadBalancerIPs, "192.168.9.9"))
		w.waitService(t, "outside", "no AddressNotInPool condition", func(s *corev1.Service) bool {
			c := condition(s, v1alpha1.ServiceConditionAllocated)
			return c != nil && c.Reason == loadbalancer.ReasonNotInPool
		})
		// A node VM's guest address that is not a VIP it announces is a conflict too.
		w.service(t, "wants-kube-vip", withAnnotation(v1alpha1.AnnotationLoadBalancerIPs, lbKubeVIP))
		w.waitService(t, "wants-kube-vip", "no AddressUsedByVM condition naming the node VM", func(s *corev1.Service) bool {
			c := condition(s, v1alpha1.ServiceConditionAllocated)
			return c != nil && c.Reason == loadbalancer.ReasonUsedByVM && strings.Contains(c.Message, w.nodes[lbNodes-1])
		})
		// Automatic allocation skips the VM's address too.
		w.service(t, "next")
		if s := w.waitService(t, "next", "no ingress", func(s *corev1.Service) bool { return ingress(s) != "" }); ingress(s) != "10.77.0.202" {
			t.Errorf("next got %s, want 10.77.0.202 (10.77.0.201 is db-0's)", ingress(s))
		}
	})

	t.Run("a sharing key is private to its namespace, and sharing needs one traffic policy", func(t *testing.T) {
		if _, err := w.cp.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "intruder"}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "copycat", Namespace: "intruder",
			Annotations: map[string]string{v1alpha1.AnnotationSharingKey: "k", v1alpha1.AnnotationLoadBalancerIPs: "10.77.0.200"}},
			Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, Ports: []corev1.ServicePort{{Port: 2222, Protocol: corev1.ProtocolTCP}}}}
		if _, err := w.cp.Client.CoreV1().Services("intruder").Create(ctx, svc, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if !framework.WaitFor(30*time.Second, 100*time.Millisecond, func() bool {
			s, err := w.cp.Client.CoreV1().Services("intruder").Get(ctx, "copycat", metav1.GetOptions{})
			c := (*metav1.Condition)(nil)
			if err == nil {
				c = condition(s, v1alpha1.ServiceConditionAllocated)
			}
			return c != nil && c.Reason == loadbalancer.ReasonSharingConflict && ingress(s) == ""
		}) {
			t.Fatalf("intruder/copycat joined default's shared address, or was not refused:\n%s", w.ccm.Tail(3000))
		}
		w.service(t, "local-joiner", withAnnotation(v1alpha1.AnnotationSharingKey, "k"), withPort(corev1.ProtocolTCP, 9090),
			func(s *corev1.Service) { s.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal })
		w.waitService(t, "local-joiner", "no SharingConflict for a Local Service joining Cluster ones", func(s *corev1.Service) bool {
			c := condition(s, v1alpha1.ServiceConditionAllocated)
			return c != nil && c.Reason == loadbalancer.ReasonSharingConflict && strings.Contains(c.Message, "externalTrafficPolicy") && ingress(s) == ""
		})
		for _, del := range []struct{ ns, name string }{{"intruder", "copycat"}, {"default", "local-joiner"}} {
			if err := w.cp.Client.CoreV1().Services(del.ns).Delete(ctx, del.name, metav1.DeleteOptions{}); err != nil {
				t.Fatal(err)
			}
		}
	})

	t.Run("a Service of class vsphere-cloud.io/vip is served by our controller and releases on delete", func(t *testing.T) {
		w.service(t, "classy", withClass(v1alpha1.ServiceClassVIP))
		s := w.waitService(t, "classy", "no ingress", func(s *corev1.Service) bool { return ingress(s) != "" })
		if ingress(s) != "10.77.0.203" || !contains(s.Finalizers, v1alpha1.FinalizerVIP) {
			t.Fatalf("classy: ingress %s, finalizers %v", ingress(s), s.Finalizers)
		}
		if err := w.cp.Client.CoreV1().Services("default").Delete(ctx, "classy", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		if !framework.WaitFor(20*time.Second, 100*time.Millisecond, func() bool {
			_, err := w.cp.Client.CoreV1().Services("default").Get(ctx, "classy", metav1.GetOptions{})
			return err != nil
		}) {
			t.Fatal("the finalizer was not removed")
		}
	})

	t.Run("overlapping and malformed pools are reported, and disturb no Service", func(t *testing.T) {
		w.pool(t, "overlap", "10.77.0.204-10.77.0.210")
		w.pool(t, "bad", "10.77.1.0/33")
		for name, reason := range map[string]string{"overlap": v1alpha1.ReasonOverlap, "bad": v1alpha1.ReasonInvalidRange} {
			if !framework.WaitFor(20*time.Second, 200*time.Millisecond, func() bool {
				var p v1alpha1.VIPPool
				if err := w.crc.Get(ctx, client.ObjectKey{Name: name}, &p); err != nil {
					return false
				}
				c := meta.FindStatusCondition(p.Status.Conditions, v1alpha1.ConditionPoolValid)
				return c != nil && c.Status == metav1.ConditionFalse && c.Reason == reason
			}) {
				t.Errorf("VIPPool %s is not reported %s", name, reason)
			}
		}
		var lan v1alpha1.VIPPool
		if err := w.crc.Get(ctx, client.ObjectKey{Name: "lan"}, &lan); err != nil || lan.Status.Used != 2 || lan.Status.Free != 4 {
			t.Errorf("lan status = %+v, %v; want 2 used (web+dns share one, next), 4 free", lan.Status, err)
		}
		if s := w.waitService(t, "web", "lost its address", func(s *corev1.Service) bool { return true }); ingress(s) != "10.77.0.200" {
			t.Errorf("web now has %q", ingress(s))
		}
	})

	t.Run("a pending Service gets an address as soon as a pool is created, or its Namespace is admitted", func(t *testing.T) {
		// Neither pool auto-assigns: only Services that name them draw from them. The
		// Services are of our class: class-less ones are retried by the upstream service
		// controller at its own back-off (5 s, then doubling), whatever we watch.
		w.service(t, "waits-for-pool", withAnnotation(v1alpha1.AnnotationPool, "later"), withClass(v1alpha1.ServiceClassVIP))
		w.waitService(t, "waits-for-pool", "not pending", func(s *corev1.Service) bool {
			c := condition(s, v1alpha1.ServiceConditionAllocated)
			return c != nil && c.Status == metav1.ConditionFalse
		})
		start := time.Now()
		if err := w.crc.Create(ctx, &v1alpha1.VIPPool{ObjectMeta: metav1.ObjectMeta{Name: "later"},
			Spec: v1alpha1.VIPPoolSpec{Addresses: []string{"10.77.2.1-10.77.2.2"}, AutoAssign: ptr.To(false)}}); err != nil {
			t.Fatal(err)
		}
		if !framework.WaitFor(20*time.Second, 50*time.Millisecond, func() bool {
			s, err := w.cp.Client.CoreV1().Services("default").Get(ctx, "waits-for-pool", metav1.GetOptions{})
			return err == nil && ingress(s) == "10.77.2.1"
		}) {
			t.Fatal("waits-for-pool got no address from the new pool")
		}
		t.Logf("address allocated %s after the pool was created", time.Since(start).Round(time.Millisecond))

		if err := w.crc.Create(ctx, &v1alpha1.VIPPool{ObjectMeta: metav1.ObjectMeta{Name: "team-a"},
			Spec: v1alpha1.VIPPoolSpec{Addresses: []string{"10.77.3.1"}, AutoAssign: ptr.To(false),
				NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"team": "a"}}}}); err != nil {
			t.Fatal(err)
		}
		if _, err := w.cp.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team-ns"}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "team-svc", Namespace: "team-ns", Annotations: map[string]string{v1alpha1.AnnotationPool: "team-a"}},
			Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, LoadBalancerClass: ptr.To(v1alpha1.ServiceClassVIP), Ports: []corev1.ServicePort{{Port: 80, Protocol: corev1.ProtocolTCP}}}}
		if _, err := w.cp.Client.CoreV1().Services("team-ns").Create(ctx, svc, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		get := func() *corev1.Service {
			s, err := w.cp.Client.CoreV1().Services("team-ns").Get(ctx, "team-svc", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
		if !framework.WaitFor(20*time.Second, 100*time.Millisecond, func() bool {
			c := condition(get(), v1alpha1.ServiceConditionAllocated)
			return c != nil && c.Status == metav1.ConditionFalse
		}) {
			t.Fatalf("team-svc in an unlabelled Namespace is not pending: %+v", get().Status)
		}
		patch := []byte(`{"metadata":{"labels":{"team":"a"}}}`)
		if _, err := w.cp.Client.CoreV1().Namespaces().Patch(ctx, "team-ns", types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
		start = time.Now()
		if !framework.WaitFor(20*time.Second, 50*time.Millisecond, func() bool { return ingress(get()) == "10.77.3.1" }) {
			t.Fatalf("team-svc did not get 10.77.3.1 once its Namespace was labelled: %+v", get().Status)
		}
		t.Logf("address allocated %s after the Namespace was labelled", time.Since(start).Round(time.Millisecond))
	})

	t.Run("after a restart, allocations are rebuilt from Service status", func(t *testing.T) {
		w.ccm.Stop()
		w.startCCM()
		w.service(t, "after-restart")
		s := w.waitService(t, "after-restart", "no ingress", func(s *corev1.Service) bool { return ingress(s) != "" })
		if got := ingress(s); got == "10.77.0.200" || got == "10.77.0.202" || got == "10.77.0.201" {
			t.Fatalf("after-restart got %s, which is taken", got)
		}
	})

	if t.Failed() {
		return
	}
	t.Run("announcement", func(t *testing.T) { testAnnouncement(t, w) })
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func scheme(t *testing.T) *runtime.Scheme {
	t.Helper()
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	if err := v1alpha1.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	return s
}
