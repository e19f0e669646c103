package e2e

import (
	"context"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/vsphere-cloud/provider/api/v1alpha1"
	"github.com/vsphere-cloud/provider/pkg/kubeclient"
	"github.com/vsphere-cloud/provider/test/framework"
)

// wantVolumeLimit is what cloud-controller must measure for the volume world's VMs (see
// their hardware in startVolumeWorld).
var wantVolumeLimit = map[string]int32{"vol-node-0": 255, "vol-node-1": 45}

// waitVolumeLimit waits for the Node's NodeVM to report want as its volume limit.
func (w *volumeWorld) waitVolumeLimit(t *testing.T, node string, want int32) int32 {
	t.Helper()
	cl, err := kubeclient.New(w.cp.Config, "e2e")
	if err != nil {
		t.Fatal(err)
	}
	var st v1alpha1.NodeVMStatus
	if !framework.WaitFor(30*time.Second, 200*time.Millisecond, func() bool {
		var nvm v1alpha1.NodeVM
		if err := cl.Get(context.Background(), client.ObjectKey{Name: node}, &nvm); err != nil {
			return false
		}
		st = nvm.Status
		return st.VolumeLimit != 0
	}) || st.VolumeLimit != want {
		t.Fatalf("NodeVM %s: volume limit %d (%s, hardware %q), want %d", node, st.VolumeLimit, st.VolumeLimitReason, st.HardwareVersion, want)
	}
	t.Logf("%s: %d volumes (%s)", node, st.VolumeLimit, st.VolumeLimitReason)
	return st.VolumeLimit
}
