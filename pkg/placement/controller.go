package placement

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	coreinformers "k8s.io/client-go/informers/core/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/vsphere-cloud/provider/api/v1alpha1"
	"github.com/vsphere-cloud/provider/internal/queueworker"
	"github.com/vsphere-cloud/provider/pkg/antiaffinity"
	"github.com/vsphere-cloud/provider/pkg/vsphere"
)

// Inventory is what the controller needs of the inventory cache. vsphere.Manager
// implements it.
type Inventory interface {
	// FindNodeVM resolves a Node's VM from the cache (see vsphere.Manager.FindNodeVM).
	FindNodeVM(ctx context.Context, q vsphere.NodeQuery) (vsphere.VM, error)
	// OnChange registers a function called after every batch of inventory changes.
	OnChange(f func(vsphere.Change))
	// WatchEvents calls f for every followed vCenter event until ctx ends.
	WatchEvents(ctx context.Context, f func(vsphere.Event))
	// MarkNodeVM sets the VM's node custom attribute (see vsphere.NodeMarkField).
	MarkNodeVM(ctx context.Context, vcenter, vmRef, value string) error
	// NodeVolumeCapacity reads how many volumes the VM can take (calls vCenter).
	NodeVolumeCapacity(ctx context.Context, vcenter, vmRef string) (vsphere.VolumeCapacity, error)
}

// Controller writes NodeVM objects. Every Node is reconciled when it changes and when the
// inventory changes; a NodeVM is written only when its status differs from the last one
// written, so a vMotion costs one status update.
type Controller struct {
	inv    Inventory
	client client.Client
	nodes  corelisters.NodeLister
	synced cache.InformerSynced
	queue  workqueue.TypedRateLimitingInterface[string]
	events record.EventRecorder
	// cluster names the Kubernetes cluster in the VM's node mark; empty turns marking off.
	cluster string
	// OutOfService turns on failover on proof (failover.go): set it before Run.
	OutOfService bool

	mu      sync.Mutex
	written map[string]v1alpha1.NodeVMStatus
	claims  map[string]map[string]struct{} // VM key -> Nodes that resolve to it
	hostOf  map[string]string              // Node -> "vcenter/host ref" of its VM
	// unresolved are Nodes whose VM was not found; any VM change may concern them.
	unresolved map[string]struct{}
	capacity   capacityMemo
}

// newState returns a Controller with its queue and bookkeeping maps, and nothing else.
func newState() *Controller {
	return &Controller{
		queue:   workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](), workqueue.TypedRateLimitingQueueConfig[string]{Name: "placement"}),
		written: map[string]v1alpha1.NodeVMStatus{}, claims: map[string]map[string]struct{}{},
		hostOf: map[string]string{}, unresolved: map[string]struct{}{},
		capacity: capacityMemo{known: map[string]vsphere.VolumeCapacity{}, failed: map[string]time.Time{}},
	}
}

// New builds the controller. c must know the v1alpha1 types; events records vCenter
// events on Nodes.
func New(inv Inventory, c client.Client, nodes coreinformers.NodeInformer, events record.EventRecorder, cluster string) *Controller {
	ctl := newState()
	ctl.inv, ctl.client, ctl.nodes, ctl.synced, ctl.events, ctl.cluster = inv, c, nodes.Lister(), nodes.Informer().HasSynced, events, cluster
	_, _ = nodes.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    ctl.enqueue,
		UpdateFunc: func(_, n any) { ctl.enqueue(n) },
		DeleteFunc: func(obj any) {
			if key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj); err == nil {
				ctl.forget(key)
			}
		},
	})
	inv.OnChange(ctl.onChange)
	return ctl
}

func (c *Controller) enqueue(obj any) {
	if key, err := cache.MetaNamespaceKeyFunc(obj); err == nil {
		c.queue.Add(key)
	}
}

func (c *Controller) enqueueAll() {
	nodes, err := c.nodes.List(labels.Everything())
	if err != nil {
		return
	}
	for _, n := range nodes {
		c.queue.Add(n.Name)
	}
}

func (c *Controller) forget(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.written, name)
	delete(c.hostOf, name)
	delete(c.unresolved, name)
	for k, set := range c.claims {
		if _, ok := set[name]; ok {
			delete(set, name)
			for other := range set {
				c.queue.Add(other)
			}
		}
		if len(set) == 0 {
			delete(c.claims, k)
			delete(c.capacity.known, k) // read again if a Node comes back to the VM
			delete(c.capacity.failed, k)
		}
	}
}

// Run processes the queue with workers until ctx ends.
func (c *Controller) Run(ctx context.Context, workers int) {
	defer utilruntime.HandleCrash()
	defer c.queue.ShutDown()
	log := klog.FromContext(ctx).WithName("placement")
	ctx = klog.NewContext(ctx, log)
	if !cache.WaitForCacheSync(ctx.Done(), c.synced) {
		return
	}
	c.inv.WatchEvents(ctx, c.onEvent)
	// The inventory may have synced before the informer: sweep once, then periodically as
	// a safety net for missed notifications.
	go wait.UntilWithContext(ctx, func(context.Context) { c.enqueueAll() }, 5*time.Minute)
	for i := 0; i < workers; i++ {
		go wait.UntilWithContext(ctx, c.worker, time.Second)
	}
	log.Info("Placement controller started")
	<-ctx.Done()
}

func (c *Controller) worker(ctx context.Context) {
	queueworker.Run(ctx, c.queue, c.reconcile, func(ctx context.Context, key string, err error) {
		klog.FromContext(ctx).Error(err, "Reconciling NodeVM failed; retrying", "node", key)
	})
}

func (c *Controller) reconcile(ctx context.Context, name string) error {
	node, err := c.nodes.Get(name)
	if apierrors.IsNotFound(err) {
		c.forget(name)
		return nil // the NodeVM goes with the Node (owner reference)
	}
	if err != nil {
		return err
	}
	q, _ := vsphere.QueryForNode(node) // another provider's ID: still matched by SystemUUID and name
	vm, lookupErr := c.inv.FindNodeVM(ctx, q)
	c.mu.Lock()
	if lookupErr != nil {
		c.unresolved[name] = struct{}{}
	} else {
		delete(c.unresolved, name)
	}
	c.mu.Unlock()
	var dups []string
	if lookupErr == nil {
		dups = c.claim(vm.VCenter+"/"+vm.Ref, name)
		host := vm.VCenter + "/" + vm.HostRef
		c.mu.Lock()
		was := c.hostOf[name]
		c.hostOf[name] = host
		c.mu.Unlock()
		if was != host {
			c.queueHostMates(name, was, host)
		}
		if mark := c.cluster + "/" + name; c.cluster != "" && vm.Fresh && len(dups) == 0 && vm.NodeMark != mark {
			// Best effort: a missing privilege must not stop placement from being reported.
			if err := c.inv.MarkNodeVM(ctx, vm.VCenter, vm.Ref, mark); err != nil {
				klog.FromContext(ctx).Error(err, "Cannot mark the node VM in vCenter", "node", klog.KObj(node), "vm", vm.Ref)
			}
		}
	}
	failoverErr := c.failover(ctx, node, vm, lookupErr, dups)
	return errors.Join(failoverErr, c.writeStatus(ctx, node, vm, lookupErr, dups))
}

// writeStatus writes the Node's NodeVM status when it differs from the last one written.
func (c *Controller) writeStatus(ctx context.Context, node *corev1.Node, vm vsphere.VM, lookupErr error, dups []string) error {
	name := node.Name
	c.mu.Lock()
	prev, known := c.written[name]
	c.mu.Unlock()
	var obj *v1alpha1.NodeVM // read from the API only when needed
	if !known {
		var err error
		if obj, err = c.getOrCreate(ctx, node); err != nil {
			return err
		}
		prev = obj.Status
	}
	want := desiredStatus(prev, vm, lookupErr, dups)
	if lookupErr == nil {
		c.setVolumeCapacity(ctx, &want, prev, vm)
		groups := antiaffinity.Groups(node)
		setAntiAffinity(&want, groups, c.hostMates(name, vm.VCenter+"/"+vm.HostRef, groups), vm.Host)
		if !apiequality.Semantic.DeepEqual(meta.FindStatusCondition(prev.Conditions, v1alpha1.ConditionAntiAffinity),
			meta.FindStatusCondition(want.Conditions, v1alpha1.ConditionAntiAffinity)) {
			// A Node joining or leaving a group changes its host mates' condition too.
			c.queueHostMates(name, vm.VCenter+"/"+vm.HostRef)
		}
	}
	if apiequality.Semantic.DeepEqual(prev, want) {
		c.remember(name, want)
		return nil
	}
	if obj == nil {
		obj = &v1alpha1.NodeVM{}
		if err := c.client.Get(ctx, client.ObjectKey{Name: name}, obj); err != nil {
			return err
		}
	}
	obj.Status = want
	if err := c.client.Status().Update(ctx, obj); err != nil {
		return fmt.Errorf("updating NodeVM %s status: %w", name, err)
	}
	c.remember(name, want)
	c.recordAntiAffinity(node, prev, want)
	klog.FromContext(ctx).V(2).Info("NodeVM updated", "node", klog.KObj(node), "vmName", want.VMName, "host", want.Host.Name)
	return nil
}

// getOrCreate returns the Node's NodeVM, creating it (owned by the Node) if missing.
func (c *Controller) getOrCreate(ctx context.Context, node *corev1.Node) (*v1alpha1.NodeVM, error) {
	obj := &v1alpha1.NodeVM{}
	err := c.client.Get(ctx, client.ObjectKey{Name: node.Name}, obj)
	if !apierrors.IsNotFound(err) {
		return obj, err
	}
	obj = &v1alpha1.NodeVM{
		ObjectMeta: metav1.ObjectMeta{
			Name: node.Name,
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: "v1", Kind: "Node", Name: node.Name, UID: node.UID,
			}},
		},
		Spec: v1alpha1.NodeVMSpec{NodeName: node.Name},
	}
	err = c.client.Create(ctx, obj)
	if apierrors.IsAlreadyExists(err) {
		err = c.client.Get(ctx, client.ObjectKey{Name: node.Name}, obj)
	}
	if err != nil {
		return nil, fmt.Errorf("creating NodeVM %s: %w", node.Name, err)
	}
	return obj, nil
}
func (c *Controller) remember(name string, st v1alpha1.NodeVMStatus) {
	c.mu.Lock()
	c.written[name] = st
	c.mu.Unlock()
}

// claim records that node resolves to vmKey and returns the other Nodes that resolve to
// it too. When the set of claimants changes, the others are re-queued so that every one
// of them carries (or drops) the duplicate condition.
func (c *Controller) claim(vmKey, node string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var changed []string
	for k, set := range c.claims {
		if _, ok := set[node]; ok && k != vmKey {
			delete(set, node)
			for other := range set {
				changed = append(changed, other)
			}
			if len(set) == 0 {
				delete(c.claims, k)
			}
		}
	}
	set := c.claims[vmKey]
	if set == nil {
		set = map[string]struct{}{}
		c.claims[vmKey] = set
	}
	var dups []string
	for other := range set {
		if other != node {
			dups = append(dups, other)
		}
	}
	if _, ok := set[node]; !ok {
		set[node] = struct{}{}
		changed = append(changed, dups...)
	}
	for _, n := range changed {
		c.queue.Add(n)
	}
	sort.Strings(dups)
	return dups
}
