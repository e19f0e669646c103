package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"k8s.io/klog/v2"

	"github.com/vsphere-cloud/provider/pkg/volumes"
)

// The CSI metrics the node service records are served: /metrics shows a call the driver
// answered, and /healthz answers while the socket answers Probe.
func TestHealthServesMetricsOfCalls(t *testing.T) {
	ctx, cancel := context.WithCancel(klog.NewContext(context.Background(), klog.Background()))
	defer cancel()
	endpoint := "unix://" + filepath.Join(t.TempDir(), "csi.sock")
	id := &volumes.Identity{Ready: func() bool { return true }}
	go func() {
		_ = volumes.Serve(ctx, endpoint, func(s *grpc.Server) { volumes.Register(s, id, nil, nil) })
	}()
	srv := httptest.NewServer(healthHandler(endpoint, nil))
	defer srv.Close()
	get := func(path string) (int, string) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+path, nil)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	var code int
	for range 100 { // the socket comes up asynchronously
		if code, _ = get("/healthz"); code == http.StatusOK {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if code != http.StatusOK {
		t.Fatalf("/healthz = %d", code)
	}
	code, body := get("/metrics")
	if code != http.StatusOK || !strings.Contains(body, `vsphere_cloud_csi_operation_duration_seconds_count{code="OK",method="Probe"}`) {
		t.Fatalf("/metrics = %d without the Probe call's duration:\n%s", code, body)
	}
}
