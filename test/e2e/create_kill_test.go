package e2e

import (
	"context"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/vsphere-cloud/provider/api/v1alpha1"
	"github.com/vsphere-cloud/provider/test/framework"
)

// TestCreateKilledWhileItsTaskRuns: cloud-controller is killed after vCenter accepted a
// volume's create task and before the task ended (the simulator makes CnsCreateVolume take
// 8 s). The provisioner retries on the restarted process, which must wait on that task
// (its VolumeOperation record) instead of creating a second volume: exactly one disk has
// the claim's volume name, and the record goes with the volume.
func TestCreateKilledWhileItsTaskRuns(t *testing.T) {
	w := startFaultWorld(t, "create-kill", nil)
	ctx := context.Background()
	if err := w.sim.SetTaskDelay(ctx, "CnsCreateVolume", 8*time.Second); err != nil {
		t.Fatal(err)
	}
	w.claim(t, "slow")
	var op v1alpha1.VolumeOperation
	if !framework.WaitFor(30*time.Second, 100*time.Millisecond, func() bool {
		var list v1alpha1.VolumeOperationList
		if err := w.lb.crc.List(ctx, &list, client.InNamespace(framework.Namespace)); err != nil || len(list.Items) == 0 {
			return false
		}
		op = list.Items[0]
		return op.Spec.Task != ""
	}) {
		t.Fatal("no VolumeOperation with a task: the create was not submitted, or not recorded")
	}
	w.ccm.Kill()
	t.Logf("killed cloud-controller while task %s of %s runs", op.Spec.Task, op.Spec.VolumeName)
	w.startCCM(t)
	var pv string
	if !framework.WaitFor(120*time.Second, 200*time.Millisecond, func() bool { pv = w.boundPV("slow"); return pv != "" }) {
		t.Fatal("the claim was not bound after the restart")
	}
	if pv != op.Spec.VolumeName {
		t.Fatalf("bound to %s, the record was for %s", pv, op.Spec.VolumeName)
	}
	// The killed attempt's task ends 8 s after it started; a second create would end up
	// to 8 s after the retry. Wait them out, then count.
	time.Sleep(10 * time.Second)
	disks, err := w.vc.Disks(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	var named []string
	for _, d := range disks {
		if d.Name == pv {
			named = append(named, d.ID)
		}
	}
	if len(named) != 1 {
		t.Fatalf("%d disks named %s (%v), want exactly 1", len(named), pv, named)
	}
	var done v1alpha1.VolumeOperation
	if err := w.lb.crc.Get(ctx, client.ObjectKey{Namespace: framework.Namespace, Name: op.Name}, &done); err != nil || done.Spec.VolumeID != named[0] {
		t.Errorf("record after the retry: %+v, %v; want volume ID %s", done.Spec, err, named[0])
	}
}
