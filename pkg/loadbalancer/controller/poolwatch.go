package controller

import (
	"context"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/vsphere-cloud/provider/api/v1alpha1"
)

// newPoolInformer watches VIPPools through c (JSON: the CRD has no protobuf encoding). No
// resync: every change arrives as an event, and a resync would only rebuild the same pools.
func newPoolInformer(c client.WithWatch) cache.SharedIndexInformer {
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			var l v1alpha1.VIPPoolList
			err := c.List(ctx, &l, &client.ListOptions{Raw: &o})
			return &l, err
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			return c.Watch(ctx, &v1alpha1.VIPPoolList{}, &client.ListOptions{Raw: &o})
		},
	}
	return cache.NewSharedIndexInformer(lw, &v1alpha1.VIPPool{}, 0, cache.Indexers{})
}
