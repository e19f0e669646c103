package lbcontroller

import (
	"context"
	"errors"
	"testing"

	"k8s.io/component-base/metrics/testutil"
	"k8s.io/klog/v2"
)

// TestWorkerRetriesFailures: a key whose reconcile fails is queued again with back-off
// and counted as an error; one that succeeds is forgotten and counted as ok.
func TestWorkerRetriesFailures(t *testing.T) {
	RegisterMetrics() // component-base metrics count nothing before they are registered
	for _, tc := range []struct {
		name        string
		err         error
		wantRetries int
		result      string
	}{
		{name: "success", result: "ok"},
		{name: "failure", err: errors.New("conflict"), wantRetries: 1, result: "error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := newQueue("test-" + tc.name)
			defer q.ShutDown()
			const kind = "test"
			before, _ := testutil.GetCounterMetricValue(syncsTotal.WithLabelValues(kind, tc.result))
			var got string
			w := worker{queue: q, kind: kind,
				logger:    func(log klog.Logger, key string) klog.Logger { return log.WithValues("service", refOf(key)) },
				reconcile: func(_ context.Context, key string) error { got = key; return tc.err },
			}
			q.Add("default/web")
			if !processNext(context.Background(), w) {
				t.Fatal("the queue was shut down")
			}
			if got != "default/web" {
				t.Fatalf("reconciled %q, want default/web", got)
			}
			if n := q.NumRequeues("default/web"); n != tc.wantRetries {
				t.Errorf("%d retries, want %d", n, tc.wantRetries)
			}
			after, _ := testutil.GetCounterMetricValue(syncsTotal.WithLabelValues(kind, tc.result))
			if after != before+1 {
				t.Errorf("syncs{kind=%s,result=%s} went from %v to %v, want one more", kind, tc.result, before, after)
			}
		})
	}
}
