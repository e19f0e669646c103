package lbcontroller

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	kubefake "k8s.io/client-go/kubernetes/fake"
	coordinationlisters "k8s.io/client-go/listers/coordination/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"sigs.k8s.io/controller-runtime/pkg/client"
	crfake "sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/vsphere-cloud/provider/api/v1alpha1"
	"github.com/vsphere-cloud/provider/pkg/kubeclient"
)

// testServices is a serviceReconciler over a fake clientset and caches the test fills,
// allocating from testProvider's pool lan (10.0.0.1-10.0.0.3). The caches are not fed
// by the clientset: a test puts in them what the watch would have brought.
type testServices struct {
	*serviceReconciler
	p          *Provider
	kube       *kubefake.Clientset
	svcStore   cache.Indexer
	leaseStore cache.Indexer
	nvmStore   cache.Indexer
	recorder   *record.FakeRecorder
	// usage counts the calls of usageChanged.
	usage int
}

func newIndexer() cache.Indexer {
	return cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
}

// newTestServices returns a serviceReconciler with svcs in both the clientset and the
// Service cache.
func newTestServices(t *testing.T, classless bool, svcs ...*corev1.Service) *testServices {
	t.Helper()
	p := testProvider(t, fakeInventory{})
	objs := make([]runtime.Object, 0, len(svcs))
	h := &testServices{p: p, svcStore: newIndexer(), leaseStore: newIndexer(), nvmStore: newIndexer(), recorder: record.NewFakeRecorder(20)}
	for _, svc := range svcs {
		objs = append(objs, svc)
		if err := h.svcStore.Add(svc); err != nil {
			t.Fatal(err)
		}
	}
	h.kube = kubefake.NewClientset(objs...)
	h.serviceReconciler = &serviceReconciler{
		kube: h.kube, services: corelisters.NewServiceLister(h.svcStore),
		leases:  coordinationlisters.NewLeaseLister(h.leaseStore).Leases(p.namespace),
		nodeVMs: newNodeVMLister(h.nvmStore), events: h.recorder, alloc: p.alloc, results: p.results,
		classless: classless, queue: newQueue("test-services"), lapses: newLapses(),
		usageChanged: func() { h.usage++ },
	}
	t.Cleanup(h.queue.ShutDown)
	return h
}

// get returns the Service as the clientset holds it.
func (h *testServices) get(t *testing.T, namespace, name string) *corev1.Service {
	t.Helper()
	svc, err := h.kube.CoreV1().Services(namespace).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// testPools is a poolReconciler over a fake VIPPool client and caches the test fills,
// sharing p's allocator, pools and Nodes.
type testPools struct {
	*poolReconciler
	crc       client.WithWatch
	poolStore cache.Indexer
	nodeStore cache.Indexer
	recorder  *record.FakeRecorder
	// servicesQueued counts the calls of poolsChanged.
	servicesQueued int
}

// newTestPools returns a poolReconciler with pools in both the fake client and the
// VIPPool cache, and nodes in the Node cache; the pools are built as at start.
func newTestPools(t *testing.T, p *Provider, pools []*v1alpha1.VIPPool, nodes ...*corev1.Node) *testPools {
	t.Helper()
	h := &testPools{
		crc:       crfake.NewClientBuilder().WithScheme(kubeclient.Scheme()).WithStatusSubresource(&v1alpha1.VIPPool{}).Build(),
		poolStore: newIndexer(), nodeStore: newIndexer(), recorder: record.NewFakeRecorder(20),
	}
	for _, n := range nodes {
		if err := h.nodeStore.Add(n); err != nil {
			t.Fatal(err)
		}
	}
	for _, o := range pools {
		h.createPool(t, o)
	}
	h.poolReconciler = &poolReconciler{
		crc: h.crc, vipPools: newVIPPoolLister(h.poolStore), nodes: corelisters.NewNodeLister(h.nodeStore),
		namespaces: corelisters.NewNamespaceLister(newIndexer()), events: h.recorder, alloc: p.alloc, pools: p.pools,
		nodeIdx: p.nodes, queue: newQueue("test-pools"), poolsChanged: func() { h.servicesQueued++ }, overlaps: map[string]string{},
	}
	t.Cleanup(h.queue.ShutDown)
	h.nodesSynced()
	h.rebuild()
	return h
}

// createPool creates o in the fake client and puts the stored copy in the cache.
func (h *testPools) createPool(t *testing.T, o *v1alpha1.VIPPool) {
	t.Helper()
	o = o.DeepCopy()
	if err := h.crc.Create(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	if err := h.poolStore.Add(o); err != nil {
		t.Fatal(err)
	}
}

// getPool returns the VIPPool as the fake client holds it.
func (h *testPools) getPool(t *testing.T, name string) *v1alpha1.VIPPool {
	t.Helper()
	var o v1alpha1.VIPPool
	if err := h.crc.Get(context.Background(), client.ObjectKey{Name: name}, &o); err != nil {
		t.Fatal(err)
	}
	return &o
}

// drain empties a queue and returns its keys in order.
func drain(q interface {
	Len() int
	Get() (string, bool)
	Done(string)
	Forget(string)
}) []string {
	var keys []string
	for q.Len() > 0 {
		k, _ := q.Get()
		keys = append(keys, k)
		q.Done(k)
		q.Forget(k)
	}
	return keys
}
