package kind

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/vsphere-cloud/provider/pkg/loadbalancer"
)

const (
	lbNamespace    = "kind-lb"
	leaseNamespace = "vsphere-cloud-vips"
)

// lbVIP is the address testLoadBalancerFromHost got, for testVIPFailover.
var lbVIP netip.Addr

// testLoadBalancerFromHost: a LoadBalancer Service gets a VIP from the pool on the kind
// network (hack/kind/up.sh), one worker's vsphere-node announces it, and the host, a
// neighbour on that network as a client on the VM network is, reaches a real Pod through the
// VIP and kube-proxy. The namespace stays for testVIPFailover.
func testLoadBalancerFromHost(t *testing.T) {
	ctx := context.Background()
	if _, err := w.kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: lbNamespace}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// One answering Pod on each worker, so the Service keeps an endpoint whichever node stops.
	for _, node := range w.workers {
		p := testPod("echo-"+node, node, `exec socat TCP-LISTEN:8080,fork,reuseaddr SYSTEM:'echo $(hostname)'`)
		p.Labels = map[string]string{"app": "echo"}
		p.Spec.RestartPolicy = corev1.RestartPolicyAlways
		if _, err := w.kube.CoreV1().Pods(lbNamespace).Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		waitPodPhase(t, lbNamespace, p.Name, corev1.PodRunning, 2*time.Minute)
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "echo"},
		Spec: corev1.ServiceSpec{
			Type:     corev1.ServiceTypeLoadBalancer,
			Selector: map[string]string{"app": "echo"},
			Ports:    []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(8080)}},
		},
	}
	if _, err := w.kube.CoreV1().Services(lbNamespace).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, time.Minute, "a VIP in the Service's status", func(ctx context.Context) (bool, string) {
		s, err := w.kube.CoreV1().Services(lbNamespace).Get(ctx, "echo", metav1.GetOptions{})
		if err != nil || len(s.Status.LoadBalancer.Ingress) == 0 {
			return false, fmt.Sprintf("status %+v %v", s.Status, err)
		}
		lbVIP, err = netip.ParseAddr(s.Status.LoadBalancer.Ingress[0].IP)
		return err == nil, fmt.Sprint(err)
	})
	pool := netip.MustParsePrefix(w.env["KIND_VIPS"])
	if !pool.Contains(lbVIP) {
		t.Fatalf("VIP %s is not in the kind pool %s", lbVIP, pool)
	}
	took := waitFor(t, time.Minute, "an answer from "+lbVIP.String()+":80 on the host", func(context.Context) (bool, string) {
		who, err := ask(lbVIP)
		return err == nil, fmt.Sprint(err, who)
	})
	holder := leaseHolder(t, lbVIP)
	t.Logf("VIP %s answered from the host %s after the Service got it; announced by %s", lbVIP, took.Round(100*time.Millisecond), holder)
	if holder == w.cp {
		t.Fatalf("the control-plane node announces %s although the pool does not set announceFromControlPlane", lbVIP)
	}
}

// ask connects to vip:80 and returns the name of the Pod that answered.
func ask(vip netip.Addr) (string, error) {
	c, err := net.DialTimeout("tcp", netip.AddrPortFrom(vip, 80).String(), time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return "", err
	}
	if who := strings.TrimSpace(line); strings.HasPrefix(who, "echo-") {
		return who, nil
	}
	return "", fmt.Errorf("unexpected answer %q", line)
}

// leaseHolder is the node whose vsphere-node holds the VIP's Lease.
func leaseHolder(t *testing.T, vip netip.Addr) string {
	t.Helper()
	var l *coordinationv1.Lease
	waitFor(t, 30*time.Second, "a holder of the Lease for "+vip.String(), func(ctx context.Context) (bool, string) {
		var err error
		l, err = w.kube.CoordinationV1().Leases(leaseNamespace).Get(ctx, loadbalancer.LeaseName(vip), metav1.GetOptions{})
		return err == nil && loadbalancer.LeaseHolder(l, time.Now()) != "", fmt.Sprint(err)
	})
	return loadbalancer.LeaseHolder(l, time.Now())
}

// testVIPFailover: the node announcing the VIP dies (its container is killed: no goodbye,
// as when a VM or its host fails); the other worker's vsphere-node takes the Lease when it
// expires and announces the VIP, and the host reaches the Service again.
// BENCH kind_vip_failover_seconds is the time from the kill to the first answer.
func testVIPFailover(t *testing.T) {
	if !lbVIP.IsValid() {
		t.Skip("needs LoadBalancerFromHost")
	}
	t.Cleanup(func() {
		_ = w.kube.CoreV1().Namespaces().Delete(context.Background(), lbNamespace, metav1.DeleteOptions{})
	})
	victim := leaseHolder(t, lbVIP)
	if _, err := docker("kill", victim); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	// The node comes back for whoever uses this cluster next (hack/kind/test.sh recreates it).
	t.Cleanup(func() { _, _ = docker("start", victim) })
	deadline := killed.Add(time.Minute)
	for {
		if _, err := ask(lbVIP); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no answer from %s within a minute of killing %s", lbVIP, victim)
		}
		time.Sleep(100 * time.Millisecond)
	}
	failover := time.Since(killed)
	now := leaseHolder(t, lbVIP)
	if now == victim || now == w.cp {
		t.Fatalf("the VIP's Lease is held by %s after killing %s", now, victim)
	}
	t.Logf("VIP %s moved from %s to %s", lbVIP, victim, now)
	fmt.Printf("BENCH kind_vip_failover_seconds %.1f s\n", failover.Seconds())
}
