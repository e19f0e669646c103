package e2e

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/vsphere-cloud/provider/pkg/volumes"
	"github.com/vsphere-cloud/provider/pkg/vsphere"
	"github.com/vsphere-cloud/provider/test/framework"
)

// TestOneInaccessibleDatastore: LocalDS_1 becomes inaccessible (all paths down) while it
// holds an attached volume and an unattached one. Twenty claims made meanwhile are all
// provisioned on LocalDS_0 and attach; the unattached volume's claim is deleted, and its
// disk is not (vCenter cannot be asked), nor reported deleted: its PV waits, and goes
// with its disk once the datastore is back.
func TestOneInaccessibleDatastore(t *testing.T) {
	w := startFaultWorld(t, "ds-isolation", nil, func(inv *framework.SimInventory) { inv.Datastores = 2 })
	ctx := context.Background()
	_, err := w.cp.Client.StorageV1().StorageClasses().Create(ctx, &storagev1.StorageClass{
		ObjectMeta: metav1.ObjectMeta{Name: "ds1"}, Provisioner: volumes.DriverName,
		Parameters:    map[string]string{volumes.ParamDatastore: "LocalDS_1"},
		ReclaimPolicy: ptr.To(corev1.PersistentVolumeReclaimDelete), VolumeBindingMode: ptr.To(storagev1.VolumeBindingImmediate),
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	onDS1 := func(name string) string {
		t.Helper()
		_, err := w.cp.Client.CoreV1().PersistentVolumeClaims("default").Create(ctx, &corev1.PersistentVolumeClaim{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}, StorageClassName: ptr.To("ds1"),
				Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("64Mi")}}},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var pv string
		if !framework.WaitFor(60*time.Second, 100*time.Millisecond, func() bool { pv = w.boundPV(name); return pv != "" }) {
			t.Fatalf("claim %s on LocalDS_1 not bound", name)
		}
		return pv
	}
	attachedPV, offlinePV := onDS1("on-ds1-attached"), onDS1("on-ds1-offline")
	w.attachment(t, "va-ds1", attachedPV, "worker-0")
	if !framework.WaitFor(60*time.Second, 100*time.Millisecond, func() bool { return w.attached("va-ds1") }) {
		t.Fatal("the volume on LocalDS_1 did not attach")
	}
	offlineID := volumeHandle(t, w, offlinePV)

	w.must(t, w.sim.SetDatastoreInaccessible(ctx, "LocalDS_1", true))
	start := time.Now()
	for i := range 20 {
		w.claim(t, fmt.Sprintf("while-down-%d", i))
	}
	if err := w.cp.Client.CoreV1().PersistentVolumeClaims("default").Delete(ctx, "on-ds1-offline", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	pvs := make([]string, 20)
	if !framework.WaitFor(120*time.Second, 200*time.Millisecond, func() bool {
		for i := range pvs {
			if pvs[i] == "" {
				pvs[i] = w.boundPV(fmt.Sprintf("while-down-%d", i))
			}
			if pvs[i] == "" {
				return false
			}
		}
		return true
	}) {
		t.Fatalf("not all 20 claims bound while LocalDS_1 is inaccessible: %v", pvs)
	}
	t.Logf("20 claims bound in %s with LocalDS_1 inaccessible", time.Since(start).Round(10*time.Millisecond))
	for _, pv := range pvs {
		d, err := w.vc.Disk(ctx, volumeHandle(t, w, pv))
		if err != nil || d.Datastore != "LocalDS_0" {
			t.Errorf("PV %s: disk %+v, %v; want it on LocalDS_0", pv, d, err)
		}
	}
	for i := range 3 {
		w.attachment(t, fmt.Sprintf("va-down-%d", i), pvs[i], "worker-0")
	}
	if !framework.WaitFor(60*time.Second, 100*time.Millisecond, func() bool {
		return w.attached("va-down-0") && w.attached("va-down-1") && w.attached("va-down-2")
	}) {
		t.Fatal("volumes on LocalDS_0 did not attach to a VM that also has one on the inaccessible datastore")
	}

	// The deleted claim's volume: its PV stays and its disk is kept while vCenter cannot
	// be asked about it.
	time.Sleep(10 * time.Second)
	if _, err := w.cp.Client.CoreV1().PersistentVolumes().Get(ctx, offlinePV, metav1.GetOptions{}); err != nil {
		t.Fatalf("the PV of a volume on the inaccessible datastore went: %v", err)
	}
	w.must(t, w.sim.SetDatastoreInaccessible(ctx, "LocalDS_1", false))
	if !framework.WaitFor(180*time.Second, 500*time.Millisecond, func() bool {
		_, err := w.cp.Client.CoreV1().PersistentVolumes().Get(ctx, offlinePV, metav1.GetOptions{})
		return err != nil
	}) {
		t.Fatal("the PV was not deleted once the datastore was back")
	}
	if _, err := w.vc.Disk(ctx, offlineID); !errors.Is(err, vsphere.ErrNotFound) {
		t.Fatalf("after its PV went, disk %s: %v; want not found", offlineID, err)
	}
}

func volumeHandle(t *testing.T, w *faultWorld, pv string) string {
	t.Helper()
	p, err := w.cp.Client.CoreV1().PersistentVolumes().Get(context.Background(), pv, metav1.GetOptions{})
	if err != nil || p.Spec.CSI == nil {
		t.Fatalf("PV %s: %v", pv, err)
	}
	return p.Spec.CSI.VolumeHandle
}
