package e2e

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"
)

// TestBenchVolumes prints the volume figures of `make bench`, with cloud-controller
// behind the counting proxy: BENCH pvc_bound_p50_seconds and pvc_bound_p99_seconds over
// BENCH_CLAIMS (default 100) claims made one after another (target p50 1 s or less), BENCH
// create_vcenter_requests_per_volume (every request cloud-controller sent while they were
// provisioned, over the claims), then 16 of those volumes attached to one VM at once while
// the simulator makes every CNS attach task take 1 s: BENCH attach_16_one_vm_seconds
// (target 3 s or less; one at a time would take 16 s) and BENCH attach_tasks_16_one_vm.
func TestBenchVolumes(t *testing.T) {
	benchEnabled(t)
	n := envInt("BENCH_CLAIMS", 100)
	w := startFaultWorld(t, "bench-volumes", nil)
	ctx := context.Background()

	// One claim at a time: each figure is one claim's latency, not a queue's (a thousand
	// claims at once are the scale benchmark's).
	w.proxy.Reset()
	var times []time.Duration
	for i := range n {
		name := fmt.Sprintf("bench-%d", i)
		start := time.Now()
		w.claim(t, name)
		for w.boundPV(name) == "" {
			if time.Since(start) > time.Minute {
				t.Fatalf("%s not bound within a minute", name)
			}
			time.Sleep(20 * time.Millisecond)
		}
		times = append(times, time.Since(start))
	}
	requests := w.proxy.Total()
	slices.Sort(times)
	p50, p99 := times[len(times)/2], times[min(len(times)-1, len(times)*99/100)]
	bench("pvc_bound_p50_seconds", p50.Seconds(), "s")
	bench("pvc_bound_p99_seconds", p99.Seconds(), "s")
	bench("create_vcenter_requests_per_volume", float64(requests)/float64(n), "requests")
	t.Logf("%d claims: bound p50 %s, p99 %s; %d vCenter requests:\n%s", n, p50, p99, requests, w.proxy.Summary())

	// 16 attaches to one VM at once, each CNS attach task taking 1 s.
	if err := w.sim.SetTaskDelay(ctx, "CnsAttachVolume", time.Second); err != nil {
		t.Fatal(err)
	}
	w.proxy.Reset()
	start := time.Now()
	for i := range 16 {
		w.attachment(t, fmt.Sprintf("bench-va-%d", i), w.boundPV(fmt.Sprintf("bench-%d", i)), "worker-0")
	}
	all := func() bool {
		for i := range 16 {
			if !w.attached(fmt.Sprintf("bench-va-%d", i)) {
				return false
			}
		}
		return true
	}
	for !all() {
		if time.Since(start) > 3*time.Minute {
			t.Fatal("16 attachments not attached within 3 minutes")
		}
		time.Sleep(20 * time.Millisecond)
	}
	took := time.Since(start)
	tasks := w.proxy.Count("SOAP CnsAttachVolume")
	bench("attach_16_one_vm_seconds", took.Seconds(), "s")
	bench("attach_tasks_16_one_vm", float64(tasks), "tasks")
	t.Logf("16 attaches to worker-0 in %s with %d CnsAttachVolume tasks of 1 s each", took.Round(10*time.Millisecond), tasks)
}
