package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vsphere-cloud/provider/test/framework"
)

// bench prints one figure a line, as `make bench` collects them.
func bench(name string, value float64, unit string) {
	fmt.Printf("BENCH %s %.3f %s\n", name, value, unit)
}

func benchEnabled(t *testing.T) {
	if os.Getenv("VSPHERE_CLOUD_BENCH") == "" {
		t.Skip("benchmark: run with `make bench` (VSPHERE_CLOUD_BENCH=1)")
	}
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// benchEnv is a control plane, a simulator with n VMs (bench-0000, ...) behind a
// counting proxy, and cloud-controller pointed at the proxy.
type benchEnv struct {
	dir   string
	cp    *framework.ControlPlane
	sim   *framework.Simulator
	proxy *framework.CountingProxy
	ccm   *framework.Process
}

func benchName(i int) string { return fmt.Sprintf("bench-%04d", i) }

func startBenchEnv(t *testing.T, name string, n int, resync string) *benchEnv {
	ctx := context.Background()
	e := &benchEnv{}
	inv := &framework.SimInventory{Datacenters: 1, Clusters: 2, Hosts: 8}
	for i := 0; i < n; i++ {
		inv.VMs = append(inv.VMs, framework.SimVM{
			Name: benchName(i), Cluster: fmt.Sprintf("DC0_C%d", i%2), UUID: framework.TestUUID(benchName(i)),
			Hostname: benchName(i), IPs: []string{fmt.Sprintf("10.%d.%d.%d", 1+i/65536, (i/256)%256, i%256)},
		})
	}
	inv.Tags = []framework.SimTag{
		{Category: "k8s-zone", Name: "zone-a", AttachTo: []string{"DC0_C0"}},
		{Category: "k8s-zone", Name: "zone-b", AttachTo: []string{"DC0_C1"}},
		{Category: "k8s-region", Name: "region-1", AttachTo: []string{"DC0"}},
	}
	e.dir, e.cp, e.sim = startWorld(t, name, inv)
	proxyDir := filepath.Join(e.dir, "proxy")
	if err := os.MkdirAll(proxyDir, 0o700); err != nil {
		t.Fatal(err)
	}
	var err error
	e.proxy, err = framework.StartCountingProxy(proxyDir, e.sim.URL, e.sim.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.proxy.Close)
	host, port := e.proxy.HostPort()
	if err := framework.EnsureCredentials(ctx, e.cp, host); err != nil {
		t.Fatal(err)
	}
	conf := framework.CloudConfig(host, port, e.proxy.CAFile, "inventory:\n  resyncPeriod: "+resync+"\n")
	// The shipped arguments (controllers, concurrency, API rate), read from the manifest:
	// every figure is what users get.
	args, err := framework.CloudControllerArgs()
	if err != nil {
		t.Fatal(err)
	}
	e.ccm, err = framework.StartCloudController(e.cp, "cloud-controller", conf, append(args, "--v=1")...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.ccm.Stop)
	if os.Getenv("BENCH_REGISTER_EARLY") != "" {
		// Nodes register while cloud-controller is still reading the inventory, as when a
		// cluster and its cloud-controller start together.
		return e
	}
	if !framework.WaitFor(2*time.Minute, 100*time.Millisecond, func() bool { return e.proxy.Count("SOAP WaitForUpdatesEx") >= 1 }) {
		t.Fatalf("cloud-controller never watched the inventory:\n%s", e.ccm.Tail(4000))
	}
	time.Sleep(2 * time.Second) // let the initial inventory read finish
	t.Logf("vCenter requests to connect and read the inventory:\n%s", e.proxy.Summary())
	return e
}

// registerAll registers n Nodes like kubelets do and waits until all are initialized.
func (e *benchEnv) registerAll(t *testing.T, n int) time.Duration {
	ctx := context.Background()
	cp := e.cp
	start := time.Now()
	var wg sync.WaitGroup
	var failed atomic.Int32
	sem := make(chan struct{}, 50)
	for i := 0; i < n; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			name := benchName(i)
			if err := framework.RegisterNode(ctx, cp.Client, name, framework.TestUUID(name)); err != nil {
				failed.Add(1)
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if failed.Load() > 0 {
		t.FailNow()
	}
	var initialized int
	ok := framework.WaitFor(5*time.Minute, 100*time.Millisecond, func() bool {
		list, err := cp.Client.CoreV1().Nodes().List(ctx, metav1.ListOptions{ResourceVersion: "0"})
		if err != nil {
			return false
		}
		initialized = 0
		for i := range list.Items {
			if framework.Initialized(&list.Items[i]) {
				initialized++
			}
		}
		return initialized == n
	})
	elapsed := time.Since(start)
	if !ok {
		t.Fatalf("%d of %d nodes initialized in %s:\n%s", initialized, n, elapsed, e.ccm.Tail(4000))
	}
	return elapsed
}

// TestBenchNodeInitialization registers 1,000 Nodes among 5,000 VMs (BENCH_NODES,
// BENCH_VMS) and measures
// initialization time, vCenter requests during initialization and in steady state, and
// cloud-controller's peak RSS. vCenter requests are counted by a proxy in front of the
// simulator.
func TestBenchNodeInitialization(t *testing.T) {
	benchEnabled(t)
	n := envInt("BENCH_NODES", 1000)
	// Eleven minutes at the default timings hold one full resync (every 10 minutes) and
	// the long-polls in between: the figure is what users get, not an extrapolation.
	steady := time.Duration(envInt("BENCH_STEADY_SECONDS", 660)) * time.Second
	// 5,000 VMs in vCenter, of which n are the cluster's nodes: the inventory holds them all.
	vms := max(n, envInt("BENCH_VMS", 5000))
	e := startBenchEnv(t, "bench-nodes", vms, "10m")
	bench("inventory_vms", float64(vms), "VMs")
	proxy, ccm := e.proxy, e.ccm
	proxy.Reset()
	elapsed := e.registerAll(t, n)
	initRequests := proxy.Total()
	t.Logf("vCenter requests during initialization:\n%s", proxy.Summary())
	bench("node_init_seconds", elapsed.Seconds(), "s")
	bench("node_init_vcenter_requests", float64(initRequests), "requests")

	proxy.Reset()
	time.Sleep(steady)
	steadyRequests := proxy.Total()
	t.Logf("vCenter requests in %s of steady state (the manifest's timings):\n%s", steady, proxy.Summary())
	perNodeHour := float64(steadyRequests) / float64(n) / steady.Hours()
	bench("steady_vcenter_requests_per_node_hour", perNodeHour, "requests")
	bench("steady_vcenter_requests_per_hour", float64(steadyRequests)/steady.Hours(), "requests")
	rss, err := ccm.PeakRSSBytes()
	if err != nil {
		t.Fatal(err)
	}
	bench("cloud_controller_peak_rss", float64(rss)/(1<<20), "MiB")
	if ccm.Exited() {
		t.Fatal("cloud-controller exited")
	}
}
