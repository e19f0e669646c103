package framework

import (
	"fmt"
	"os"
	"path/filepath"
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
// in the cloud-controller Pod, with leader election on (so its RBAC is exercised too).
func StartSidecars(cp *ControlPlane, socket string) ([]*Process, error) {
	s, err := CSISidecars()
	if err != nil {
		return nil, err
	}
	common := []string{
		"--csi-address=" + socket, "--kubeconfig=" + cp.ControllerKubeconfig, "--timeout=60s", "--v=4",
		"--leader-election", "--leader-election-namespace=" + Namespace,
		"--leader-election-lease-duration=4s", "--leader-election-renew-deadline=3s", "--leader-election-retry-period=1s",
	}
	var out []*Process
	for _, sc := range []struct {
		name, bin string
		extra     []string
	}{
		{"csi-provisioner", s.Provisioner, []string{"--feature-gates=Topology=true", "--strict-topology", "--default-fstype=ext4", "--retry-interval-start=1s", "--retry-interval-max=5s"}},
		{"csi-attacher", s.Attacher, []string{"--retry-interval-start=1s", "--retry-interval-max=5s"}},
		{"csi-resizer", s.Resizer, []string{"--retry-interval-start=1s", "--retry-interval-max=5s", "--handle-volume-inuse-error=false"}},
	} {
		p, err := Start(cp.Dir, sc.name, sc.bin, append(append([]string(nil), common...), sc.extra...)...)
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
// credentials. TEST_KUBE_CONTROLLER_MANAGER names the binary.
func StartControllerManager(cp *ControlPlane, controllers string) (*Process, error) {
	bin := os.Getenv("TEST_KUBE_CONTROLLER_MANAGER")
	if bin == "" {
		return nil, fmt.Errorf("TEST_KUBE_CONTROLLER_MANAGER is not set: run through `make test-e2e`")
	}
	return Start(cp.Dir, "kube-controller-manager", bin,
		"--kubeconfig="+cp.Kubeconfig, "--authentication-kubeconfig="+cp.Kubeconfig, "--authorization-kubeconfig="+cp.Kubeconfig,
		"--controllers="+controllers, "--leader-elect=false", "--use-service-account-credentials=false",
		"--secure-port=0", "--attach-detach-reconcile-sync-period=2s", "--pvclaimbinder-sync-period=2s",
		"--cert-dir="+filepath.Join(cp.Dir, "kcm-certs"), "--v=2")
}
