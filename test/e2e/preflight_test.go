package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vsphere-cloud/provider/test/framework"
)

// TestPreflight runs `cloud-controller preflight` against the simulator: a well-provisioned
// account passes; a node VM without disk.EnableUUID, unknown objects, an account lacking
// privileges and an untrusted certificate each fail with a fix, and exit status 1.
func TestPreflight(t *testing.T) {
	ctx := context.Background()
	inv := &framework.SimInventory{Datacenters: 1, Clusters: 1, Hosts: 2, VMs: []framework.SimVM{
		{Name: "pf-0", UUID: framework.TestUUID("pf-0"), Hostname: "pf-0"},
		{Name: "pf-1", UUID: framework.TestUUID("pf-1"), Hostname: "pf-1", DiskUUIDDisabled: true},
	}, Tags: []framework.SimTag{
		{Category: "k8s-zone", Name: "zone-a", AttachTo: []string{"DC0_C0"}},
		{Category: "k8s-region", Name: "region-1", AttachTo: []string{"DC0"}},
	}}
	dir, cp, sim := startWorld(t, "preflight", inv)
	if err := framework.EnsureCredentials(ctx, cp, "127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	if err := framework.RegisterNode(ctx, cp.Client, "pf-0", framework.TestUUID("pf-0")); err != nil {
		t.Fatal(err)
	}
	run := func(t *testing.T, conf string, args ...string) (string, int) {
		t.Helper()
		path := filepath.Join(dir, strings.ReplaceAll(t.Name(), "/", "_")+".conf")
		if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(filepath.Join(framework.BinDir(), "cloud-controller"),
			append([]string{"preflight", "--cloud-config=" + path, "--kubeconfig=" + cp.Kubeconfig}, args...)...)
		out, err := cmd.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(out), framework.SimPassword) {
			t.Error("preflight printed the password")
		}
		return string(out), code
	}
	good := framework.CloudConfig("127.0.0.1", sim.Port, sim.CAFile, "")
	row := func(out, status, check, target string) bool {
		for _, l := range strings.Split(out, "\n") {
			f := strings.Fields(l)
			if len(f) > 0 && f[0] == status && strings.Contains(l, check) && strings.Contains(l, target) {
				return true
			}
		}
		return false
	}

	t.Run("a well-provisioned account and node pass", func(t *testing.T) {
		out, code := run(t, good, "--datastore=LocalDS_0", "--storage-policy=vSAN Default Storage Policy")
		if code != 0 || strings.Contains(out, "FAIL") {
			t.Fatalf("exit %d:\n%s", code, out)
		}
		for _, want := range []string{"connect and log in", "datacenters", "tag category", "datastore", "storage policy", "disk.EnableUUID", "privileges: volumes: attach, detach"} {
			if !row(out, "OK", want, "") {
				t.Errorf("no OK row for %q:\n%s", want, out)
			}
		}
	})

	t.Run("a node VM without disk.EnableUUID and unknown objects fail with fixes", func(t *testing.T) {
		if err := framework.RegisterNode(ctx, cp.Client, "pf-1", framework.TestUUID("pf-1")); err != nil {
			t.Fatal(err)
		}
		conf := strings.Replace(good, "region: k8s-region", "region: no-such-category", 1)
		out, code := run(t, conf, "--datastore=NoSuchDS", "--storage-policy=gold")
		if code != 1 {
			t.Fatalf("exit %d, want 1:\n%s", code, out)
		}
		for _, r := range [][3]string{
			{"FAIL", "disk.EnableUUID", "pf-1"}, {"OK", "disk.EnableUUID", "pf-0"}, {"FAIL", "datastore", "NoSuchDS"},
			{"FAIL", "storage policy", "gold"}, {"FAIL", "tag category", "no-such-category"},
		} {
			if !row(out, r[0], r[1], r[2]) {
				t.Errorf("no %s row for %s %s:\n%s", r[0], r[1], r[2], out)
			}
		}
		if !strings.Contains(out, "set the advanced setting disk.EnableUUID=TRUE") {
			t.Errorf("the disk.EnableUUID failure gives no fix:\n%s", out)
		}
	})

	t.Run("an account that lacks privileges fails and names them", func(t *testing.T) {
		if err := os.MkdirAll(filepath.Join(dir, "denied"), 0o755); err != nil {
			t.Fatal(err)
		}
		denied, err := framework.StartSimulator(filepath.Join(dir, "denied"), sim.Inventory, "--deny-privileges=VirtualMachine.Config.AddExistingDisk,Datastore.AllocateSpace")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(denied.Stop)
		out, code := run(t, framework.CloudConfig("127.0.0.1", denied.Port, denied.CAFile, ""))
		if code != 1 || !row(out, "FAIL", "attach, detach", "") || !strings.Contains(out, "missing VirtualMachine.Config.AddExistingDisk") ||
			!strings.Contains(out, "missing Datastore.AllocateSpace") || !row(out, "OK", "inventory and node lifecycle", "") {
			t.Fatalf("exit %d:\n%s", code, out)
		}
	})

	t.Run("an untrusted certificate fails before any login", func(t *testing.T) {
		conf := strings.Replace(good, "caFile: "+sim.CAFile, `thumbprint: "AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD"`, 1)
		out, code := run(t, conf)
		if code != 1 || !row(out, "FAIL", "connect and log in", "") || !strings.Contains(out, "caFile") {
			t.Fatalf("exit %d:\n%s", code, out)
		}
	})
}
