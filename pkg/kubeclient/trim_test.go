package kubeclient

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

func TestTrimNodeKeepsWhatControllersRead(t *testing.T) {
	n := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: "n", Labels: map[string]string{"a": "b"}, Annotations: map[string]string{"c": "d"},
			ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubelet"}}},
		Spec: corev1.NodeSpec{ProviderID: "vsphere://x", Taints: []corev1.Taint{{Key: "t"}}},
		Status: corev1.NodeStatus{
			Addresses:  []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "10.0.0.1"}},
			Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}},
			NodeInfo:   corev1.NodeSystemInfo{SystemUUID: "u"},
			Images:     []corev1.ContainerImage{{Names: []string{"registry/image:tag"}, SizeBytes: 1}},
		},
	}
	out, err := TrimNode(n)
	if err != nil {
		t.Fatal(err)
	}
	got := out.(*corev1.Node)
	if got.ManagedFields != nil || got.Status.Images != nil {
		t.Errorf("managedFields or images kept: %+v", got)
	}
	if got.Labels["a"] != "b" || got.Annotations["c"] != "d" || got.Spec.ProviderID != "vsphere://x" || len(got.Spec.Taints) != 1 ||
		len(got.Status.Addresses) != 1 || len(got.Status.Conditions) != 1 || got.Status.NodeInfo.SystemUUID != "u" {
		t.Errorf("a field controllers read was dropped: %+v", got)
	}
}

func TestTrimPodKeepsIdentityLabelsPhaseAndClaims(t *testing.T) {
	now := metav1.Now()
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", UID: types.UID("uid"), ResourceVersion: "7",
			Labels: map[string]string{"app": "db"}, Annotations: map[string]string{"big": "x"}, DeletionTimestamp: &now,
			ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubelet"}}},
		Spec: corev1.PodSpec{NodeName: "n", Containers: []corev1.Container{{Name: "c", Image: "i"}}, Volumes: []corev1.Volume{
			{Name: "data", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "c1"}}},
			{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
		}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{{Name: "c"}}},
	}
	out, err := TrimPod(p)
	if err != nil {
		t.Fatal(err)
	}
	got := out.(*corev1.Pod)
	if got.Name != "p" || got.Namespace != "ns" || got.UID != "uid" || got.ResourceVersion != "7" || got.Labels["app"] != "db" ||
		got.DeletionTimestamp == nil || got.Spec.NodeName != "n" || got.Status.Phase != corev1.PodRunning {
		t.Errorf("identity, labels, node or phase lost: %+v", got)
	}
	if len(got.Spec.Volumes) != 1 || got.Spec.Volumes[0].PersistentVolumeClaim.ClaimName != "c1" {
		t.Errorf("volumes = %+v, want only the claim c1", got.Spec.Volumes)
	}
	if got.ManagedFields != nil || got.Annotations != nil || got.Spec.Containers != nil || got.Status.ContainerStatuses != nil {
		t.Errorf("unread fields kept: %+v", got)
	}
	if p.Annotations["big"] != "x" || len(p.Spec.Containers) != 1 {
		t.Error("the input Pod was changed")
	}
}
