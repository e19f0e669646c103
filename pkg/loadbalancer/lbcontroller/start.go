package lbcontroller

import (
	"context"
	"time"

	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/vsphere-cloud/provider/pkg/kubeclient"
	"github.com/vsphere-cloud/provider/pkg/loadbalancer"
)

// Workers per controller; the pools' status is cheap next to a Service's sync.
const (
	serviceWorkers = 2
	poolWorkers    = 1
)

// leaseResync is the resync period of the VIP Lease informer.
const leaseResync = 10 * time.Minute

// Start watches Services, Nodes, Namespaces, Leases, VIPPools and NodeVMs, rebuilds the
// allocations, then serves. It returns at once; it runs until ctx ends. Services, Nodes
// and Namespaces come from shared, the factory the cloud-provider framework's own
// controllers use (the framework starts it), so they are not watched and cached twice.
// Only the first call does anything.
func (p *Provider) Start(ctx context.Context, cfg *rest.Config, shared informers.SharedInformerFactory) error {
	var err error
	p.once.Do(func() {
		var kube kubernetes.Interface
		var crc client.WithWatch
		if kube, crc, err = newClients(cfg); err == nil {
			p.run(ctx, kube, crc, shared)
		}
	})
	return err
}

// newClients returns the typed client of core objects and the client of our resources
// (JSON: the CRDs have no protobuf encoding; with watches, for the VIPPool and NodeVM
// informers).
func newClients(cfg *rest.Config) (kubernetes.Interface, client.WithWatch, error) {
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, nil, err
	}
	crCfg := rest.CopyConfig(cfg)
	crCfg.ContentType = runtime.ContentTypeJSON
	crc, err := client.NewWithWatch(crCfg, client.Options{Scheme: kubeclient.Scheme()})
	if err != nil {
		return nil, nil, err
	}
	return kube, crc, nil
}

// run builds the watches and both controllers, and starts them: the controllers' workers
// only once every cache is read and the allocations are rebuilt.
func (p *Provider) run(ctx context.Context, kube kubernetes.Interface, crc client.WithWatch, shared informers.SharedInformerFactory) {
	events := kubeclient.Recorder(ctx, kube, "vsphere-cloud-vip")

	svcInf := shared.Core().V1().Services()
	nodeInf := shared.Core().V1().Nodes()
	nsInf := shared.Core().V1().Namespaces()
	// Leases only in their namespace: a cluster-wide Lease informer would also cache
	// every kubelet's heartbeat Lease.
	lf := informers.NewSharedInformerFactoryWithOptions(kube, leaseResync, informers.WithNamespace(p.namespace))
	leaseInf := lf.Coordination().V1().Leases()
	poolInf := newPoolInformer(crc)
	nvmInf := newNodeVMInformer(crc)

	svcs := &serviceReconciler{
		kube: kube, services: svcInf.Lister(), leases: leaseInf.Lister().Leases(p.namespace),
		nodeVMs: newNodeVMLister(nvmInf.GetIndexer()), events: events, alloc: p.alloc, results: p.results,
		classless: p.classless, queue: newQueue("vsphere-vip-services"), lapses: newLapses(),
	}
	pools := &poolReconciler{
		crc: crc, vipPools: newVIPPoolLister(poolInf.GetIndexer()), nodes: nodeInf.Lister(), namespaces: nsInf.Lister(),
		events: events, alloc: p.alloc, pools: p.pools, nodeIdx: p.nodes, queue: newQueue("vsphere-vip-pools"),
		poolsChanged: svcs.enqueueAll, overlaps: map[string]string{},
	}
	svcs.usageChanged = pools.enqueueAll
	p.services, p.vipPools = svcs, pools

	_, _ = svcInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: svcs.enqueueObject, UpdateFunc: func(_, n any) { svcs.enqueueObject(n) }, DeleteFunc: svcs.enqueueObject,
	})
	_, _ = nodeInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: pools.nodeChanged, DeleteFunc: pools.nodeChanged,
		UpdateFunc: func(o, n any) {
			if nodeChangeMatters(o, n) {
				pools.nodeChanged(n)
			}
		},
	})
	_, _ = leaseInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: svcs.leaseAdded, UpdateFunc: svcs.leaseUpdated, DeleteFunc: svcs.leaseDeleted})
	_, _ = nvmInf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: svcs.nodeVMMoved,
		UpdateFunc: func(o, n any) {
			if nodeVMHostChanged(o, n) {
				svcs.nodeVMMoved(n)
			}
		},
	})
	lf.Start(ctx.Done())
	go poolInf.RunWithContext(ctx)
	go nvmInf.RunWithContext(ctx)
	go func() {
		<-ctx.Done()
		svcs.queue.ShutDown()
		pools.queue.ShutDown()
	}()
	go func() {
		log := klog.FromContext(ctx).WithName("vip")
		ctx := klog.NewContext(ctx, log)
		if !cache.WaitForCacheSync(ctx.Done(), svcInf.Informer().HasSynced, nodeInf.Informer().HasSynced, nsInf.Informer().HasSynced,
			leaseInf.Informer().HasSynced, poolInf.HasSynced, nvmInf.HasSynced) {
			return
		}
		pools.nodesSynced()
		pools.rebuild()
		p.restore(ctx, svcs.services)
		close(p.ready)
		// Pools are rebuilt on every VIPPool change, and pending Services of a Namespace
		// are retried when its labels change (namespaceSelector).
		_, _ = poolInf.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc: pools.poolEvent, UpdateFunc: func(_, n any) { pools.poolEvent(n) }, DeleteFunc: pools.poolEvent,
		})
		_, _ = nsInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{UpdateFunc: svcs.namespaceChanged})
		built, _ := p.pools.snapshot()
		log.Info("VIP allocation ready", "pools", len(built))
		go svcs.lapses.run(ctx, time.Second, svcs.leaseLapsed)
		// Nodes may claim only free VIP Leases: free those whose holder stopped renewing.
		go NewLeaseReaper(kube, p.namespace).Run(ctx)
		svcs.run(ctx, serviceWorkers)
		pools.run(ctx, poolWorkers)
	}()
}

// restore records what every served Service holds, before anything is allocated.
func (p *Provider) restore(ctx context.Context, services corelisters.ServiceLister) {
	svcs, err := services.List(labels.Everything())
	if err != nil {
		return // a cache List fails only on a bad selector
	}
	n := 0
	for _, svc := range svcs {
		if !loadbalancer.Serves(svc, p.classless) || len(loadbalancer.IngressIPs(svc)) == 0 {
			continue
		}
		req, err := loadbalancer.RequestFor(svc)
		if err != nil {
			req = loadbalancer.Request{Service: serviceKey(svc), Namespace: svc.Namespace, TrafficPolicy: string(svc.Spec.ExternalTrafficPolicy)}
		}
		p.alloc.Restore(req, loadbalancer.IngressIPs(svc))
		n++
	}
	klog.FromContext(ctx).Info("Rebuilt VIP allocations from Service status", "services", n)
}
