package queueworker

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"k8s.io/client-go/util/workqueue"
)

// TestRetriesAFailureAndForgetsASuccess: a key that fails comes back; once it succeeds it
// is done.
func TestRetriesAFailureAndForgetsASuccess(t *testing.T) {
	q := workqueue.NewTypedRateLimitingQueue(workqueue.NewTypedItemExponentialFailureRateLimiter[string](time.Millisecond, 10*time.Millisecond))
	var mu sync.Mutex
	calls, failures := 0, 0
	done := make(chan struct{})
	go func() {
		Run(context.Background(), q, func(context.Context, string) error {
			mu.Lock()
			defer mu.Unlock()
			calls++
			if calls < 3 {
				return errors.New("not yet")
			}
			close(done)
			return nil
		}, func(context.Context, string, error) { mu.Lock(); failures++; mu.Unlock() })
	}()
	q.Add("k")
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the failing key was not retried")
	}
	q.ShutDownWithDrain()
	mu.Lock()
	defer mu.Unlock()
	if calls != 3 || failures != 2 || q.NumRequeues("k") != 0 {
		t.Errorf("calls %d, failures %d, requeues %d; want 3, 2, 0", calls, failures, q.NumRequeues("k"))
	}
}
