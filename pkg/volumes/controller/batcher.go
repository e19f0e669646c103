package controller

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
	done chan vsphere.Attachment
}

type vmQueue struct {
	vm      vsphere.VM
	pending []*request
}

// batcher serializes attach and detach work per VM and gives every request that waited
// for the same VM, and wants the same operation, one reconfigure task: ten pods landing
// on a node cost one task, not ten.
type batcher struct {
	backend Backend
	mu      sync.Mutex
	queues  map[string]*vmQueue // by vCenter/ref; present while a drain runs
	// batches counts reconfigure batches (for tests and metrics).
	batches int
}

func newBatcher(b Backend) *batcher { return &batcher{backend: b, queues: map[string]*vmQueue{}} }

// do queues one operation and waits for its result or ctx. A request abandoned by its
// caller still completes; the caller's retry then finds the work done.
func (b *batcher) do(ctx context.Context, vm vsphere.VM, op opKind, disk string) (vsphere.Attachment, error) {
	r := &request{op: op, disk: disk, done: make(chan vsphere.Attachment, 1)}
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
		return vsphere.Attachment{}, ctx.Err()
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
	results := map[string]vsphere.Attachment{}
	var err error
	if batch[0].op == opAttach {
		results, err = b.backend.AttachDisks(ctx, vm, ids)
	} else {
		var errs map[string]error
		errs, err = b.backend.DetachDisks(ctx, vm, ids)
		for id, e := range errs {
			results[id] = vsphere.Attachment{Err: e}
		}
	}
	for _, r := range batch {
		res, ok := results[r.disk]
		if err != nil {
			res = vsphere.Attachment{Err: err}
		} else if !ok {
			res = vsphere.Attachment{Err: vsphere.ErrUnavailable}
		}
		r.done <- res
	}
}

// klogContext keeps the logger of ctx but not its cancellation or deadline.
func klogContext(ctx context.Context) context.Context { return context.WithoutCancel(ctx) }
