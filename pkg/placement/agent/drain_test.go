package agent

import (
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestEvictable(t *testing.T) {
	now := metav1.Now()
	for _, tc := range []struct {
		name string
		pod  v1.Pod
		want bool
	}{
		{"plain", v1.Pod{}, true},
		{"daemonset", v1.Pod{ObjectMeta: metav1.ObjectMeta{OwnerReferences: []metav1.OwnerReference{{Kind: "DaemonSet"}}}}, false},
		{"mirror", v1.Pod{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{v1.MirrorPodAnnotationKey: "x"}}}, false},
		{"terminating", v1.Pod{ObjectMeta: metav1.ObjectMeta{DeletionTimestamp: &now}}, false},
		{"succeeded", v1.Pod{Status: v1.PodStatus{Phase: v1.PodSucceeded}}, false},
		{"replicaset", v1.Pod{ObjectMeta: metav1.ObjectMeta{OwnerReferences: []metav1.OwnerReference{{Kind: "ReplicaSet"}}}}, true},
	} {
		if got := evictable(&tc.pod); got != tc.want {
			t.Errorf("%s: evictable = %v, want %v", tc.name, got, tc.want)
		}
	}
}
