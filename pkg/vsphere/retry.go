package vsphere

import (
	"context"
	"time"

	"k8s.io/klog/v2"
)

// retryForever runs f until ctx ends: again at once after it returns nil, after a backoff
// (1s doubling to 10s, reset after a minute of success) after an error, which it logs.
// The inventory, event and disk watches all run this way.
func retryForever(ctx context.Context, msg string, f func(context.Context) error) {
	log := klog.FromContext(ctx)
	backoff := time.Second
	for ctx.Err() == nil {
		started := time.Now()
		err := f(ctx)
		if ctx.Err() != nil {
			return
		}
		if err == nil || time.Since(started) > time.Minute {
			backoff = time.Second
		}
		if err == nil {
			continue
		}
		log.Error(err, msg, "retryIn", backoff)
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 10*time.Second)
	}
}
