// Package e2e runs cloud-controller against a real etcd and kube-apiserver and the
// vCenter simulator, all as processes on 127.0.0.1, and asserts what users see on their
// Nodes.
package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

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
	if runHelper() {
		return
	}
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

// startWorld starts what every scenario needs, stopped when the test ends: the control
// plane with the manifests installed (so binaries run with their ServiceAccounts), and
// the simulator with inventory inv.
func startWorld(t *testing.T, name string, inv *framework.SimInventory) (string, *framework.ControlPlane, *framework.Simulator) {
	t.Helper()
	dir := artifactsDir(t, name)
	cp, err := framework.StartControlPlane(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cp.Stop)
	if err := framework.InstallManifests(context.Background(), cp); err != nil {
		t.Fatal(err)
	}
	invPath := filepath.Join(dir, "inventory.yaml")
	if err := inv.Write(invPath); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	sim, err := framework.StartSimulator(dir, invPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Stop)
	t.Logf("simulator with %d VMs ready in %s", len(inv.VMs), time.Since(start).Round(time.Second))
	return dir, cp, sim
}
