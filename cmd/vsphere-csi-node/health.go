package main

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"k8s.io/component-base/metrics/legacyregistry"
	"k8s.io/klog/v2"

	"github.com/vsphere-cloud/provider/pkg/volumes"
)

// healthHandler answers /healthz the way the livenessprobe sidecar does for kubelet's liveness
// probe: the CSI socket answers Probe as ready, and, when the driver registers itself, the
// registration socket exists and kubelet has not refused the driver. It serves the CSI
// metrics (vsphere_cloud_csi_operation_duration_seconds by method and code) on /metrics.
func healthHandler(endpoint string, registration func() error) http.Handler {
	mux := http.NewServeMux()
	volumes.RegisterMetrics()
	mux.Handle("/metrics", legacyregistry.Handler())
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		defer cancel()
		if err := probe(ctx, endpoint); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		if registration != nil {
			if err := registration(); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
		}
		_, _ = w.Write([]byte("ok"))
	})
	return mux
}

// probe calls the CSI Identity Probe on the driver's own socket.
func probe(ctx context.Context, endpoint string) error {
	conn, err := grpc.NewClient(endpoint, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return fmt.Errorf("csi socket %s: %w", endpoint, err)
	}
	defer conn.Close()
	resp, err := csi.NewIdentityClient(conn).Probe(ctx, &csi.ProbeRequest{})
	if err != nil {
		return fmt.Errorf("csi Probe: %w", err)
	}
	if r := resp.GetReady(); r != nil && !r.GetValue() {
		return fmt.Errorf("csi Probe: not ready")
	}
	return nil
}

// serveHealth serves h on addr until ctx ends.
func serveHealth(ctx context.Context, addr string, h http.Handler) {
	srv := &http.Server{Addr: addr, Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	klog.FromContext(ctx).Info("Serving health", "address", addr)
	if err := srv.ListenAndServe(); err != nil && ctx.Err() == nil {
		klog.FromContext(ctx).Error(err, "Health endpoint stopped", "address", addr)
	}
}
