// Package queueworker is the loop of a controller worker over a rate-limited typed queue:
// reconcile each key, retry a failure with back-off, forget a success.
package queueworker

import (
	"context"

	"k8s.io/client-go/util/workqueue"
)

// Run reconciles keys from queue until it shuts down. A key whose reconcile fails is
// reported to failed (to log it) and queued again with back-off.
func Run[K comparable](ctx context.Context, queue workqueue.TypedRateLimitingInterface[K], reconcile func(context.Context, K) error, failed func(context.Context, K, error)) {
	for {
		key, quit := queue.Get()
		if quit {
			return
		}
		if err := reconcile(ctx, key); err != nil {
			failed(ctx, key, err)
			queue.AddRateLimited(key)
		} else {
			queue.Forget(key)
		}
		queue.Done(key)
	}
}
