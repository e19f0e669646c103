package framework

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// CloudConfig returns a vsphere.conf for one simulator (or a proxy in front of it at
// hostPort), verifying TLS with the simulator's certificate, credentials from the Secret
// vsphere-cloud-system/vsphere-creds, and the inventory timings given.
func CloudConfig(host string, port int, caFile, extra string) string {
	return fmt.Sprintf(`global:
  secretName: vsphere-creds
  secretNamespace: vsphere-cloud-system
  caFile: %s
vcenter:
  sim:
    server: %s
    port: %d
labels:
  zone: k8s-zone
  region: k8s-region
%s`, caFile, host, port, extra)
}

// EnsureCredentials creates or updates the Secret that holds the simulator's credentials
// for server, with the upstream provider's keys.
func EnsureCredentials(ctx context.Context, cp *ControlPlane, server string) error {
	return SetCredentials(ctx, cp, server, SimUser, SimPassword)
}

// SetCredentials creates or updates the credentials Secret with any user and password.
func SetCredentials(ctx context.Context, cp *ControlPlane, server, user, password string) error {
	sec := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "vsphere-creds", Namespace: Namespace},
		StringData: map[string]string{server + ".username": user, server + ".password": password},
	}
	_, err := cp.Client.CoreV1().Secrets(Namespace).Create(ctx, sec, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		_, err = cp.Client.CoreV1().Secrets(Namespace).Update(ctx, sec, metav1.UpdateOptions{})
	}
	return err
}

// StartCloudController writes the cloud config and runs bin/cloud-controller against the
// control plane with the given extra flags.
func StartCloudController(cp *ControlPlane, name, cloudConfig string, flags ...string) (*Process, error) {
	cfgPath := filepath.Join(cp.Dir, name+".conf")
	if err := os.WriteFile(cfgPath, []byte(cloudConfig), 0o600); err != nil {
		return nil, err
	}
	kubeconfig := cp.ControllerKubeconfig
	if kubeconfig == "" {
		return nil, fmt.Errorf("no cloud-controller kubeconfig: call InstallManifests first")
	}
	args := []string{
		"--cloud-provider=vsphere", "--cloud-config=" + cfgPath,
		"--kubeconfig=" + kubeconfig, "--authentication-kubeconfig=" + kubeconfig,
		"--authorization-kubeconfig=" + kubeconfig, "--webhook-secure-port=0",
		"--leader-elect-resource-namespace=" + Namespace,
		"--leader-elect=true", "--leader-elect-lease-duration=4s", "--leader-elect-renew-deadline=3s",
		"--leader-elect-retry-period=1s", "--v=2",
	}
	hasControllers, hasPort := false, false
	for _, f := range flags {
		hasControllers = hasControllers || strings.HasPrefix(f, "--controllers=")
		hasPort = hasPort || strings.HasPrefix(f, "--secure-port=")
	}
	if !hasPort {
		args = append(args, "--secure-port=0")
	}
	if !hasControllers {
		args = append(args, "--controllers=cloud-node,cloud-node-lifecycle")
	}
	return Start(cp.Dir, name, filepath.Join(BinDir(), "cloud-controller"), append(args, flags...)...)
}
