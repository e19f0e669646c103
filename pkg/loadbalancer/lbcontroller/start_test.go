package lbcontroller

import (
	"context"
	"net/netip"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"
	kubefake "k8s.io/client-go/kubernetes/fake"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	crfake "sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/vsphere-cloud/provider/api/v1alpha1"
	"github.com/vsphere-cloud/provider/pkg/kubeclient"
	"github.com/vsphere-cloud/provider/pkg/loadbalancer"
)

// TestRunWiresTheControllers runs the Provider on fake clients, through its watches: a
// Service of the class gets a VIP and the finalizer and its pool counts it; once the
// Service is being deleted the VIP is released, the finalizer removed and the pool's
// count drops; the VIP is then free again.
func TestRunWiresTheControllers(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	kube := kubefake.NewClientset(lbService("web", ptr.To(v1alpha1.ServiceClassVIP)), node("node-a", "uuid-a", "10.0.9.10"))
	crc := noWatchList{crfake.NewClientBuilder().WithScheme(kubeclient.Scheme()).WithStatusSubresource(&v1alpha1.VIPPool{}).
		WithObjects(vipPool("lan", "10.0.0.1-10.0.0.3")).Build()}
	shared := informers.NewSharedInformerFactory(kube, 0)
	p := NewProvider(fakeInventory{}, "vips", true)
	p.run(ctx, kube, crc, shared)
	shared.Start(ctx.Done())
	defer shared.Shutdown() // after cancel: it waits for the informers to stop
	defer cancel()

	service := func() *corev1.Service {
		svc, err := kube.CoreV1().Services("default").Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return svc
	}
	used := func() int64 {
		var o v1alpha1.VIPPool
		if err := crc.Get(ctx, client.ObjectKey{Name: "lan"}, &o); err != nil {
			t.Fatal(err)
		}
		return o.Status.Used
	}
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		if err := wait.PollUntilContextTimeout(ctx, 10*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) { return ok(), nil }); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}

	waitFor("no VIP and finalizer", func() bool {
		svc := service()
		return slices.Equal(loadbalancer.IngressIPs(svc), []netip.Addr{netip.MustParseAddr("10.0.0.1")}) && slices.Contains(svc.Finalizers, v1alpha1.FinalizerVIP)
	})
	waitFor("the pool does not count the VIP", func() bool { return used() == 1 })
	if !p.IsVIP(netip.MustParseAddr("10.0.0.1")) {
		t.Error("10.0.0.1 is not a VIP")
	}

	// The fake clientset replaces the whole object on a status update, so a status write
	// of the reconciler racing this one can undo the deletion mark (the API server keeps
	// metadata on status updates): mark it again until the finalizer goes.
	waitFor("the finalizer stays", func() bool {
		svc := service()
		if !slices.Contains(svc.Finalizers, v1alpha1.FinalizerVIP) {
			return true
		}
		if svc.DeletionTimestamp == nil {
			svc.DeletionTimestamp = ptr.To(metav1.Now())
			if _, err := kube.CoreV1().Services("default").Update(ctx, svc, metav1.UpdateOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		return false
	})
	waitFor("the pool still counts the VIP", func() bool { return used() == 0 })
	// The pool's count and the allocator's hold change in separate steps of the
	// reconciler: wait for both.
	waitFor("the VIP is still held", func() bool { return p.alloc.Held("default/web") == nil })
}

// noWatchList is a fake client that says it cannot stream an initial list (WatchList),
// as client-go's own fakes do, so that informers list and then watch.
type noWatchList struct{ client.WithWatch }

func (noWatchList) IsWatchListSemanticsUnSupported() bool { return true }
