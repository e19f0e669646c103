package antiaffinity

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	kubefake "k8s.io/client-go/kubernetes/fake"

	"github.com/vsphere-cloud/provider/api/v1alpha1"
)

// TestNodesInNoGroupQueueNothing: Nodes no rule names (the many workers) do not start a
// whole-cluster reconcile; a grouped Node does, once, after the coalescing delay.
func TestNodesInNoGroupQueueNothing(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	kube := kubefake.NewClientset()
	f := informers.NewSharedInformerFactory(kube, 0)
	c := New(nil, nil, f.Core().V1().Nodes(), "c", nil)
	f.Start(ctx.Done())
	f.WaitForCacheSync(ctx.Done())
	create := func(n *corev1.Node) {
		if _, err := kube.CoreV1().Nodes().Create(ctx, n, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"w1", "w2", "w3"} {
		create(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}})
	}
	time.Sleep(1500 * time.Millisecond) // past the coalescing second
	if n := c.queue.Len(); n != 0 {
		t.Fatalf("%d reconciles queued for Nodes in no group, want 0", n)
	}
	create(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "db-1", Labels: map[string]string{v1alpha1.LabelAntiAffinityGroup: "db"}}})
	create(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "db-2", Labels: map[string]string{v1alpha1.LabelAntiAffinityGroup: "db"}}})
	deadline := time.Now().Add(3 * time.Second)
	for c.queue.Len() == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := c.queue.Len(); n != 1 {
		t.Fatalf("%d reconciles queued for two grouped Nodes, want 1", n)
	}
}
