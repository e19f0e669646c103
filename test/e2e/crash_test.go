package e2e

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vsphere-cloud/provider/pkg/vsphere"
	"github.com/vsphere-cloud/provider/test/framework"
)

// TestCrashConsistency kills cloud-controller at random moments while claims are created,
// attached, detached and deleted, then checks that vCenter and Kubernetes agree exactly:
// no disk left, none attached, no PV or VolumeAttachment left. `make test` runs a short
// churn (CHURN_CLAIMS=20, CHURN_KILLS=10); `make test-faults` the full one (200 and 100).
func TestCrashConsistency(t *testing.T) {
	claims, kills := envInt("CHURN_CLAIMS", 20), envInt("CHURN_KILLS", 10)
	w := startFaultWorld(t, "crash", nil)
	ctx := context.Background()
	core := w.cp.Client.CoreV1()
	storage := w.cp.Client.StorageV1()
	// Generous: a kill costs a leader-election lease (4 s) and the sidecars' backoff.
	const step = 4 * time.Minute

	var done atomic.Int32
	stop := make(chan struct{})
	var killer sync.WaitGroup
	killer.Add(1)
	killed := 0
	go func() {
		defer killer.Done()
		for killed < kills {
			select {
			case <-stop:
				return
			case <-time.After(time.Duration(500+rand.IntN(2500)) * time.Millisecond):
			}
			w.ccm.Kill()
			w.startCCM(t)
			killed++
		}
	}()

	work := make(chan int)
	var workers sync.WaitGroup
	var failures []string
	var mu sync.Mutex
	fail := func(format string, args ...any) {
		mu.Lock()
		failures = append(failures, fmt.Sprintf(format, args...))
		mu.Unlock()
	}
	for range 8 {
		workers.Add(1)
		go func() {
			defer workers.Done()
			for i := range work {
				name := fmt.Sprintf("churn-%d", i)
				node := fmt.Sprintf("worker-%d", i%2)
				w.claim(t, name)
				var pv string
				if !framework.WaitFor(step, 200*time.Millisecond, func() bool { pv = w.boundPV(name); return pv != "" }) {
					fail("%s not bound", name)
					continue
				}
				w.attachment(t, "va-"+name, pv, node)
				if !framework.WaitFor(step, 200*time.Millisecond, func() bool { return w.attached("va-" + name) }) {
					fail("%s not attached", name)
				}
				if err := storage.VolumeAttachments().Delete(ctx, "va-"+name, metav1.DeleteOptions{}); err != nil {
					fail("deleting va-%s: %v", name, err)
				}
				if !framework.WaitFor(step, 200*time.Millisecond, func() bool {
					_, err := storage.VolumeAttachments().Get(ctx, "va-"+name, metav1.GetOptions{})
					return err != nil
				}) {
					fail("va-%s not detached", name)
				}
				if err := core.PersistentVolumeClaims("default").Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
					fail("deleting %s: %v", name, err)
				}
				done.Add(1)
			}
		}()
	}
	for i := range claims {
		work <- i
	}
	close(work)
	workers.Wait()
	close(stop)
	killer.Wait()
	t.Logf("%d claims churned through %d cloud-controller kills", done.Load(), killed)
	for _, f := range failures {
		t.Error(f)
	}

	// Settle, then vCenter and Kubernetes must agree exactly.
	if !framework.WaitFor(step, time.Second, func() bool {
		pvs, err := core.PersistentVolumes().List(ctx, metav1.ListOptions{})
		return err == nil && len(pvs.Items) == 0
	}) {
		t.Error("PVs remain after every claim was deleted")
	}
	disks, err := w.vc.Disks(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	var left []string
	for _, d := range disks {
		if strings.HasPrefix(d.Name, "pvc-") {
			left = append(left, d.ID+" "+d.Name)
		}
	}
	if len(left) > 0 {
		t.Errorf("disks in vCenter with no claim (orphans): %v", left)
	}
	// No disk on any node VM: vCenter's answer now (each VM's devices read directly). The
	// observer's watch only says which to ask about: vcsim writes its answers outside its
	// locks while a reconfigure edits the device list in place, so an update can carry a
	// list that never was (the strict simulator's own reconfigures start on a copy).
	att := w.vc.DiskAttachments(nil)
	var vms []vsphere.VM
	for _, n := range []string{"worker-0", "worker-1", "bystander"} {
		vms = append(vms, w.vms(t, n)...)
	}
	for _, id := range slices.Sorted(maps.Keys(att)) {
		has, err := w.vc.ConfirmConsumers(ctx, vsphere.Disk{ID: id}, vms)
		switch {
		case err != nil:
			t.Errorf("disk %s: reading the node VMs' devices: %v", id, err)
		case len(has) > 0:
			t.Errorf("disk %s still attached to %v", id, has)
		default:
			t.Logf("disk %s: the observer's watch lags (vCenter: attached to no VM)", id)
		}
	}
	if vas, err := storage.VolumeAttachments().List(ctx, metav1.ListOptions{}); err != nil || len(vas.Items) > 0 {
		t.Errorf("VolumeAttachments remain: %d, %v", len(vas.Items), err)
	}
	if _, err := core.Nodes().Get(ctx, "bystander", metav1.GetOptions{}); err != nil {
		t.Errorf("a Node was deleted: %v", err)
	}
}
