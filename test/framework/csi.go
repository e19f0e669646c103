package framework

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Sidecars are the CSI sidecar binaries hack/control-plane-bins.sh built.
type Sidecars struct {
	Provisioner, Attacher, Resizer string
}

// CSISidecars reads the sidecar paths from TEST_CSI_PROVISIONER, TEST_CSI_ATTACHER and
// TEST_CSI_RESIZER.
func CSISidecars() (Sidecars, error) {
	s := Sidecars{Provisioner: os.Getenv("TEST_CSI_PROVISIONER"), Attacher: os.Getenv("TEST_CSI_ATTACHER"), Resizer: os.Getenv("TEST_CSI_RESIZER")}
	if s.Provisioner == "" || s.Attacher == "" || s.Resizer == "" {
		return s, fmt.Errorf("TEST_CSI_PROVISIONER, TEST_CSI_ATTACHER and TEST_CSI_RESIZER are not set: run through `make test-e2e`")
	}
	return s, nil
}

// StartSidecars runs external-provisioner, external-attacher and external-resizer
// against the CSI socket with the cloud-controller ServiceAccount's token, as they run
// in the cloud-controller Pod, with leader election on (so its RBAC is exercised too), each
// restarted when it exits, as in a Pod.
func StartSidecars(cp *ControlPlane, socket string) ([]*Supervised, error) {
	s, err := CSISidecars()
	if err != nil {
		return nil, err
	}
	common := []string{
		"--csi-address=" + socket, "--kubeconfig=" + cp.ControllerKubeconfig, "--timeout=60s", "--v=4",
		"--kube-api-qps=100", "--kube-api-burst=100", // as manifests/cloud-controller.yaml
		"--leader-election", "--leader-election-namespace=" + Namespace,
		"--leader-election-lease-duration=4s", "--leader-election-renew-deadline=3s", "--leader-election-retry-period=1s",
	}
	var out []*Supervised
	for _, sc := range []struct {
		name, bin string
		extra     []string
	}{
		{"csi-provisioner", s.Provisioner, []string{"--feature-gates=Topology=true", "--strict-topology", "--default-fstype=ext4", "--extra-create-metadata", "--retry-interval-start=1s", "--retry-interval-max=5s"}},
		{"csi-attacher", s.Attacher, []string{"--retry-interval-start=1s", "--retry-interval-max=5s", "--worker-threads=50"}}, // workers as manifests/cloud-controller.yaml
		{"csi-resizer", s.Resizer, []string{"--retry-interval-start=1s", "--retry-interval-max=5s", "--handle-volume-inuse-error=false"}},
	} {
		args := append(append([]string(nil), common...), sc.extra...)
		p, err := Supervise(func() (*Process, error) { return Start(cp.Dir, sc.name, sc.bin, args...) })
		if err != nil {
			for _, q := range out {
				q.Stop()
			}
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// StartControllerManager runs kube-controller-manager with only the given controllers
// (for volumes: the PV binder, attach-detach and expander controllers), with the admin
// credentials, at kubeadm's defaults (--kube-api-qps 20) unless extra flags say
// otherwise. TEST_KUBE_CONTROLLER_MANAGER names the binary.
func StartControllerManager(cp *ControlPlane, controllers string, extra ...string) (*Process, error) {
	bin := os.Getenv("TEST_KUBE_CONTROLLER_MANAGER")
	if bin == "" {
		return nil, fmt.Errorf("TEST_KUBE_CONTROLLER_MANAGER is not set: run through `make test-e2e`")
	}
	args := []string{"--kubeconfig=" + cp.Kubeconfig, "--authentication-kubeconfig=" + cp.Kubeconfig, "--authorization-kubeconfig=" + cp.Kubeconfig,
		"--controllers=" + controllers, "--leader-elect=false", "--use-service-account-credentials=false",
		"--secure-port=0", "--attach-detach-reconcile-sync-period=2s", "--pvclaimbinder-sync-period=2s",
		"--cert-dir=" + filepath.Join(cp.Dir, "kcm-certs"), "--v=2"}
	return Start(cp.Dir, "kube-controller-manager", bin, append(args, extra...)...)
}

// Supervised is a process that is started again when it exits, as kubelet restarts a
// container: the CSI sidecars exit when they lose their socket (cloud-controller
// restarting), and in a Pod they come back.
type Supervised struct {
	mu       sync.Mutex
	cur      *Process
	stopped  bool
	restarts int
	done     chan struct{}
}

// Supervise starts a process with start and restarts it (after a second) whenever it exits,
// until Stop.
func Supervise(start func() (*Process, error)) (*Supervised, error) {
	p, err := start()
	if err != nil {
		return nil, err
	}
	s := &Supervised{cur: p, done: make(chan struct{})}
	go func() {
		for {
			select {
			case <-s.done:
				return
			case <-time.After(200 * time.Millisecond):
			}
			s.mu.Lock()
			if !s.stopped && s.cur.Exited() {
				time.Sleep(time.Second)
				if np, err := start(); err == nil {
					s.cur = np
					s.restarts++
				}
			}
			s.mu.Unlock()
		}
	}()
	return s, nil
}

// Stop ends supervision and the process.
func (s *Supervised) Stop() {
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		return
	}
	s.stopped = true
	close(s.done)
	p := s.cur
	s.mu.Unlock()
	p.Stop()
}

// Pid is the current process's.
func (s *Supervised) Pid() int { s.mu.Lock(); defer s.mu.Unlock(); return s.cur.Pid() }

// Tail is the end of the current process's log.
func (s *Supervised) Tail(n int) string { s.mu.Lock(); defer s.mu.Unlock(); return s.cur.Tail(n) }

// LogContains searches the current process's log.
func (s *Supervised) LogContains(str string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur.LogContains(str)
}

// Restarts is how many times the process was started again.
func (s *Supervised) Restarts() int { s.mu.Lock(); defer s.mu.Unlock(); return s.restarts }
