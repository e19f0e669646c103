package lbcontroller

import (
	"context"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/listers"
	"k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/vsphere-cloud/provider/api/v1alpha1"
)

// vipPoolLister and nodeVMLister read VIPPools and NodeVMs (cluster-scoped) from their
// informers' caches, as a generated lister would; Get fails with a NotFound API error.
type (
	vipPoolLister = listers.ResourceIndexer[*v1alpha1.VIPPool]
	nodeVMLister  = listers.ResourceIndexer[*v1alpha1.NodeVM]
)

func newVIPPoolLister(indexer cache.Indexer) vipPoolLister {
	return listers.New[*v1alpha1.VIPPool](indexer, v1alpha1.GroupVersion.WithResource("vippools").GroupResource())
}

func newNodeVMLister(indexer cache.Indexer) nodeVMLister {
	return listers.New[*v1alpha1.NodeVM](indexer, v1alpha1.GroupVersion.WithResource("nodevms").GroupResource())
}

// newPoolInformer watches VIPPools. No resync: every change arrives as an event, and a
// resync would only rebuild the same pools.
func newPoolInformer(c client.WithWatch) cache.SharedIndexInformer {
	return newCRInformer(c, func() client.ObjectList { return &v1alpha1.VIPPoolList{} }, &v1alpha1.VIPPool{})
}

// newNodeVMInformer watches NodeVMs, so that naming a VIP's announcing ESXi host is a map
// read, not a GET per sync.
func newNodeVMInformer(c client.WithWatch) cache.SharedIndexInformer {
	return newCRInformer(c, func() client.ObjectList { return &v1alpha1.NodeVMList{} }, &v1alpha1.NodeVM{})
}

// newCRInformer watches one of our resources through c (JSON: the CRDs have no protobuf
// encoding), without resync. Like a generated informer, it streams the initial list
// (WatchList) unless c says it cannot (IsWatchListSemanticsUnSupported: fakes).
func newCRInformer(c client.WithWatch, newList func() client.ObjectList, obj runtime.Object) cache.SharedIndexInformer {
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			l := newList()
			err := c.List(ctx, l, &client.ListOptions{Raw: &o})
			return l, err
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			return c.Watch(ctx, newList(), &client.ListOptions{Raw: &o})
		},
	}
	return cache.NewSharedIndexInformer(cache.ToListWatcherWithWatchListSemantics(lw, c), obj, 0, cache.Indexers{})
}
