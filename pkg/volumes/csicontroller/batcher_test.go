package csicontroller

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/vsphere-cloud/provider/pkg/vsphere"
)

// fakeAttacher records each batch; the first attach batch blocks until released, so that
// requests arriving meanwhile queue up behind it.
type fakeAttacher struct {
	fakeVCenter
	mu      sync.Mutex
	batches [][]string
	ops     []string
	release chan struct{}
	entered chan struct{}
}

func (f *fakeAttacher) record(op string, ids []string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.batches = append(f.batches, append([]string(nil), ids...))
	f.ops = append(f.ops, op)
	return len(f.batches)
}

func (f *fakeAttacher) AttachDisks(_ context.Context, _ vsphere.VM, ids []string) (map[string]vsphere.DiskResult, error) {
	if f.record("attach", ids) == 1 {
		close(f.entered)
		<-f.release
	}
	out := map[string]vsphere.DiskResult{}
	for _, id := range ids {
		out[id] = vsphere.DiskResult{DiskUUID: "uuid-" + id}
	}
	return out, nil
}

func (f *fakeAttacher) DetachDisks(_ context.Context, _ vsphere.VM, ids []string) (map[string]vsphere.DiskResult, error) {
	f.record("detach", ids)
	out := map[string]vsphere.DiskResult{}
	for _, id := range ids {
		out[id] = vsphere.DiskResult{}
	}
	return out, nil
}

func TestBatcherSharesOneTaskPerVM(t *testing.T) {
	f := &fakeAttacher{release: make(chan struct{}), entered: make(chan struct{})}
	b := newBatcher(f)
	vm := vsphere.VM{VCenter: "vc", Ref: "vm-1"}
	ctx := context.Background()

	first := make(chan vsphere.DiskResult, 1)
	go func() { r, _ := b.do(ctx, vm, opAttach, "d0"); first <- r }()
	<-f.entered
	// Ten attaches, then a detach of d1, wait behind the first task.
	var wg sync.WaitGroup
	results := make([]vsphere.DiskResult, 10)
	for i := range 10 {
		wg.Add(1)
		go func() { defer wg.Done(); results[i], _ = b.do(ctx, vm, opAttach, fmt.Sprintf("d%d", i+1)) }()
	}
	waitQueued(t, b, vm, 10)
	wg.Add(1)
	go func() { defer wg.Done(); _, _ = b.do(ctx, vm, opDetach, "d1") }()
	waitQueued(t, b, vm, 11)
	close(f.release)
	wg.Wait()
	if r := <-first; r.DiskUUID != "uuid-d0" {
		t.Errorf("first attach = %+v", r)
	}
	for i, r := range results {
		if want := fmt.Sprintf("uuid-d%d", i+1); r.DiskUUID != want || r.Err != nil {
			t.Errorf("attach d%d = %+v, want %s", i+1, r, want)
		}
	}
	if len(f.batches) != 3 || len(f.batches[1]) != 10 || f.ops[1] != "attach" || f.ops[2] != "detach" {
		t.Fatalf("batches %v (%v), want [d0], then the ten attaches in one task, then the detach", f.batches, f.ops)
	}
}

func waitQueued(t *testing.T, b *batcher, vm vsphere.VM, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		b.mu.Lock()
		q := b.queues[vm.VCenter+"/"+vm.Ref]
		got := 0
		if q != nil {
			got = len(q.pending)
		}
		b.mu.Unlock()
		if got == n {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("%d requests never queued", n)
}

func TestBatcherAbandonedRequestStillCompletes(t *testing.T) {
	f := &fakeAttacher{release: make(chan struct{}), entered: make(chan struct{})}
	b := newBatcher(f)
	vm := vsphere.VM{VCenter: "vc", Ref: "vm-1"}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { _, err := b.do(ctx, vm, opAttach, "d0"); done <- err }()
	<-f.entered
	cancel()
	if err := <-done; err == nil {
		t.Fatal("a cancelled caller got no error")
	}
	close(f.release)
	// The task finished for the caller's retry to find: the queue drains.
	waitQueued(t, b, vm, 0)
}
