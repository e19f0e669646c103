package volumes

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc"
	"google.golang.org/grpc/status"
	"k8s.io/klog/v2"
)

// Serve serves the given CSI services on endpoint (unix:///path or a plain path) until
// ctx ends. A stale socket file is replaced. Interceptors run after logging.
func Serve(ctx context.Context, endpoint string, register func(*grpc.Server), interceptors ...grpc.UnaryServerInterceptor) error {
	path, err := socketPath(endpoint)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return fmt.Errorf("csi endpoint %s: %w", endpoint, err)
	}
	if err := os.Remove(path); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("csi endpoint %s: removing stale socket: %w", endpoint, err)
	}
	lis, err := (&net.ListenConfig{}).Listen(ctx, "unix", path)
	if err != nil {
		return fmt.Errorf("csi endpoint %s: %w", endpoint, err)
	}
	srv := grpc.NewServer(grpc.ChainUnaryInterceptor(append([]grpc.UnaryServerInterceptor{logCalls(klog.FromContext(ctx))}, interceptors...)...))
	register(srv)
	go func() {
		<-ctx.Done()
		srv.GracefulStop()
	}()
	klog.FromContext(ctx).Info("Serving CSI", "endpoint", path)
	return srv.Serve(lis)
}

// Register adds the identity service and whichever of controller and node are non-nil.
func Register(srv *grpc.Server, id *Identity, ctrl csi.ControllerServer, node csi.NodeServer) {
	csi.RegisterIdentityServer(srv, id)
	if ctrl != nil {
		csi.RegisterControllerServer(srv, ctrl)
	}
	if node != nil {
		csi.RegisterNodeServer(srv, node)
	}
}

func socketPath(endpoint string) (string, error) {
	if endpoint == "" {
		return "", fmt.Errorf("csi endpoint is empty")
	}
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "unix" && u.Scheme != "") {
		return "", fmt.Errorf("csi endpoint %q: want unix:///path/to/csi.sock", endpoint)
	}
	if u.Scheme == "" {
		return endpoint, nil
	}
	return u.Path, nil
}

// logCalls logs every call with its duration and result; requests are logged at V(4)
// (they carry no secrets: this driver takes none).
func logCalls(log klog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		start := time.Now()
		l := log.WithValues("method", info.FullMethod)
		ctx = klog.NewContext(ctx, l)
		l.V(4).Info("CSI call", "request", req)
		res, err := handler(ctx, req)
		if err != nil {
			l.Info("CSI call failed", "code", status.Code(err).String(), "err", err, "duration", time.Since(start))
		} else {
			l.V(3).Info("CSI call done", "duration", time.Since(start))
		}
		observeCall(info.FullMethod, err, start)
		return res, err
	}
}
