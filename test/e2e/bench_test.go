package e2e

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"

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
	// profilePort serves cloud-controller's profiles (BENCH_CCM_PROFILE), 0 for none.
	profilePort int
	profiles    *http.Client
}

func benchName(i int) string { return fmt.Sprintf("bench-%04d", i) }

func startBenchEnv(t *testing.T, name string, n int, resync string) *benchEnv {
	ctx := context.Background()
	e := &benchEnv{}
	// BENCH_DATACENTERS datacenters of two clusters each, one zone per cluster and one
	// region per datacenter; the VMs spread over all of them.
	dcs := envInt("BENCH_DATACENTERS", 1)
	inv := &framework.SimInventory{Datacenters: dcs, Clusters: 2, Hosts: 8}
	for i := 0; i < n; i++ {
		dc := i % dcs
		inv.VMs = append(inv.VMs, framework.SimVM{
			Name: benchName(i), Datacenter: fmt.Sprintf("DC%d", dc), Cluster: fmt.Sprintf("DC%d_C%d", dc, (i/dcs)%2),
			UUID: framework.TestUUID(benchName(i)), Hostname: benchName(i),
			IPs: []string{fmt.Sprintf("10.%d.%d.%d", 1+i/65536, (i/256)%256, i%256)},
		})
	}
	for dc := range dcs {
		for cl := range 2 {
			inv.Tags = append(inv.Tags, framework.SimTag{Category: "k8s-zone", Name: fmt.Sprintf("zone-%d-%d", dc, cl), AttachTo: []string{fmt.Sprintf("DC%d_C%d", dc, cl)}})
		}
		inv.Tags = append(inv.Tags, framework.SimTag{Category: "k8s-region", Name: fmt.Sprintf("region-%d", dc), AttachTo: []string{fmt.Sprintf("DC%d", dc)}})
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
	// The memory limit too, as the Pod hands it over (the Go memory limit follows it).
	limit, err := framework.CloudControllerMemoryLimit()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("VSPHERE_CLOUD_MEMORY_LIMIT", strconv.FormatInt(limit, 10))
	pflags, port := profileFlags(t)
	e.profilePort = port
	e.ccm, err = framework.StartCloudController(e.cp, "cloud-controller", conf, append(append(args, "--v=1"), pflags...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.ccm.Stop)
	if os.Getenv("BENCH_REGISTER_EARLY") != "" {
		// Nodes register while cloud-controller is still reading the inventory, as when a
		// cluster and its cloud-controller start together.
		return e
	}
	start := time.Now()
	if !framework.WaitFor(15*time.Minute, 100*time.Millisecond, func() bool { return e.ccm.LogContains("Inventory synced") }) {
		t.Fatalf("cloud-controller never read the inventory:\n%s", e.ccm.Tail(4000))
	}
	t.Logf("cloud-controller read the inventory of %d VMs in %s", n, time.Since(start).Round(100*time.Millisecond))
	t.Logf("vCenter requests to connect and read the inventory:\n%s", e.proxy.Summary())
	return e
}

// registerAll registers n Nodes like kubelets do, each in its own request and without a
// client-side rate limit (every kubelet has its own client), and waits until all are
// initialized: provider ID, no uninitialized taint, and the addresses from vCenter. It
// returns how long the registrations took and how long until all were initialized.
func (e *benchEnv) registerAll(t *testing.T, n int) (registered, initialized time.Duration) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg := rest.CopyConfig(e.cp.Config)
	cfg.QPS, cfg.Burst = -1, 0
	cfg.ContentType = "application/vnd.kubernetes.protobuf"
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	// Initialized Nodes are counted from a watch: listing 10,000 Nodes again and again
	// would load the API server the benchmark measures.
	var done atomic.Int32
	seen := sync.Map{}
	all := make(chan struct{})
	factory := informers.NewSharedInformerFactory(client, 0)
	count := func(obj any) {
		node, ok := obj.(*corev1.Node)
		if !ok || !framework.Initialized(node) || !hasInternalIP(node) {
			return
		}
		if _, loaded := seen.LoadOrStore(node.Name, true); !loaded && int(done.Add(1)) == n {
			close(all)
		}
	}
	_, _ = factory.Core().V1().Nodes().Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: count, UpdateFunc: func(_, obj any) { count(obj) },
	})
	factory.Start(ctx.Done())
	factory.WaitForCacheSync(ctx.Done())

	start := time.Now()
	var failed atomic.Int32
	parallel(n, 100, func(i int) {
		name := benchName(i)
		if err := framework.RegisterNode(ctx, client, name, framework.TestUUID(name)); err != nil {
			failed.Add(1)
			t.Error(err)
		}
	})
	registered = time.Since(start)
	if failed.Load() > 0 {
		t.FailNow()
	}
	select {
	case <-all:
	case <-time.After(15 * time.Minute):
		t.Fatalf("%d of %d nodes initialized in %s:\n%s", done.Load(), n, time.Since(start), e.ccm.Tail(4000))
	}
	return registered, time.Since(start)
}

// cpuSeconds is the CPU time each process of the world has used so far, by name; this
// test process (the kubelets' registrations and the watch) as "test".
func (e *benchEnv) cpuSeconds(t *testing.T) map[string]float64 {
	procs := e.cp.Processes()
	procs["cloud-controller"], procs["vcsim"] = e.ccm, e.sim.Process()
	out := map[string]float64{}
	for name, p := range procs {
		s, err := p.CPUSeconds()
		if err != nil {
			t.Fatal(err)
		}
		out[name] = s
	}
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	out["test"] = time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
	return out
}

// reportCPU logs where the machine's CPU went since before, and prints the API server's
// and cloud-controller's shares: which of them bounds the figure.
func (e *benchEnv) reportCPU(t *testing.T, before map[string]float64, elapsed time.Duration) {
	after := e.cpuSeconds(t)
	names := slices.Sorted(maps.Keys(after))
	var parts []string
	for _, name := range names {
		parts = append(parts, fmt.Sprintf("%s %.1f s", name, after[name]-before[name]))
	}
	t.Logf("CPU used in those %.1f s (%d cores: %.0f CPU-seconds): %s", elapsed.Seconds(), runtime.NumCPU(),
		elapsed.Seconds()*float64(runtime.NumCPU()), strings.Join(parts, ", "))
	bench("node_init_kube_apiserver_cpu_seconds", after["kube-apiserver"]-before["kube-apiserver"], "s")
	bench("node_init_etcd_cpu_seconds", after["etcd"]-before["etcd"], "s")
	bench("node_init_cloud_controller_cpu_seconds", after["cloud-controller"]-before["cloud-controller"], "s")
}

func hasInternalIP(n *corev1.Node) bool {
	for _, a := range n.Status.Addresses {
		if a.Type == corev1.NodeInternalIP {
			return true
		}
	}
	return false
}

// TestBenchNodeInitialization registers 1,000 Nodes among 5,000 VMs (BENCH_NODES,
// BENCH_VMS, BENCH_DATACENTERS; make bench-scale: 10,000 among 50,000 in two) and
// measures initialization time, vCenter requests during initialization, onboarding and
// steady state, and cloud-controller's peak RSS. vCenter requests are counted by a proxy
// in front of the simulator.
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
	cpu := e.cpuSeconds(t)
	e.profileCPU(t, 60*time.Second)
	registered, elapsed := e.registerAll(t, n)
	initRequests := proxy.Total()
	e.reportCPU(t, cpu, elapsed)
	t.Logf("%d Nodes registered in %s, all initialized after %s; vCenter requests during initialization:\n%s",
		n, registered.Round(10*time.Millisecond), elapsed.Round(10*time.Millisecond), proxy.Summary())
	bench("node_init_seconds", elapsed.Seconds(), "s")
	if n%1000 == 0 {
		// make bench-scale: node_init_10k_seconds
		bench(fmt.Sprintf("node_init_%dk_seconds", n/1000), elapsed.Seconds(), "s")
	}
	bench("node_register_seconds", registered.Seconds(), "s")
	bench("node_init_vcenter_requests", float64(initRequests), "requests")

	// After initialization, each node VM is read once for its disk controllers (the volume
	// limit) and marked once (the kubernetes.io/node attribute): onboarding, not steady
	// state. It is counted here, until every VM is marked and vCenter has heard nothing
	// new for 5 s.
	if !framework.WaitFor(15*time.Minute, 100*time.Millisecond, func() bool { return proxy.Count("SOAP SetField") >= n }) {
		t.Fatalf("%d of %d node VMs marked:\n%s", proxy.Count("SOAP SetField"), n, proxy.Summary())
	}
	for last := -1; last != proxy.Total(); {
		last = proxy.Total()
		time.Sleep(5 * time.Second)
	}
	onboarding := proxy.Total()
	t.Logf("vCenter requests from registration to every node VM onboarded:\n%s", proxy.Summary())
	bench("node_onboarding_vcenter_requests_per_node", float64(onboarding)/float64(n), "requests")

	proxy.Reset()
	time.Sleep(steady)
	steadyRequests := proxy.Total()
	t.Logf("vCenter requests in %s of steady state (the manifest's timings):\n%s", steady, proxy.Summary())
	perNodeHour := float64(steadyRequests) / float64(n) / steady.Hours()
	bench("steady_vcenter_requests_per_node_hour", perNodeHour, "requests")
	bench("steady_vcenter_requests_per_hour", float64(steadyRequests)/steady.Hours(), "requests")
	e.profileHeap(t)
	rss, err := ccm.PeakRSSBytes()
	if err != nil {
		t.Fatal(err)
	}
	bench("cloud_controller_peak_rss", float64(rss)/(1<<20), "MiB")
	if ccm.Exited() {
		t.Fatal("cloud-controller exited")
	}
}
