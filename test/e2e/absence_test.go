package e2e

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vsphere-cloud/provider/test/framework"
)

// absenceWindow is how long the hidden and inaccessible node VMs are watched: many node
// lifecycle passes (--node-monitor-period=2s) and detach retries.
const absenceWindow = 30 * time.Second

// TestHiddenOrInaccessibleNodeVMsAreNotGone is the fault matrix for what vCenter does that
// the simulator did not: a node VM the account may no longer see (a "No access" permission)
// and a node VM whose datastore is all-paths-down (config unset, connectionState
// inaccessible). Both Nodes are NotReady and have a volume whose detach is requested; over
// the whole window neither Node is deleted and neither volume is reported detached,
// because nothing proves either VM gone. A VM that is really destroyed is still deleted.
func TestHiddenOrInaccessibleNodeVMsAreNotGone(t *testing.T) {
	nodes := []string{"hidden-vm", "apd-vm", "destroyed-vm"}
	w := startFaultWorld(t, "absence", nodes)
	ctx := context.Background()
	core := w.cp.Client.CoreV1()
	for _, n := range nodes {
		w.joinNode(t, n)
	}
	// A volume attached to each of the first two.
	for _, n := range nodes[:2] {
		w.claim(t, "vol-"+n)
	}
	pvs := map[string]string{}
	if !framework.WaitFor(90*time.Second, 200*time.Millisecond, func() bool {
		for _, n := range nodes[:2] {
			if pvs[n] = w.boundPV("vol-" + n); pvs[n] == "" {
				return false
			}
		}
		return true
	}) {
		t.Fatal("claims not bound")
	}
	for _, n := range nodes[:2] {
		w.attachment(t, "va-"+n, pvs[n], n)
	}
	if !framework.WaitFor(60*time.Second, 200*time.Millisecond, func() bool { return w.attached("va-hidden-vm") && w.attached("va-apd-vm") }) {
		t.Fatal("volumes not attached")
	}

	if err := w.sim.HideVM(ctx, "hidden-vm", true); err != nil {
		t.Fatal(err)
	}
	if err := w.sim.SetVMInaccessible(ctx, "apd-vm", true); err != nil {
		t.Fatal(err)
	}
	c, err := w.sim.Client(ctx)
	if err != nil {
		t.Fatal(err)
	}
	vm, err := framework.FindVM(ctx, c, "/DC0/vm/destroyed-vm")
	if err != nil {
		t.Fatal(err)
	}
	if task, err := vm.PowerOff(ctx); err == nil {
		_ = task.Wait(ctx)
	}
	if task, err := vm.Destroy(ctx); err != nil {
		t.Fatal(err)
	} else if err := task.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes {
		if err := framework.SetReady(ctx, w.cp.Client, n, corev1.ConditionUnknown); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range nodes[:2] {
		if err := w.cp.Client.StorageV1().VolumeAttachments().Delete(ctx, "va-"+n, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
	}

	destroyedGone := time.Duration(0)
	start := time.Now()
	for time.Since(start) < absenceWindow {
		for _, n := range nodes[:2] {
			if _, err := core.Nodes().Get(ctx, n, metav1.GetOptions{}); err != nil {
				t.Fatalf("wrong Node deletion after %s: %s: %v", time.Since(start).Round(time.Second), n, err)
			}
			if _, err := w.cp.Client.StorageV1().VolumeAttachments().Get(ctx, "va-"+n, metav1.GetOptions{}); err != nil {
				t.Fatalf("the volume of %s was reported detached after %s although its VM still has it: %v", n, time.Since(start).Round(time.Second), err)
			}
		}
		if _, err := core.Nodes().Get(ctx, "destroyed-vm", metav1.GetOptions{}); err != nil && destroyedGone == 0 {
			destroyedGone = time.Since(start)
		}
		time.Sleep(250 * time.Millisecond)
	}
	if destroyedGone == 0 {
		t.Errorf("the Node of the destroyed VM was not deleted within %s", absenceWindow)
	} else {
		t.Logf("the Node of the destroyed VM was deleted %s after it went NotReady", destroyedGone.Round(100*time.Millisecond))
	}

	// Visible and accessible again: the detaches go through.
	if err := w.sim.HideVM(ctx, "hidden-vm", false); err != nil {
		t.Fatal(err)
	}
	if err := w.sim.SetVMInaccessible(ctx, "apd-vm", false); err != nil {
		t.Fatal(err)
	}
	if !framework.WaitFor(90*time.Second, 250*time.Millisecond, func() bool {
		for _, n := range nodes[:2] {
			if _, err := w.cp.Client.StorageV1().VolumeAttachments().Get(ctx, "va-"+n, metav1.GetOptions{}); err == nil {
				return false
			}
		}
		return true
	}) {
		t.Error("volumes not detached once their VMs were visible and accessible again")
	}
	for _, n := range nodes[:2] {
		if _, err := core.Nodes().Get(ctx, n, metav1.GetOptions{}); err != nil {
			t.Errorf("wrong Node deletion: %s: %v", n, err)
		}
	}
}
