package csicontroller

import (
	"context"
	"sync"
	"time"

	"github.com/vsphere-cloud/provider/pkg/vsphere"
)

type opKind int

const (
	opAttach opKind = iota
	opDetach
)

// batchTimeout bounds one reconfigure batch; it outlives the request that started it, so
// that a sidecar's timeout never cuts a vCenter task short.
const batchTimeout = 5 * time.Minute

type request struct {
	op   opKind
	disk string
	done chan vsphere.DiskResult
}

type vmQueue struct {
	vm      vsphere.VM
	pending []*request
}

// batcher serializes attach and detach work per VM and gives every request that waited
// for the same VM, and wants the same operation, one reconfigure task: ten pods landing
// on a node cost one task, not ten.
type batcher struct {
	attachments Attachments
	mu          sync.Mutex
	queues      map[string]*vmQueue // by vCenter/ref; present while a drain runs
	// batches counts reconfigure batches (for tests and metrics).
	batches int
}

func newBatcher(a Attachments) *batcher {
	return &batcher{attachments: a, queues: map[string]*vmQueue{}}
}

// do queues one operation and waits for its result or ctx. A request abandoned by its
// caller still completes; the caller's retry then finds the work done.
func (b *batcher) do(ctx context.Context, vm vsphere.VM, op opKind, disk string) (vsphere.DiskResult, error) {
	r := &request{op: op, disk: disk, done: make(chan vsphere.DiskResult, 1)}
	key := vm.VCenter + "/" + vm.Ref
	b.mu.Lock()
	q, running := b.queues[key]
	if !running {
		q = &vmQueue{vm: vm}
		b.queues[key] = q
	}
	q.pending = append(q.pending, r)
	b.mu.Unlock()
	if !running {
		go b.drain(klogContext(ctx), key, q)
	}
	select {
	case res := <-r.done:
		return res, nil
	case <-ctx.Done():
		return vsphere.DiskResult{}, ctx.Err()
	}
}

// drain runs batches for one VM until its queue is empty. Each batch takes the longest
// run of queued requests with the same operation, so the order of an attach and a detach
// of one disk is kept.
func (b *batcher) drain(parent context.Context, key string, q *vmQueue) {
	for {
		b.mu.Lock()
		if len(q.pending) == 0 {
			delete(b.queues, key)
			b.mu.Unlock()
			return
		}
		n := 1
		for n < len(q.pending) && q.pending[n].op == q.pending[0].op {
			n++
		}
		batch := q.pending[:n:n]
		q.pending = q.pending[n:]
		b.batches++
		b.mu.Unlock()
		b.run(parent, q.vm, batch)
	}
}

func (b *batcher) run(parent context.Context, vm vsphere.VM, batch []*request) {
	ctx, cancel := context.WithTimeout(parent, batchTimeout)
	defer cancel()
	ids := make([]string, 0, len(batch))
	seen := map[string]bool{}
	for _, r := range batch {
		if !seen[r.disk] {
			ids = append(ids, r.disk)
			seen[r.disk] = true
		}
	}
	var results map[string]vsphere.DiskResult
	var err error
	if batch[0].op == opAttach {
		results, err = b.attachments.AttachDisks(ctx, vm, ids)
	} else {
		results, err = b.attachments.DetachDisks(ctx, vm, ids)
	}
	for _, r := range batch {
		res, ok := results[r.disk]
		if err != nil {
			res = vsphere.DiskResult{Err: err}
		} else if !ok {
			res = vsphere.DiskResult{Err: vsphere.ErrUnavailable}
		}
		r.done <- res
	}
}

// klogContext keeps the logger of ctx but not its cancellation or deadline.
func klogContext(ctx context.Context) context.Context { return context.WithoutCancel(ctx) }
