package controller

import (
	"context"
	"fmt"
	"net/netip"
	"sync"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"
	cloudprovider "k8s.io/cloud-provider"
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/vsphere-cloud/provider/api/v1alpha1"
	"github.com/vsphere-cloud/provider/pkg/loadbalancer"
)

// Inventory is what allocation needs from vCenter: the VMs whose guests report an address.
type Inventory interface {
	VMsReporting(ip string) []VMRef
}

// VMRef names a VM and its BIOS UUID (lower case).
type VMRef struct {
	Name string
	UUID string
}

// Provider allocates VIPs. It is the cloudprovider.LoadBalancer for class-less Services
// and runs the controller for Services of Class. All its state is rebuilt from Services'
// status when it starts; it answers nothing before that.
type Provider struct {
	inv       Inventory
	namespace string
	classless bool

	alloc  *loadbalancer.Allocator
	ready  chan struct{}
	once   sync.Once
	kube   kubernetes.Interface
	crc    client.Client
	queue  workqueue.TypedRateLimitingInterface[string]
	events record.EventRecorder

	services  cacheLister
	nodes     cacheLister
	leases    cacheLister
	poolStore cacheLister
	nodeVMs   cacheLister
	nsLabels  func(string) labels.Set
	lapses    *lapses

	mu        sync.Mutex
	lastErr   map[string]error      // class-less Services' last allocation result
	nodeUUID  map[string]string     // BIOS UUID (from providerIDs) -> Node
	nodeIPs   map[netip.Addr]string // Node address -> Node
	problems  map[string]loadbalancer.PoolProblem
	pools     []loadbalancer.Pool
	vipRanges []loadbalancer.Range // every VIPPool's addresses, valid or not
	overlaps  map[string]string    // pool -> Node addresses it holds, as last reported
}

type cacheLister interface {
	GetByKey(key string) (any, bool, error)
	List() []any
}

var _ cloudprovider.LoadBalancer = (*Provider)(nil)

// NewProvider returns a Provider; Start connects it. namespace holds the election Leases;
// classless serves Services without a loadBalancerClass.
func NewProvider(inv Inventory, namespace string, classless bool) *Provider {
	RegisterMetrics()
	p := &Provider{inv: inv, namespace: namespace, classless: classless, ready: make(chan struct{}), lastErr: map[string]error{}, lapses: newLapses(), overlaps: map[string]string{}}
	p.alloc = loadbalancer.NewAllocator(nil, p.uses)
	return p
}

// Start watches Services, Nodes, Namespaces, Leases, VIPPools and NodeVMs, rebuilds the
// allocations, then serves. It returns at once; it runs until ctx ends. Services, Nodes
// and Namespaces come from shared, the factory the cloud-provider framework's own
// controllers use (the framework starts it), so they are not watched and cached twice.
func (p *Provider) Start(ctx context.Context, cfg *rest.Config, shared informers.SharedInformerFactory) error {
	var err error
	p.once.Do(func() { err = p.start(ctx, cfg, shared) })
	return err
}

func (p *Provider) start(ctx context.Context, cfg *rest.Config, shared informers.SharedInformerFactory) error {
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	crCfg := rest.CopyConfig(cfg)
	crCfg.ContentType = "application/json"
	sch := runtime.NewScheme()
	if err := scheme.AddToScheme(sch); err != nil {
		return err
	}
	if err := v1alpha1.AddToScheme(sch); err != nil {
		return err
	}
	crc, err := client.NewWithWatch(crCfg, client.Options{Scheme: sch})
	if err != nil {
		return err
	}
	p.kube, p.crc = kube, crc
	p.queue = workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](), workqueue.TypedRateLimitingQueueConfig[string]{Name: "vsphere-vip"})
	broadcaster := record.NewBroadcaster(record.WithContext(ctx))
	broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: kube.CoreV1().Events("")})
	p.events = broadcaster.NewRecorder(scheme.Scheme, v1.EventSource{Component: "vsphere-cloud-vip"})

	svcInf := shared.Core().V1().Services().Informer()
	nodeInf := shared.Core().V1().Nodes().Informer()
	nsInf := shared.Core().V1().Namespaces().Informer()
	// Leases only in their namespace: a cluster-wide Lease informer would also cache
	// every kubelet's heartbeat Lease.
	lf := informers.NewSharedInformerFactoryWithOptions(kube, 10*time.Minute, informers.WithNamespace(p.namespace))
	leaseInf := lf.Coordination().V1().Leases().Informer()
	poolInf := newPoolInformer(crc)
	nvmInf := newNodeVMInformer(crc)
	p.services, p.nodes, p.leases, p.poolStore, p.nodeVMs = svcInf.GetStore(), nodeInf.GetStore(), leaseInf.GetStore(), poolInf.GetStore(), nvmInf.GetStore()
	p.nsLabels = func(ns string) labels.Set {
		obj, ok, _ := nsInf.GetStore().GetByKey(ns)
		if !ok {
			return nil
		}
		return obj.(*v1.Namespace).Labels
	}
	enqueueSvc := func(obj any) {
		if key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj); err == nil {
			p.queue.Add(key)
		}
	}
	_, _ = svcInf.AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: enqueueSvc, UpdateFunc: func(_, n any) { enqueueSvc(n) }, DeleteFunc: enqueueSvc})
	_, _ = nodeInf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: p.nodeChanged, DeleteFunc: p.nodeChanged,
		UpdateFunc: func(o, n any) {
			if nodeChangeMatters(o, n) {
				p.nodeChanged(n)
			}
		},
	})
	_, _ = leaseInf.AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: p.leaseAdded, UpdateFunc: p.leaseUpdated, DeleteFunc: p.leaseDeleted})
	_, _ = nvmInf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: p.nodeVMMoved,
		UpdateFunc: func(o, n any) {
			if nodeVMHostChanged(o, n) {
				p.nodeVMMoved(n)
			}
		},
	})
	lf.Start(ctx.Done())
	go poolInf.RunWithContext(ctx)
	go nvmInf.RunWithContext(ctx)
	go func() {
		log := klog.FromContext(ctx).WithName("vip")
		ctx := klog.NewContext(ctx, log)
		if !cache.WaitForCacheSync(ctx.Done(), svcInf.HasSynced, nodeInf.HasSynced, nsInf.HasSynced, leaseInf.HasSynced, poolInf.HasSynced, nvmInf.HasSynced) {
			return
		}
		p.rebuildNodes()
		p.refreshPools()
		p.restore(ctx)
		close(p.ready)
		// Pools are rebuilt on every VIPPool change, and pending Services of a Namespace
		// are retried when its labels change (namespaceSelector).
		_, _ = poolInf.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc: func(any) { p.refreshPools() }, UpdateFunc: func(_, _ any) { p.refreshPools() }, DeleteFunc: func(any) { p.refreshPools() },
		})
		_, _ = nsInf.AddEventHandler(cache.ResourceEventHandlerFuncs{UpdateFunc: p.namespaceChanged})
		log.Info("VIP allocation ready", "pools", len(p.pools))
		go func() { <-ctx.Done(); p.queue.ShutDown() }()
		go p.lapses.run(ctx, time.Second, p.leaseLapsed)
		// Nodes may claim only free VIP Leases: free those whose holder stopped renewing.
		go NewLeaseReaper(p.kube, p.namespace).Run(ctx)
		for i := 0; i < 2; i++ {
			go p.worker(ctx)
		}
	}()
	return nil
}

// restore records what every served Service holds, before anything is allocated.
func (p *Provider) restore(ctx context.Context) {
	n := 0
	for _, obj := range p.services.List() {
		svc := obj.(*v1.Service)
		if !loadbalancer.Serves(svc, p.classless) || len(loadbalancer.IngressIPs(svc)) == 0 {
			continue
		}
		req, err := loadbalancer.RequestFor(svc)
		if err != nil {
			req = loadbalancer.Request{Service: svc.Namespace + "/" + svc.Name, Namespace: svc.Namespace, TrafficPolicy: string(svc.Spec.ExternalTrafficPolicy)}
		}
		p.alloc.Restore(req, loadbalancer.IngressIPs(svc))
		n++
	}
	klog.FromContext(ctx).Info("Rebuilt VIP allocations from Service status", "services", n)
}

func (p *Provider) waitReady(ctx context.Context) error {
	select {
	case <-p.ready:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(10 * time.Second):
		return fmt.Errorf("VIP allocation is not ready yet: Services, VIPPools and existing allocations are still being read")
	}
}

func (p *Provider) nodeChanged(any) { p.rebuildNodes() }
