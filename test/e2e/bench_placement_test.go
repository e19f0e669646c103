package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/vim25/types"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"

	"github.com/vsphere-cloud/provider/api/v1alpha1"
	"github.com/vsphere-cloud/provider/test/framework"
)

// TestBenchPlacement runs 1,000 Nodes with NodeVMs, agents on a few of them, and moves
// those VMs between hosts: seconds from the vMotion to the Node's label, Kubernetes
// writes per vMotion, vCenter requests per vMotion beyond the update stream, and the
// agents' peak RSS.
func TestBenchPlacement(t *testing.T) {
	benchEnabled(t)
	ctx := context.Background()
	n := envInt("BENCH_NODES", 1000)
	agents := envInt("BENCH_AGENTS", 10)
	moves := envInt("BENCH_VMOTIONS", 100)
	// Default timings: the periodic resync (10m) is not part of the vMotion path.
	e := startBenchEnv(t, "bench-placement", n, "10m")
	e.registerAll(t, n)
	dyn := dynamic.NewForConfigOrDie(e.cp.Config)
	nodeVMs := dyn.Resource(nodeVMResource)
	if !framework.WaitFor(3*time.Minute, 200*time.Millisecond, func() bool {
		l, err := nodeVMs.List(ctx, metav1.ListOptions{ResourceVersion: "0"})
		return err == nil && len(l.Items) == n
	}) {
		t.Fatalf("not all %d NodeVMs were created:\n%s", n, e.ccm.Tail(3000))
	}
	var procs []*framework.Process
	for i := 0; i < agents; i++ {
		name := benchName(i)
		gdir := filepath.Join(e.dir, "guest-"+name)
		if err := framework.GuestFixture(gdir, framework.TestUUID(name), true, true); err != nil {
			t.Fatal(err)
		}
		p, err := framework.StartNodeAgent(e.cp, name, gdir, "--guest-check-period=1m", "--v=0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(p.Stop)
		procs = append(procs, p)
	}
	for i := 0; i < agents; i++ {
		if !framework.WaitFor(time.Minute, 100*time.Millisecond, func() bool {
			nd, err := e.cp.Client.CoreV1().Nodes().Get(ctx, benchName(i), metav1.GetOptions{})
			return err == nil && nd.Labels[v1alpha1.LabelNodeHost] != ""
		}) {
			t.Fatalf("agent of %s never labelled its Node:\n%s", benchName(i), procs[i].Tail(2000))
		}
	}
	time.Sleep(2 * time.Second)

	// Count writes to the moved Nodes and NodeVMs through watches.
	var mu sync.Mutex
	writes := map[string]int{}
	watchCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	countEvents := func(kind string, w watch.Interface, err error) {
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			defer w.Stop()
			for {
				select {
				case <-watchCtx.Done():
					return
				case ev, ok := <-w.ResultChan():
					if !ok {
						return
					}
					if ev.Type == watch.Modified {
						mu.Lock()
						writes[kind]++
						mu.Unlock()
					}
				}
			}
		}()
	}
	lo := metav1.ListOptions{}
	nw, err := e.cp.Client.CoreV1().Nodes().Watch(watchCtx, lo)
	countEvents("node", nw, err)
	vw, err := nodeVMs.Watch(watchCtx, lo)
	countEvents("nodevm", vw, err)

	admin, err := e.sim.Client(ctx)
	if err != nil {
		t.Fatal(err)
	}
	finder := find.NewFinder(admin)
	e.proxy.Reset()
	var lat []time.Duration
	for m := 0; m < moves; m++ {
		name := benchName(m % agents)
		nd, err := e.cp.Client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		from := nd.Labels[v1alpha1.LabelNodeHost]
		cluster := nd.Labels[v1alpha1.LabelNodeCluster]
		to := fmt.Sprintf("%s_H%d", cluster, (m/agents+1+int(from[len(from)-1]-'0'))%8)
		if to == from {
			to = fmt.Sprintf("%s_H%d", cluster, (int(from[len(from)-1]-'0')+1)%8)
		}
		vm, err := finder.VirtualMachine(ctx, "/DC0/vm/"+name)
		if err != nil {
			t.Fatal(err)
		}
		host, err := finder.HostSystem(ctx, "/DC0/host/"+cluster+"/"+to)
		if err != nil {
			t.Fatal(err)
		}
		ref := host.Reference()
		start := time.Now()
		task, err := vm.Relocate(ctx, types.VirtualMachineRelocateSpec{Host: &ref}, types.VirtualMachineMovePriorityHighPriority)
		if err != nil {
			t.Fatal(err)
		}
		if err := task.Wait(ctx); err != nil {
			t.Fatal(err)
		}
		if !framework.WaitFor(30*time.Second, 5*time.Millisecond, func() bool {
			nd, err := e.cp.Client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
			return err == nil && nd.Labels[v1alpha1.LabelNodeHost] == to
		}) {
			t.Fatalf("vMotion %d of %s to %s never reached the label", m, name, to)
		}
		lat = append(lat, time.Since(start))
	}
	time.Sleep(2 * time.Second) // trailing writes, if any
	cancel()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	p := func(q float64) time.Duration { return lat[int(q*float64(len(lat)-1))] }
	mu.Lock()
	nodeWrites, nvmWrites := writes["node"], writes["nodevm"]
	mu.Unlock()
	extra := e.proxy.Total() - e.proxy.Count("SOAP WaitForUpdatesEx")
	t.Logf("vCenter requests during %d vMotions:\n%s", moves, e.proxy.Summary())
	bench("vmotion_to_label_p50_seconds", p(0.5).Seconds(), "s")
	bench("vmotion_to_label_p99_seconds", p(0.99).Seconds(), "s")
	bench("vmotion_nodevm_writes_per_vmotion", float64(nvmWrites)/float64(moves), "writes")
	bench("vmotion_node_writes_per_vmotion", float64(nodeWrites)/float64(moves), "writes")
	bench("vmotion_vcenter_requests_beyond_stream_per_vmotion", float64(extra)/float64(moves), "requests")
	var peak, anon, file int64
	for _, a := range procs {
		rss, err := a.PeakRSSBytes()
		if err != nil {
			t.Fatal(err)
		}
		if rss > peak {
			// What the peak agent holds now: its heap and stacks, and its binary's pages.
			peak = rss
			anon, _ = a.StatusBytes("RssAnon")
			file, _ = a.StatusBytes("RssFile")
		}
	}
	bench("vsphere_node_peak_rss", float64(peak)/(1<<20), "MiB")
	bench("vsphere_node_rss_anon", float64(anon)/(1<<20), "MiB")
	bench("vsphere_node_rss_file", float64(file)/(1<<20), "MiB")
	ccmRSS, err := e.ccm.PeakRSSBytes()
	if err == nil {
		bench("cloud_controller_peak_rss_with_placement", float64(ccmRSS)/(1<<20), "MiB")
	}
}
