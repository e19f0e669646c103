package framework

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"
)

// UninitializedTaint is the taint kubelet adds with --cloud-provider=external.
const UninitializedTaint = "node.cloudprovider.kubernetes.io/uninitialized"

// RegisterNode creates a Node the way kubelet with --cloud-provider=external does: the
// uninitialized taint, no providerID, the SystemUUID it read from DMI, a Hostname address
// and a Ready condition.
func RegisterNode(ctx context.Context, c kubernetes.Interface, name, systemUUID string) error {
	// kubelet sends its status with the Node it creates.
	n := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"kubernetes.io/hostname": name}},
		Spec:       corev1.NodeSpec{Taints: []corev1.Taint{{Key: UninitializedTaint, Value: "true", Effect: corev1.TaintEffectNoSchedule}}},
		Status: corev1.NodeStatus{
			NodeInfo:   corev1.NodeSystemInfo{SystemUUID: systemUUID, KubeletVersion: "corev1.37.1"},
			Addresses:  []corev1.NodeAddress{{Type: corev1.NodeHostName, Address: name}},
			Conditions: []corev1.NodeCondition{readyCondition(corev1.ConditionTrue)},
		},
	}
	created, err := c.CoreV1().Nodes().Create(ctx, n, metav1.CreateOptions{})
	if err != nil {
		return err
	}
	if created.Status.NodeInfo.SystemUUID != systemUUID || len(created.Status.Conditions) == 0 {
		return fmt.Errorf("node %s: the API server dropped the status sent with the create", name)
	}
	return nil
}

// SetReady sets the Node's Ready condition, as kubelet (True) or the node lifecycle
// controller after missed heartbeats (Unknown) would.
func SetReady(ctx context.Context, c kubernetes.Interface, name string, status corev1.ConditionStatus) error {
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		n, err := c.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		cond := readyCondition(status)
		replaced := false
		for i := range n.Status.Conditions {
			if n.Status.Conditions[i].Type == corev1.NodeReady {
				n.Status.Conditions[i] = cond
				replaced = true
			}
		}
		if !replaced {
			n.Status.Conditions = append(n.Status.Conditions, cond)
		}
		_, err = c.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{})
		return err
	})
}

func readyCondition(status corev1.ConditionStatus) corev1.NodeCondition {
	now := metav1.NewTime(time.Now())
	return corev1.NodeCondition{Type: corev1.NodeReady, Status: status, Reason: "KubeletReady", LastHeartbeatTime: now, LastTransitionTime: now}
}

// Initialized reports whether the cloud node controller has initialized the Node.
func Initialized(n *corev1.Node) bool {
	if n.Spec.ProviderID == "" {
		return false
	}
	for _, t := range n.Spec.Taints {
		if t.Key == UninitializedTaint {
			return false
		}
	}
	return true
}

// HasTaint reports whether the Node carries a taint with key.
func HasTaint(n *corev1.Node, key string) bool {
	for _, t := range n.Spec.Taints {
		if t.Key == key {
			return true
		}
	}
	return false
}
