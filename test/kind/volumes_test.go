package kind

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// testVolumeMovesBetweenWorkers: a PVC of the shipped StorageClass becomes Bound when a Pod
// on the first worker uses it; the Pod writes, is deleted, the disk is detached, and a Pod on
// the second worker reads the data back. The disk reaches each kind node as a loop device
// (hack/kind/guestdisks mirrors the simulator's attach), staged and published by
// vsphere-csi-node through the real kubelet.
func testVolumeMovesBetweenWorkers(t *testing.T) {
	ctx := context.Background()
	ns := testNamespace(t, "kind-volume")
	pvc := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: "data"},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			StorageClassName: ptr.To("vsphere-disk"),
			Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
		},
	}
	if _, err := w.kube.CoreV1().PersistentVolumeClaims(ns).Create(ctx, pvc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	token := fmt.Sprintf("written-on-%s-%d", w.workers[0], time.Now().UnixNano())
	writer := withVolume(testPod("writer", w.workers[0], "echo "+token+" >/data/token && sync && cat /data/token"), "data")
	if _, err := w.kube.CoreV1().Pods(ns).Create(ctx, writer, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitPodPhase(t, ns, "writer", corev1.PodSucceeded, 4*time.Minute)
	got, err := w.kube.CoreV1().PersistentVolumeClaims(ns).Get(ctx, "data", metav1.GetOptions{})
	if err != nil || got.Status.Phase != corev1.ClaimBound {
		t.Fatalf("claim after the writer ran: %v %v", got.Status.Phase, err)
	}
	pv := got.Spec.VolumeName
	t.Logf("claim bound to %s; the writer ran on %s", pv, w.workers[0])

	if err := w.kube.CoreV1().Pods(ns).Delete(ctx, "writer", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	took := waitFor(t, 3*time.Minute, "the writer gone and the volume detached from "+w.workers[0], func(ctx context.Context) (bool, string) {
		if _, err := w.kube.CoreV1().Pods(ns).Get(ctx, "writer", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			return false, "writer Pod still there"
		}
		vas, err := w.kube.StorageV1().VolumeAttachments().List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err.Error()
		}
		for _, va := range vas.Items {
			if va.Spec.Source.PersistentVolumeName != nil && *va.Spec.Source.PersistentVolumeName == pv {
				return false, fmt.Sprintf("VolumeAttachment %s (node %s, attached %v) still there", va.Name, va.Spec.NodeName, va.Status.Attached)
			}
		}
		return true, ""
	})
	t.Logf("detached %s after the writer's deletion", took.Round(time.Second))

	reader := withVolume(testPod("reader", w.workers[1], "cat /data/token"), "data")
	if _, err := w.kube.CoreV1().Pods(ns).Create(ctx, reader, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitPodPhase(t, ns, "reader", corev1.PodSucceeded, 4*time.Minute)
	logs, err := podLogs(ctx, ns, "reader")
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(logs) != token {
		t.Fatalf("the reader on %s read %q, want %q", w.workers[1], strings.TrimSpace(logs), token)
	}
}

// withVolume mounts the claim at /data in the Pod's container.
func withVolume(p *corev1.Pod, claim string) *corev1.Pod {
	p.Spec.Volumes = append(p.Spec.Volumes, corev1.Volume{Name: "data", VolumeSource: corev1.VolumeSource{
		PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claim},
	}})
	p.Spec.Containers[0].VolumeMounts = append(p.Spec.Containers[0].VolumeMounts, corev1.VolumeMount{Name: "data", MountPath: "/data"})
	return p
}
