package provider

import (
	"testing"

	"github.com/vsphere-cloud/provider/api/v1alpha1"
	"github.com/vsphere-cloud/provider/pkg/vsphere"
)

func TestRecordedVMsByUUID(t *testing.T) {
	items := []v1alpha1.NodeVM{
		{Status: v1alpha1.NodeVMStatus{VCenter: "vc1", VM: "vm-1", UUID: "4214C5E2-1111-2222-3333-444455556666"}},
		{Status: v1alpha1.NodeVMStatus{VCenter: "vc1", VM: "vm-2", UUID: "4214c5e2-0000-2222-3333-444455556666"}},
		{Status: v1alpha1.NodeVMStatus{VCenter: "", VM: "vm-3", UUID: "4214c5e2-1111-2222-3333-444455556666"}},
		{Status: v1alpha1.NodeVMStatus{}},
	}
	got := recorded(items, "4214c5e2-1111-2222-3333-444455556666")
	want := []vsphere.VMRef{{VCenter: "vc1", Ref: "vm-1", UUID: "4214c5e2-1111-2222-3333-444455556666"}}
	if len(got) != 1 || got[0] != want[0] {
		t.Errorf("recorded = %+v, want %+v", got, want)
	}
}
