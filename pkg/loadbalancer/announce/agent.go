package announce

import (
	"context"
	"net/netip"
	"sync"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/vsphere-cloud/provider/api/v1alpha1"
	"github.com/vsphere-cloud/provider/pkg/loadbalancer"
)

// Config configures an Agent.
type Config struct {
	NodeName string
	// Namespace holds the VIP Leases.
	Namespace string
	// Client reads from a cache (Services, EndpointSlices, VIPPools, Leases of Namespace,
	// this Node and its NodeVM) and writes Leases.
	Client    client.Client
	Dataplane Dataplane
	// Interface, when set, carries every VIP; otherwise the interface whose MAC is the
	// VM's NIC on the pool's network (from the NodeVM).
	Interface string
	// LeaseDuration is how long a silent leader keeps a VIP (default 2s, whole seconds:
	// the Lease's unit); leaders renew every RenewInterval (default 500ms); the loop runs
	// every Tick (default 100ms).
	LeaseDuration time.Duration
	RenewInterval time.Duration
	Tick          time.Duration
	// FenceMargin is how long before any other node may take a VIP its leader removes
	// the address: at the send time of its last successful Lease write plus
	// LeaseDuration minus FenceMargin, on this node's monotonic clock, whatever the API
	// server does meanwhile (default a quarter of LeaseDuration).
	FenceMargin time.Duration
	// WriteTimeout bounds every Lease write (default RenewInterval): a stalled API
	// connection must not stall the renewals of the next round.
	WriteTimeout time.Duration
}

// Agent announces the VIPs this node wins.
type Agent struct {
	cfg      Config
	leaseDur time.Duration // the Lease's LeaseDurationSeconds as a Duration

	// mu guards held (and freeSince while a round's Lease writes run): the fence goroutine removes addresses whose deadline passed while
	// the election loop may be waiting for the API server.
	mu   sync.Mutex
	held map[netip.Addr]*held

	observed  map[string]observation
	freeSince map[netip.Addr]time.Time
	now       func() time.Time
}

type observation struct {
	rv string
	at time.Time
}

// New returns an Agent.
func New(cfg Config) *Agent {
	if cfg.LeaseDuration < time.Second {
		cfg.LeaseDuration = 2 * time.Second
	}
	cfg.LeaseDuration = cfg.LeaseDuration.Truncate(time.Second)
	if cfg.FenceMargin <= 0 || cfg.FenceMargin >= cfg.LeaseDuration {
		cfg.FenceMargin = cfg.LeaseDuration / 4
	}
	if cfg.RenewInterval <= 0 {
		cfg.RenewInterval = 500 * time.Millisecond
	}
	// A leader must get at least two renewals in before its own deadline.
	cfg.RenewInterval = min(cfg.RenewInterval, (cfg.LeaseDuration-cfg.FenceMargin)/3)
	if cfg.Tick <= 0 {
		cfg.Tick = 100 * time.Millisecond
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = cfg.RenewInterval
	}
	return &Agent{
		cfg: cfg, leaseDur: cfg.LeaseDuration, held: map[netip.Addr]*held{},
		observed: map[string]observation{}, freeSince: map[netip.Addr]time.Time{}, now: time.Now,
	}
}

// Run announces until ctx ends, then hands every VIP over (removes the addresses and
// frees the Leases) so that another node takes over at once.
func (a *Agent) Run(ctx context.Context) error {
	log := klog.FromContext(ctx).WithName("vip")
	ctx = klog.NewContext(ctx, log)
	var wg sync.WaitGroup
	wg.Go(func() { a.fenceLoop(ctx) })
	t := time.NewTicker(a.cfg.Tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			wg.Wait()
			bg, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			for _, ip := range a.heldVIPs() {
				a.release(bg, ip, "agent stopping")
			}
			cancel()
			return nil
		case <-t.C:
			a.step(ctx)
		}
	}
}

// want is one VIP this node could announce.
type want struct {
	pool     loadbalancer.Pool
	spec     *v1alpha1.VIPPool
	services []*corev1.Service
}

func (a *Agent) step(ctx context.Context) {
	log := klog.FromContext(ctx)
	now := a.now()
	defer a.announceDue(ctx)
	wants, pools, err := a.wanted(ctx)
	if err != nil {
		// Nothing is renewed: held VIPs go when their deadline passes.
		log.V(2).Info("Cannot read Services or VIPPools", "err", err)
		return
	}
	self := a.self(ctx)
	host := self.host()
	// The renewals and claims of this round go out together (writeConcurrency at a
	// time): one after the other, a node holding a hundred VIPs would spend longer than
	// a Lease's fence deadline on one round at the API server's few milliseconds a write.
	var writes []func()
	for ip, w := range wants {
		var lease coordinationv1.Lease
		err := a.cfg.Client.Get(ctx, client.ObjectKey{Namespace: a.cfg.Namespace, Name: loadbalancer.LeaseName(ip)}, &lease)
		var lp *coordinationv1.Lease
		if err == nil {
			lp = &lease
		} else if !apierrors.IsNotFound(err) {
			continue // not renewed: the fence decides
		}
		holder := a.holder(lp, now)
		ifname, why := a.eligible(ctx, self, w)
		switch {
		case holder == a.cfg.NodeName:
			if why != "" {
				a.release(ctx, ip, why)
				continue
			}
			writes = append(writes, func() { a.keep(ctx, ip, lp, ifname, host, now) })
		case holder == "":
			if a.holds(ip) {
				a.drop(ctx, ip, "Lease lapsed") // someone may take it now
			}
			if why != "" {
				delete(a.freeSince, ip)
				continue
			}
			since, ok := a.freeSince[ip]
			if !ok {
				since, a.freeSince[ip] = now, now
			}
			// Spread leaders over ESXi hosts, then nodes: a node waits 100ms for every VIP
			// led from its host and every VIP it leads itself (at most 500ms).
			if now.Sub(since) >= min(time.Duration(a.ledFromHost(ctx, self.host())+len(a.heldVIPs()))*100*time.Millisecond, 500*time.Millisecond) {
				writes = append(writes, func() { a.acquire(ctx, ip, lp, ifname, host) })
			}
		default:
			delete(a.freeSince, ip)
			if a.holds(ip) {
				a.drop(ctx, ip, "another node holds the Lease")
			}
		}
	}
	runAll(writes)
	for _, ip := range a.heldVIPs() {
		if _, ok := wants[ip]; !ok {
			a.release(ctx, ip, "no Service holds the address any more")
		}
	}
	a.sweep(ctx, pools, self.nvm)
	a.forget(wants)
}

// writeConcurrency bounds the Lease writes of one round in flight at once.
const writeConcurrency = 32

// runAll runs the jobs, writeConcurrency at a time, and returns when all are done.
func runAll(jobs []func()) {
	sem := make(chan struct{}, writeConcurrency)
	var wg sync.WaitGroup
	for _, j := range jobs {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			j()
		})
	}
	wg.Wait()
}

// holder is the Lease's holder, judged by when this node last saw it change (not by the
// holder's clock): "" when free or silent for longer than its duration.
func (a *Agent) holder(l *coordinationv1.Lease, now time.Time) string {
	if l == nil || l.Spec.HolderIdentity == nil || *l.Spec.HolderIdentity == "" {
		return ""
	}
	ob, ok := a.observed[l.Name]
	if !ok || ob.rv != l.ResourceVersion {
		ob = observation{rv: l.ResourceVersion, at: now}
		a.observed[l.Name] = ob
	}
	d := time.Duration(ptr.Deref(l.Spec.LeaseDurationSeconds, 0)) * time.Second
	if now.Sub(ob.at) > d {
		return ""
	}
	return *l.Spec.HolderIdentity
}

// forget drops the observations and waits of VIPs no Service holds any more.
func (a *Agent) forget(wants map[netip.Addr]want) {
	names := make(map[string]bool, len(wants))
	for ip := range wants {
		names[loadbalancer.LeaseName(ip)] = true
	}
	for name := range a.observed {
		if !names[name] {
			delete(a.observed, name)
		}
	}
	for ip := range a.freeSince {
		if _, ok := wants[ip]; !ok {
			delete(a.freeSince, ip)
		}
	}
}

// wanted returns the VIPs of LoadBalancer Services that lie in a valid pool, and every
// VIPPool (for the sweep of stale addresses).
func (a *Agent) wanted(ctx context.Context) (map[netip.Addr]want, []v1alpha1.VIPPool, error) {
	var pools v1alpha1.VIPPoolList
	if err := a.cfg.Client.List(ctx, &pools); err != nil {
		return nil, nil, err
	}
	valid, _ := loadbalancer.BuildPools(pools.Items, nil)
	specs := make(map[string]*v1alpha1.VIPPool, len(pools.Items))
	for i := range pools.Items {
		specs[pools.Items[i].Name] = &pools.Items[i]
	}
	var svcs corev1.ServiceList
	if err := a.cfg.Client.List(ctx, &svcs); err != nil {
		return nil, nil, err
	}
	out := map[netip.Addr]want{}
	for i := range svcs.Items {
		svc := &svcs.Items[i]
		if svc.Spec.Type != corev1.ServiceTypeLoadBalancer || svc.DeletionTimestamp != nil {
			continue
		}
		for _, ip := range loadbalancer.IngressIPs(svc) {
			for _, p := range valid {
				for _, r := range p.Ranges {
					if r.Contains(ip) {
						w := out[ip]
						w.pool, w.spec = p, specs[p.Name]
						w.services = append(w.services, svc)
						out[ip] = w
					}
				}
			}
		}
	}
	return out, pools.Items, nil
}
