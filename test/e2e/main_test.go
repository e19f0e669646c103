// Package e2e runs cloud-controller against a real etcd and kube-apiserver and the
// vCenter simulator, all as processes on 127.0.0.1, and asserts what users see on their
// Nodes.
package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/vsphere-cloud/provider/test/framework"
)

// env is shared by every scenario: one control plane, one simulator, one cloud-controller.
var env struct {
	dir  string
	cp   *framework.ControlPlane
	sim  *framework.Simulator
	ccm  *framework.Process
	conf string
}

func TestMain(m *testing.M) {
	if _, _, err := framework.Binaries(); err != nil {
		if os.Getenv("VSPHERE_CLOUD_E2E_REQUIRED") != "" {
			fmt.Fprintln(os.Stderr, "e2e:", err)
			os.Exit(1)
		}
		fmt.Fprintln(os.Stderr, "SKIP e2e:", err)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// artifactsDir keeps logs of a run: E2E_ARTIFACTS or a temporary directory.
func artifactsDir(t *testing.T, name string) string {
	t.Helper()
	base := os.Getenv("E2E_ARTIFACTS")
	if base == "" {
		return t.TempDir()
	}
	dir := filepath.Join(base, name)
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}
