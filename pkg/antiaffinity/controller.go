package antiaffinity

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	coreinformers "k8s.io/client-go/informers/core/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"

	"github.com/vsphere-cloud/provider/internal/queueworker"
	"github.com/vsphere-cloud/provider/pkg/vsphere"
)

// Inventory resolves Nodes' VMs from the cache; vsphere.Manager implements it.
type Inventory interface {
	FindNodeVM(ctx context.Context, q vsphere.NodeQuery) (vsphere.VM, error)
}

// Rules reads and changes a vSphere cluster's VM-VM anti-affinity rules; vsphere.Manager
// implements it. Both call vCenter.
type Rules interface {
	AntiAffinityRules(ctx context.Context, vcenter, clusterRef string) ([]vsphere.AntiAffinityRule, error)
	UpdateAntiAffinityRules(ctx context.Context, vcenter, clusterRef string, changes []vsphere.RuleChange) error
}

// Resync is how often every cluster's rules are read again, to repair rules changed or
// deleted in vCenter; between resyncs vCenter is called only when membership changes.
const Resync = 10 * time.Minute

// key is the queue's only key: every change reconciles all groups.
const key = "rules"

// Controller keeps the rules. Each reconcile resolves every grouped Node's VM from the
// cache and calls vCenter only for clusters whose desired rules differ from those last
// applied (or at each Resync).
type Controller struct {
	inv    Inventory
	rules  Rules
	nodes  corelisters.NodeLister
	synced cache.InformerSynced
	queue  workqueue.TypedRateLimitingInterface[string]
	// cluster is --cluster-name; clusterUID reads the kube-system Namespace's UID; prefix
	// is set from both at the first reconcile.
	cluster    string
	clusterUID func(ctx context.Context) (string, error)
	prefix     string

	mu sync.Mutex
	// applied is what each cluster was last made to hold; nil forces a read.
	applied map[clusterKey]map[string][]string
}

// New builds the controller for the Kubernetes cluster named cluster (--cluster-name);
// clusterUID returns its kube-system Namespace's UID (see RulePrefix).
func New(inv Inventory, rules Rules, nodes coreinformers.NodeInformer, cluster string, clusterUID func(context.Context) (string, error)) *Controller {
	c := &Controller{
		inv: inv, rules: rules, nodes: nodes.Lister(), synced: nodes.Informer().HasSynced, cluster: cluster, clusterUID: clusterUID,
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "anti-affinity"}),
		applied: map[clusterKey]map[string][]string{},
	}
	// A reconcile reads every Node: events are coalesced (one reconcile per coalesce at
	// most), and Nodes in no group, which no rule names, queue nothing. Queueing one on
	// every Node event made 10,000 Nodes registering together quadratic (27 % of
	// cloud-controller's CPU, make bench-scale).
	queue := func() { c.queue.AddAfter(key, coalesce) }
	_, _ = nodes.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) {
			if grouped(obj) {
				queue()
			}
		},
		UpdateFunc: func(o, n any) {
			on, ok1 := o.(*corev1.Node)
			nn, ok2 := n.(*corev1.Node)
			if !ok1 || !ok2 || !slices.Equal(Groups(on), Groups(nn)) || on.Spec.ProviderID != nn.Spec.ProviderID && len(Groups(nn)) > 0 {
				queue()
			}
		},
		DeleteFunc: func(obj any) {
			if grouped(obj) {
				queue()
			}
		},
	})
	return c
}

// coalesce is how long Node events wait to be reconciled together.
const coalesce = time.Second

// grouped reports whether obj is a Node in an anti-affinity group, or may be (a delete
// seen only as its final state unknown).
func grouped(obj any) bool {
	n, ok := obj.(*corev1.Node)
	return !ok || len(Groups(n)) > 0
}

// Run reconciles until ctx ends: on Node changes, and every Resync from a fresh read. A
// Node's VM that moves to another vSphere cluster is picked up at the next resync.
func (c *Controller) Run(ctx context.Context) {
	defer utilruntime.HandleCrash()
	defer c.queue.ShutDown()
	log := klog.FromContext(ctx).WithName("anti-affinity")
	ctx = klog.NewContext(ctx, log)
	if !cache.WaitForCacheSync(ctx.Done(), c.synced) {
		return
	}
	go wait.UntilWithContext(ctx, func(context.Context) {
		c.mu.Lock()
		c.applied = map[clusterKey]map[string][]string{}
		c.mu.Unlock()
		c.queue.Add(key)
	}, Resync)
	go wait.UntilWithContext(ctx, c.worker, time.Second)
	log.Info("Anti-affinity controller started", "clusterName", c.cluster)
	<-ctx.Done()
}

func (c *Controller) worker(ctx context.Context) {
	reconcile := func(ctx context.Context, _ string) error { return c.Reconcile(ctx) }
	queueworker.Run(ctx, c.queue, reconcile, func(ctx context.Context, _ string, err error) {
		klog.FromContext(ctx).Error(err, "Keeping anti-affinity rules failed; retrying")
	})
}

// Reconcile makes every vSphere cluster hold the rules of the groups' current members.
func (c *Controller) Reconcile(ctx context.Context) error {
	if c.prefix == "" {
		uid, err := c.clusterUID(ctx)
		if err != nil {
			return fmt.Errorf("reading the kube-system Namespace's UID for the rule names: %w", err)
		}
		c.prefix = RulePrefix(c.cluster, uid)
		klog.FromContext(ctx).Info("Anti-affinity rules named", "rulePrefix", c.prefix)
	}
	nodes, err := c.nodes.List(labels.Everything())
	if err != nil {
		return err
	}
	var members []member
	for _, n := range nodes {
		groups := Groups(n)
		if len(groups) == 0 {
			continue
		}
		q, ours := vsphere.QueryForNode(n)
		if !ours {
			continue
		}
		vm, lookupErr := c.inv.FindNodeVM(ctx, q)
		m, err := resolve(n, groups, vm, lookupErr)
		if err != nil {
			return fmt.Errorf("rules left as they are: %w", err)
		}
		if m != nil {
			members = append(members, *m)
		}
	}
	want := desired(c.prefix, members)
	c.mu.Lock()
	for ck := range c.applied {
		if _, ok := want[ck]; !ok {
			want[ck] = map[string][]string{} // a cluster our groups left: remove our rules there
		}
	}
	c.mu.Unlock()
	var errs []error
	for _, ck := range sortedKeys(want) {
		if err := c.sync(ctx, ck, want[ck]); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// sync makes one cluster hold want, calling vCenter only when want differs from what was
// applied last.
func (c *Controller) sync(ctx context.Context, ck clusterKey, want map[string][]string) error {
	c.mu.Lock()
	last, known := c.applied[ck]
	c.mu.Unlock()
	if known && maps.EqualFunc(last, want, slices.Equal[[]string]) {
		return nil
	}
	current, err := c.rules.AntiAffinityRules(ctx, ck.vcenter, ck.ref)
	if err != nil {
		return err
	}
	todo := changes(c.prefix, current, want)
	if err := c.rules.UpdateAntiAffinityRules(ctx, ck.vcenter, ck.ref, todo); err != nil {
		return err
	}
	for _, ch := range todo {
		klog.FromContext(ctx).Info("Anti-affinity rule changed", "vcenter", ck.vcenter, "cluster", ck.ref,
			"rule", ch.Rule.Name, "removed", ch.Remove, "vms", ch.Rule.VMs)
	}
	c.mu.Lock()
	if len(want) == 0 {
		delete(c.applied, ck)
	} else {
		c.applied[ck] = want
	}
	c.mu.Unlock()
	return nil
}

func sortedKeys(m map[clusterKey]map[string][]string) []clusterKey {
	out := make([]clusterKey, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.SortFunc(out, func(a, b clusterKey) int {
		if a.vcenter != b.vcenter {
			if a.vcenter < b.vcenter {
				return -1
			}
			return 1
		}
		if a.ref < b.ref {
			return -1
		}
		if a.ref > b.ref {
			return 1
		}
		return 0
	})
	return out
}
