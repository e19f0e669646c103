package e2e

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"

	"github.com/vsphere-cloud/provider/api/v1alpha1"
	"github.com/vsphere-cloud/provider/pkg/loadbalancer"
	"github.com/vsphere-cloud/provider/pkg/vsphere/config"
	"github.com/vsphere-cloud/provider/test/framework"
)

// TestBenchVIPSteadyState holds 200 VIPs (BENCH_VIPS) steady and measures, over a
// window of BENCH_VIP_STEADY_SECONDS (60), the Kubernetes API writes per second (from
// kube-apiserver's apiserver_request_total, all clients) and cloud-controller's VIP
// syncs per second (vsphere_cloud_vip_syncs_total). The Leases are renewed by an
// in-test renewer that behaves like vsphere-node's agent (one Lease per VIP, renewed
// every 500 ms with a 2 s duration, holders spread over the three nodes): 200 agents'
// worth of addresses in network namespaces would measure the host's ARP, not the
// controller. Renewals that change nothing must make no controller work, so the syncs
// figure is expected to be 0 and the writes figure to be the renewals alone.
func TestBenchVIPSteadyState(t *testing.T) {
	benchEnabled(t)
	ctx := context.Background()
	n := envInt("BENCH_VIPS", 200)
	window := time.Duration(envInt("BENCH_VIP_STEADY_SECONDS", 60)) * time.Second
	metricsPort, err := framework.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	w := startLBWorldWith(t, "bench-vip", "--v=1", "--kube-api-qps=200", "--kube-api-burst=400",
		"--secure-port="+strconv.Itoa(metricsPort), "--bind-address=127.0.0.1")
	cfg, err := config.Load([]byte(w.conf))
	if err != nil {
		t.Fatal(err)
	}
	leaseNS := cfg.LoadBalancer.LeaseNamespace
	if _, err := w.cp.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: leaseNS}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	w.pool(t, "bench", "10.77.16.0/20")
	fast := rest.CopyConfig(w.cp.Config)
	fast.QPS, fast.Burst = 2000, 4000
	kube := kubernetes.NewForConfigOrDie(fast)
	for i := range n {
		s := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("vip-%03d", i), Namespace: "default"},
			Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, LoadBalancerClass: ptr.To(v1alpha1.ServiceClassVIP),
				Selector: map[string]string{"app": "bench"}, Ports: []corev1.ServicePort{{Port: 80, Protocol: corev1.ProtocolTCP}}}}
		if _, err := kube.CoreV1().Services("default").Create(ctx, s, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	var vips []netip.Addr
	if !framework.WaitFor(3*time.Minute, time.Second, func() bool {
		l, err := kube.CoreV1().Services("default").List(ctx, metav1.ListOptions{})
		if err != nil {
			return false
		}
		vips = vips[:0]
		for i := range l.Items {
			vips = append(vips, loadbalancer.IngressIPs(&l.Items[i])...)
		}
		return len(vips) == n
	}) {
		t.Fatalf("%d of %d Services got an address:\n%s", len(vips), n, w.ccm.Tail(3000))
	}

	renewCtx, stop := context.WithCancel(ctx)
	defer stop()
	var renewals, failures atomic.Int64
	var wg sync.WaitGroup
	for i, ip := range vips {
		wg.Add(1)
		go func() {
			defer wg.Done()
			renewLease(renewCtx, kube, leaseNS, ip, w.nodes[i%len(w.nodes)], &renewals, &failures)
		}()
	}
	defer wg.Wait()
	if !framework.WaitFor(3*time.Minute, time.Second, func() bool {
		l, err := kube.CoreV1().Services("default").List(ctx, metav1.ListOptions{})
		if err != nil {
			return false
		}
		announced := 0
		for i := range l.Items {
			if c := condition(&l.Items[i], v1alpha1.ServiceConditionAnnounced); c != nil && c.Status == metav1.ConditionTrue && strings.Contains(c.Message, "on ESXi host ") {
				announced++
			}
		}
		return announced == n
	}) {
		t.Fatalf("not every Service is Announced with its ESXi host:\n%s", w.ccm.Tail(3000))
	}
	time.Sleep(5 * time.Second) // trailing writes of the last conditions, if any

	apiHC, err := w.cp.AdminHTTPClient()
	if err != nil {
		t.Fatal(err)
	}
	ccmURL := fmt.Sprintf("https://127.0.0.1:%d/metrics", metricsPort)
	// cloud-controller serves /metrics with the self-signed certificate it made at start
	// (startLBWorldWith gives it none): the admin's client certificate still authenticates
	// the scrape; only this local endpoint's certificate is not verified.
	ccmHC := &http.Client{Timeout: apiHC.Timeout, Transport: apiHC.Transport.(*http.Transport).Clone()}
	ccmHC.Transport.(*http.Transport).TLSClientConfig.InsecureSkipVerify = true
	writes0 := apiRequests(t, apiHC, w.cp.Config.Host+"/metrics")
	syncs0 := counterSum(t, ccmHC, ccmURL, "vsphere_cloud_vip_syncs_total")
	renewals0, failures0 := renewals.Load(), failures.Load()
	start := time.Now()
	time.Sleep(window)
	writes1 := apiRequests(t, apiHC, w.cp.Config.Host+"/metrics")
	syncs1 := counterSum(t, ccmHC, ccmURL, "vsphere_cloud_vip_syncs_total")
	secs := time.Since(start).Seconds()
	stop()

	delta := map[string]float64{}
	for k, v := range writes1 {
		if d := v - writes0[k]; d > 0 {
			delta[k] = d
		}
	}
	var allWrites, leaseWrites, reads float64
	for k, d := range delta {
		verb, resource, _ := strings.Cut(k, " ")
		switch verb {
		case "POST", "PUT", "PATCH", "DELETE", "APPLY":
			allWrites += d
			if resource == "leases" {
				leaseWrites += d
			}
		case "GET", "LIST":
			reads += d
		}
	}
	t.Logf("API requests in %.0f s with %d VIPs held (verb resource: count): %v", secs, n, delta)
	t.Logf("renewer: %d renewals, %d failed", renewals.Load()-renewals0, failures.Load()-failures0)
	bench("vip_api_writes_per_second", allWrites/secs, "writes/s")
	bench("vip_api_writes_per_second_beyond_lease_renewals", (allWrites-leaseWrites)/secs, "writes/s")
	bench("vip_api_reads_per_second", reads/secs, "requests/s")
	bench("vip_controller_syncs_per_second", (syncs1-syncs0)/secs, "syncs/s")
	if w.ccm.Exited() {
		t.Fatal("cloud-controller exited")
	}
}

// renewLease holds ip's Lease for holder as vsphere-node's agent does: created with the
// VIP label, then renewed every 500 ms with a 2 s duration, until ctx ends.
func renewLease(ctx context.Context, kube kubernetes.Interface, ns string, ip netip.Addr, holder string, renewals, failures *atomic.Int64) {
	leases := kube.CoordinationV1().Leases(ns)
	now := metav1.NewMicroTime(time.Now())
	l, err := leases.Create(ctx, &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Name: loadbalancer.LeaseName(ip), Labels: map[string]string{v1alpha1.LabelLeaseVIP: loadbalancer.LeaseLabelValue(ip)}},
		Spec:       coordinationv1.LeaseSpec{HolderIdentity: ptr.To(holder), LeaseDurationSeconds: ptr.To[int32](2), AcquireTime: &now, RenewTime: &now},
	}, metav1.CreateOptions{})
	if err != nil {
		failures.Add(1)
		return
	}
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case at := <-t.C:
			l.Spec.RenewTime = ptr.To(metav1.NewMicroTime(at))
			next, err := leases.Update(ctx, l, metav1.UpdateOptions{})
			if err != nil {
				if ctx.Err() == nil {
					failures.Add(1)
				}
				if cur, err := leases.Get(ctx, l.Name, metav1.GetOptions{}); err == nil {
					l = cur
				}
				continue
			}
			renewals.Add(1)
			l = next
		}
	}
}

// scrape returns the lines of a Prometheus text endpoint.
func scrape(t *testing.T, hc *http.Client, url string) []string {
	t.Helper()
	res, err := hc.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(res.Body)
		t.Fatalf("GET %s: %s %s", url, res.Status, b)
	}
	var lines []string
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	return lines
}

// apiRequests sums kube-apiserver's apiserver_request_total by "verb resource".
func apiRequests(t *testing.T, hc *http.Client, url string) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	for _, line := range scrape(t, hc, url) {
		if !strings.HasPrefix(line, "apiserver_request_total{") {
			continue
		}
		v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
		if err != nil {
			continue
		}
		out[label(line, "verb")+" "+label(line, "resource")] += v
	}
	return out
}

// counterSum sums every series of a counter.
func counterSum(t *testing.T, hc *http.Client, url, name string) float64 {
	t.Helper()
	var sum float64
	found := false
	for _, line := range scrape(t, hc, url) {
		if strings.HasPrefix(line, name+"{") || strings.HasPrefix(line, name+" ") {
			if v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64); err == nil {
				sum += v
				found = true
			}
		}
	}
	if !found {
		t.Fatalf("%s serves no %s", url, name)
	}
	return sum
}

func label(line, name string) string {
	_, rest, ok := strings.Cut(line, name+`="`)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(rest, `"`)
	return v
}
