package agent

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/vsphere-cloud/provider/pkg/biosuuid"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vsphere-cloud/provider/api/v1alpha1"
)

const vmUUID = "4214c5e2-1111-2222-3333-444455556666"

func dmi(t *testing.T, uuid, serial string) Guest {
	t.Helper()
	dir := t.TempDir()
	if uuid != "" {
		if err := os.WriteFile(filepath.Join(dir, "product_uuid"), []byte(uuid+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if serial != "" {
		if err := os.WriteFile(filepath.Join(dir, "product_serial"), []byte(serial+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return Guest{DMIRoot: dir}
}

func TestCheckIdentity(t *testing.T) {
	swapped, _ := biosuuid.SwapByteOrder(vmUUID)
	for _, tc := range []struct {
		name, uuid, serial, provider, reason string
		ok                                   bool
	}{
		{"same order", "4214C5E2-1111-2222-3333-444455556666", "", vmUUID, "UUIDMatches", true},
		{"byte-swapped (hardware 13+)", swapped, "", vmUUID, "UUIDMatches", true},
		{"serial only", "", "VMware-42 14 c5 e2 11 11 22 22-33 33 44 44 55 55 66 66", vmUUID, "UUIDMatches", true},
		{"another VM", "00000000-1111-2222-3333-444455556666", "", vmUUID, "UUIDMismatch", false},
		{"no providerID", vmUUID, "", "", "NoProviderID", false},
		{"unreadable DMI", "", "", vmUUID, "DMIUnreadable", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := dmi(t, tc.uuid, tc.serial).CheckIdentity(tc.provider)
			if got.OK != tc.ok || got.Reason != tc.reason {
				t.Errorf("got %+v, want ok=%v reason=%s", got, tc.ok, tc.reason)
			}
		})
	}
}

func nodeVM(host, cluster, tools string, hostReady metav1.ConditionStatus, reason string) *v1alpha1.NodeVM {
	return &v1alpha1.NodeVM{Status: v1alpha1.NodeVMStatus{
		Datacenter: "DC0", Cluster: cluster, Host: v1alpha1.HostState{Name: host}, ToolsRunningStatus: tools,
		Conditions: []metav1.Condition{{Type: v1alpha1.ConditionHostReady, Status: hostReady, Reason: reason, Message: "m"}},
	}}
}

func condition(d Desired, typ corev1.NodeConditionType) *corev1.NodeCondition {
	for i := range d.Conditions {
		if d.Conditions[i].Type == typ {
			return &d.Conditions[i]
		}
	}
	return nil
}

func TestCompute(t *testing.T) {
	ok := Facts{Identity: IdentityResult{OK: true, Reason: "UUIDMatches"}, DiskUUIDs: true, CheckDisks: true}
	for _, tc := range []struct {
		name      string
		nvm       *v1alpha1.NodeVM
		facts     Facts
		taint     bool
		hostLabel string
		check     func(t *testing.T, d Desired)
	}{
		{name: "healthy", nvm: nodeVM("esx-1.example.com", "prod/cl 1", "guestToolsRunning", metav1.ConditionTrue, v1alpha1.ReasonConnected), facts: ok,
			hostLabel: "esx-1.example.com", check: func(t *testing.T, d Desired) {
				if d.Labels[v1alpha1.LabelNodeCluster] != "prod_cl_1" {
					t.Errorf("cluster label %q not sanitized", d.Labels[v1alpha1.LabelNodeCluster])
				}
				if c := condition(d, v1alpha1.NodeConditionToolsReady); c == nil || c.Status != corev1.ConditionTrue {
					t.Errorf("tools condition %+v", c)
				}
			}},
		{name: "maintenance taints", nvm: nodeVM("h", "c", "guestToolsRunning", metav1.ConditionFalse, v1alpha1.ReasonMaintenance), facts: ok, taint: true, hostLabel: "h"},
		{name: "disconnected taints", nvm: nodeVM("h", "c", "guestToolsRunning", metav1.ConditionFalse, v1alpha1.ReasonDisconnected), facts: ok, taint: true, hostLabel: "h"},
		{name: "quarantine does not taint", nvm: nodeVM("h", "c", "guestToolsRunning", metav1.ConditionFalse, v1alpha1.ReasonQuarantine), facts: ok, hostLabel: "h"},
		{name: "tools not running", nvm: nodeVM("h", "c", "guestToolsNotRunning", metav1.ConditionTrue, v1alpha1.ReasonConnected), facts: ok, hostLabel: "h",
			check: func(t *testing.T, d Desired) {
				if c := condition(d, v1alpha1.NodeConditionToolsReady); c == nil || c.Status != corev1.ConditionFalse || c.Reason != "ToolsNotRunning" {
					t.Errorf("tools condition %+v", c)
				}
			}},
		{name: "no disk UUIDs", nvm: nodeVM("h", "c", "guestToolsRunning", metav1.ConditionTrue, v1alpha1.ReasonConnected),
			facts: Facts{Identity: ok.Identity, CheckDisks: true}, hostLabel: "h", check: func(t *testing.T, d Desired) {
				if c := condition(d, v1alpha1.NodeConditionDiskUUIDEnabled); c == nil || c.Status != corev1.ConditionFalse {
					t.Errorf("disk condition %+v", c)
				}
			}},
		{name: "no NodeVM yet: labels removed, no taint", nvm: nil, facts: ok, hostLabel: ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := Compute(tc.nvm, tc.facts)
			if d.Taint != tc.taint || d.Labels[v1alpha1.LabelNodeHost] != tc.hostLabel {
				t.Errorf("taint %v host label %q; want %v %q", d.Taint, d.Labels[v1alpha1.LabelNodeHost], tc.taint, tc.hostLabel)
			}
			if tc.check != nil {
				tc.check(t, d)
			}
		})
	}
}

func TestLabelValue(t *testing.T) {
	long := "a234567890123456789012345678901234567890123456789012345678901234567890"
	for in, want := range map[string]string{"esx-01.lab": "esx-01.lab", "cl 1/prod": "cl_1_prod", "-x-": "x", long: long[:63]} {
		if got := labelValue(in); got != want {
			t.Errorf("labelValue(%q) = %q, want %q", in, got, want)
		}
	}
}
