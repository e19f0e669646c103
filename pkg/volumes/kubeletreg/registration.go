// Package kubeletreg registers a CSI driver with kubelet through kubelet's plugin registration
// API (k8s.io/kubelet/pkg/apis/pluginregistration/v1), as node-driver-registrar does: a socket in
// kubelet's plugins_registry folder answers GetInfo with the driver's name and the path of its
// CSI socket as kubelet sees it, and kubelet reports back whether registration succeeded. With
// it, the CSI node service registers itself and the DaemonSet needs no registrar sidecar.
package kubeletreg

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"

	"google.golang.org/grpc"
	"k8s.io/klog/v2"
	registerapi "k8s.io/kubelet/pkg/apis/pluginregistration/v1"
)

// Config says what to register and where.
type Config struct {
	// Driver is the CSI driver's name.
	Driver string
	// RegistrationDir is kubelet's plugins_registry folder as this process sees it.
	RegistrationDir string
	// KubeletEndpoint is the path of the driver's CSI socket as kubelet sees it (on the host).
	KubeletEndpoint string
}

// Registrar serves the registration socket and remembers kubelet's answer.
type Registrar struct {
	cfg Config

	mu         sync.Mutex
	registered bool
	failure    error
}

// New checks cfg; errors name the field.
func New(cfg Config) (*Registrar, error) {
	switch {
	case cfg.Driver == "":
		return nil, errors.New("driver: required")
	case cfg.RegistrationDir == "":
		return nil, errors.New("registration dir: required")
	case !filepath.IsAbs(cfg.KubeletEndpoint):
		return nil, fmt.Errorf("kubelet registration path: %q is not an absolute path", cfg.KubeletEndpoint)
	}
	return &Registrar{cfg: cfg}, nil
}

// SocketPath is the registration socket: <dir>/<driver>-reg.sock, the name node-driver-registrar
// uses, so that switching from it leaves no second registration behind.
func (r *Registrar) SocketPath() string {
	return filepath.Join(r.cfg.RegistrationDir, r.cfg.Driver+"-reg.sock")
}

// Serve answers kubelet until ctx ends, then removes the socket. A socket left by an earlier
// process is replaced.
func (r *Registrar) Serve(ctx context.Context) error {
	path := r.SocketPath()
	if err := os.Remove(path); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("registration socket %s: removing the old one: %w", path, err)
	}
	lis, err := (&net.ListenConfig{}).Listen(ctx, "unix", path)
	if err != nil {
		return fmt.Errorf("registration socket %s: %w", path, err)
	}
	srv := grpc.NewServer()
	registerapi.RegisterRegistrationServer(srv, &server{r: r})
	go func() {
		<-ctx.Done()
		srv.Stop()
		_ = os.Remove(path)
	}()
	klog.FromContext(ctx).Info("Waiting for kubelet to register the driver", "socket", path, "csiEndpoint", r.cfg.KubeletEndpoint)
	if err := srv.Serve(lis); err != nil && ctx.Err() == nil {
		return fmt.Errorf("registration socket %s: %w", path, err)
	}
	return nil
}

// Healthy says whether the registration socket exists and kubelet has not refused the driver.
// Before kubelet's first answer it is healthy: kubelet may not have found the socket yet.
func (r *Registrar) Healthy() error {
	if _, err := os.Stat(r.SocketPath()); err != nil {
		return fmt.Errorf("registration socket: %w", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.failure
}

// Registered says whether kubelet reported the driver registered.
func (r *Registrar) Registered() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.registered
}

type server struct {
	registerapi.UnimplementedRegistrationServer
	r *Registrar
}

func (s *server) GetInfo(ctx context.Context, _ *registerapi.InfoRequest) (*registerapi.PluginInfo, error) {
	return &registerapi.PluginInfo{
		Type:              registerapi.CSIPlugin,
		Name:              s.r.cfg.Driver,
		Endpoint:          s.r.cfg.KubeletEndpoint,
		SupportedVersions: []string{"1.0.0"},
	}, nil
}

func (s *server) NotifyRegistrationStatus(ctx context.Context, st *registerapi.RegistrationStatus) (*registerapi.RegistrationStatusResponse, error) {
	log := klog.FromContext(ctx)
	s.r.mu.Lock()
	defer s.r.mu.Unlock()
	s.r.registered = st.PluginRegistered
	if st.PluginRegistered {
		s.r.failure = nil
		log.Info("kubelet registered the driver", "driver", s.r.cfg.Driver)
	} else {
		s.r.failure = fmt.Errorf("kubelet refused the driver: %s", st.Error)
		log.Error(s.r.failure, "Registration failed; the health endpoint reports it so that the container restarts", "driver", s.r.cfg.Driver)
	}
	return &registerapi.RegistrationStatusResponse{}, nil
}
