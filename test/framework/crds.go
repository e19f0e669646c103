package framework

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensions "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/vsphere-cloud/provider/test/repo"
)

// ManifestsDir is the repository's manifests/ directory.
func ManifestsDir() string {
	return repo.Path("manifests")
}

// InstallCRDs creates every CRD in manifests/crds and waits until each is established.
func InstallCRDs(ctx context.Context, cp *ControlPlane) error {
	files, err := filepath.Glob(filepath.Join(ManifestsDir(), "crds", "*.yaml"))
	if err != nil || len(files) == 0 {
		return fmt.Errorf("no CRDs under manifests/crds: %v", err)
	}
	c, err := apiextensions.NewForConfig(cp.Config)
	if err != nil {
		return err
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		crd := &apiextensionsv1.CustomResourceDefinition{}
		if err := yaml.UnmarshalStrict(b, crd); err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		if _, err := c.ApiextensionsV1().CustomResourceDefinitions().Create(ctx, crd, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		ok := WaitFor(30*time.Second, 100*time.Millisecond, func() bool {
			got, err := c.ApiextensionsV1().CustomResourceDefinitions().Get(ctx, crd.Name, metav1.GetOptions{})
			if err != nil {
				return false
			}
			for _, cond := range got.Status.Conditions {
				if cond.Type == apiextensionsv1.Established && cond.Status == apiextensionsv1.ConditionTrue {
					return true
				}
			}
			return false
		})
		if !ok {
			return fmt.Errorf("CRD %s not established", crd.Name)
		}
	}
	return nil
}

// StartNodeAgent runs bin/vsphere-node for nodeName with guest roots under guestDir
// (dmi/, dev/, proc/), which tests fill with fixtures.
func StartNodeAgent(cp *ControlPlane, nodeName, guestDir string, flags ...string) (*Process, error) {
	if cp.NodeKubeconfig == "" {
		return nil, fmt.Errorf("no vsphere-node kubeconfig: call InstallManifests first")
	}
	kc, err := NodeAgentKubeconfig(context.Background(), cp, nodeName)
	if err != nil {
		return nil, err
	}
	args := []string{
		"--node-name=" + nodeName, "--kubeconfig=" + kc,
		"--dmi-root=" + filepath.Join(guestDir, "dmi"), "--dev-root=" + filepath.Join(guestDir, "dev"),
		"--proc-root=" + filepath.Join(guestDir, "proc"), "--metrics-bind-address=0",
		"--health-probe-bind-address=0", "--guest-check-period=5s", "--v=1",
	}
	return Start(cp.Dir, "vsphere-node-"+nodeName, filepath.Join(BinDir(), "vsphere-node"), append(args, flags...)...)
}

// StartCSINode runs bin/vsphere-csi-node for nodeName with vsphere-node's ServiceAccount
// token, as the DaemonSet's csi-node container does; flags add to or override the defaults.
func StartCSINode(cp *ControlPlane, nodeName string, flags ...string) (*Process, error) {
	if cp.NodeKubeconfig == "" {
		return nil, fmt.Errorf("no vsphere-node kubeconfig: call InstallManifests first")
	}
	kc, err := NodeAgentKubeconfig(context.Background(), cp, nodeName)
	if err != nil {
		return nil, err
	}
	args := []string{"--node-name=" + nodeName, "--kubeconfig=" + kc, "--v=1"}
	return Start(cp.Dir, "vsphere-csi-node-"+nodeName, filepath.Join(BinDir(), "vsphere-csi-node"), append(args, flags...)...)
}

// GuestFixture writes a guest's DMI UUID, and disk and vmtoolsd entries, under dir.
func GuestFixture(dir, dmiUUID string, diskUUIDs, tools bool) error {
	for _, d := range []string{"dmi", "dev/disk/by-id", "proc/1"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return err
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "dmi", "product_uuid"), []byte(dmiUUID+"\n"), 0o644); err != nil {
		return err
	}
	if diskUUIDs {
		if err := os.WriteFile(filepath.Join(dir, "dev/disk/by-id", "wwn-0x6000c29a1b2c3d4e5f60718293a4b5c6"), nil, 0o644); err != nil {
			return err
		}
	}
	comm := "bash"
	if tools {
		comm = "vmtoolsd"
	}
	return os.WriteFile(filepath.Join(dir, "proc/1", "comm"), []byte(comm+"\n"), 0o644)
}
