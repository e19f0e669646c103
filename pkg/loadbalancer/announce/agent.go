package announce

import (
	"context"
	"crypto/sha256"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	v1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/vsphere-cloud/provider/api/v1alpha1"
	"github.com/vsphere-cloud/provider/pkg/loadbalancer"
)

// MaintenanceTaint is the taint vsphere-node puts on Nodes whose host is (entering)
// maintenance; a tainted node hands its VIPs over.
const MaintenanceTaint = "node.vsphere-cloud.io/host-maintenance"

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
	// LeaseDuration is how long a silent leader keeps a VIP (default 2s); leaders renew
	// every RenewInterval (default 500ms); the loop runs every Tick (default 100ms).
	LeaseDuration time.Duration
	RenewInterval time.Duration
	Tick          time.Duration
}

type held struct {
	ifname    string
	announced []time.Time // when to announce again
	renewed   time.Time   // last successful renewal
}

type observation struct {
	rv string
	at time.Time
}

// Agent announces the VIPs this node wins.
type Agent struct {
	cfg Config
	// cleaned is true once stale VIPs (left by a previous run that died) were removed.
	cleaned   bool
	held      map[netip.Addr]*held
	observed  map[string]observation
	freeSince map[netip.Addr]time.Time
	now       func() time.Time
}

// New returns an Agent.
func New(cfg Config) *Agent {
	if cfg.LeaseDuration == 0 {
		cfg.LeaseDuration = 2 * time.Second
	}
	if cfg.RenewInterval == 0 {
		cfg.RenewInterval = 500 * time.Millisecond
	}
	if cfg.Tick == 0 {
		cfg.Tick = 100 * time.Millisecond
	}
	return &Agent{cfg: cfg, held: map[netip.Addr]*held{}, observed: map[string]observation{}, freeSince: map[netip.Addr]time.Time{}, now: time.Now}
}

// Run announces until ctx ends, then hands every VIP over (removes the addresses and
// frees the Leases) so that another node takes over at once.
func (a *Agent) Run(ctx context.Context) error {
	log := klog.FromContext(ctx).WithName("vip")
	ctx = klog.NewContext(ctx, log)
	t := time.NewTicker(a.cfg.Tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			bg, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			for ip := range a.held {
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
	services []*v1.Service
}

func (a *Agent) step(ctx context.Context) {
	log := klog.FromContext(ctx)
	now := a.now()
	wants, err := a.wanted(ctx)
	if err != nil {
		log.V(2).Info("Cannot read Services or VIPPools", "err", err)
		wants = nil // keep what is held; renewals below still run
	}
	nodeOK, why, nvm := a.nodeEligible(ctx)
	if !a.cleaned && err == nil {
		a.cleanStale(ctx, wants, nvm)
	}
	for ip, w := range wants {
		var lease coordinationv1.Lease
		err := a.cfg.Client.Get(ctx, client.ObjectKey{Namespace: a.cfg.Namespace, Name: loadbalancer.LeaseName(ip)}, &lease)
		var lp *coordinationv1.Lease
		if err == nil {
			lp = &lease
		} else if !apierrors.IsNotFound(err) {
			continue
		}
		holder := a.holder(lp, now)
		ifname := a.interfaceFor(w.pool.Network, nvm)
		eligible := nodeOK && ifname != "" && a.endpointsOK(ctx, w.services)
		switch {
		case holder == a.cfg.NodeName:
			if !eligible {
				reason := why
				if reason == "" {
					reason = "no interface on the VIP's network or no local endpoint"
				}
				a.release(ctx, ip, reason)
				continue
			}
			a.keep(ctx, ip, lp, ifname, hostOf(nvm), now)
		case holder == "":
			if _, mine := a.held[ip]; mine {
				a.drop(ctx, ip) // our lease lapsed: someone may take it
			}
			if !eligible {
				delete(a.freeSince, ip)
				continue
			}
			since, ok := a.freeSince[ip]
			if !ok {
				since, a.freeSince[ip] = now, now
			}
			// Spread leaders over ESXi hosts, then nodes: a node waits 100ms for every VIP
			// led from its host and every VIP it leads itself (at most 500ms).
			if now.Sub(since) >= min(time.Duration(a.ledFromHost(ctx, hostOf(nvm))+len(a.held))*100*time.Millisecond, 500*time.Millisecond) {
				a.acquire(ctx, ip, lp, ifname, hostOf(nvm), now)
			}
		default:
			delete(a.freeSince, ip)
			if _, mine := a.held[ip]; mine {
				a.drop(ctx, ip)
			}
		}
	}
	for ip := range a.held {
		if _, ok := wants[ip]; !ok && err == nil {
			a.release(ctx, ip, "no Service holds the address any more")
		}
	}
	a.announceDue(ctx, now)
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

func (a *Agent) wanted(ctx context.Context) (map[netip.Addr]want, error) {
	var pools v1alpha1.VIPPoolList
	if err := a.cfg.Client.List(ctx, &pools); err != nil {
		return nil, err
	}
	valid, _ := loadbalancer.BuildPools(pools.Items, nil)
	var svcs v1.ServiceList
	if err := a.cfg.Client.List(ctx, &svcs); err != nil {
		return nil, err
	}
	out := map[netip.Addr]want{}
	for i := range svcs.Items {
		svc := &svcs.Items[i]
		if svc.Spec.Type != v1.ServiceTypeLoadBalancer || svc.DeletionTimestamp != nil {
			continue
		}
		for _, ip := range loadbalancer.IngressIPs(svc) {
			for _, p := range valid {
				for _, r := range p.Ranges {
					if r.Contains(ip) {
						w := out[ip]
						w.pool = p
						w.services = append(w.services, svc)
						out[ip] = w
					}
				}
			}
		}
	}
	return out, nil
}

// nodeEligible: Ready, not tainted for host maintenance, host not entering maintenance.
func (a *Agent) nodeEligible(ctx context.Context) (bool, string, *v1alpha1.NodeVM) {
	var node v1.Node
	if err := a.cfg.Client.Get(ctx, client.ObjectKey{Name: a.cfg.NodeName}, &node); err != nil {
		return false, "own Node not readable", nil
	}
	var nvm *v1alpha1.NodeVM
	var obj v1alpha1.NodeVM
	if err := a.cfg.Client.Get(ctx, client.ObjectKey{Name: a.cfg.NodeName}, &obj); err == nil {
		nvm = &obj
	}
	ready := false
	for _, c := range node.Status.Conditions {
		if c.Type == v1.NodeReady {
			ready = c.Status == v1.ConditionTrue
		}
	}
	switch {
	case !ready:
		return false, "node not Ready", nvm
	case node.DeletionTimestamp != nil:
		return false, "node being deleted", nvm
	}
	for _, t := range node.Spec.Taints {
		if t.Key == MaintenanceTaint {
			return false, "ESXi host entering or in maintenance (taint)", nvm
		}
	}
	if nvm != nil && (nvm.Status.Host.EnteringMaintenanceMode || nvm.Status.Host.InMaintenanceMode) {
		return false, "ESXi host entering or in maintenance", nvm
	}
	return true, "", nvm
}

// interfaceFor finds the local interface on the pool's network.
func (a *Agent) interfaceFor(network string, nvm *v1alpha1.NodeVM) string {
	if a.cfg.Interface != "" {
		return a.cfg.Interface
	}
	if nvm == nil {
		return ""
	}
	ifs, err := net.Interfaces()
	if err != nil {
		return ""
	}
	for _, nic := range nvm.Status.NICs {
		if network != "" && nic.Network != network {
			continue
		}
		for _, ifi := range ifs {
			if strings.EqualFold(ifi.HardwareAddr.String(), nic.MAC) {
				return ifi.Name
			}
		}
	}
	return ""
}

// endpointsOK: for externalTrafficPolicy Local, some Service on the address has a ready
// endpoint on this node; otherwise any node will do.
func (a *Agent) endpointsOK(ctx context.Context, svcs []*v1.Service) bool {
	for _, svc := range svcs {
		if svc.Spec.ExternalTrafficPolicy != v1.ServiceExternalTrafficPolicyLocal {
			return true
		}
	}
	for _, svc := range svcs {
		var slices discoveryv1.EndpointSliceList
		if err := a.cfg.Client.List(ctx, &slices, client.InNamespace(svc.Namespace), client.MatchingLabels{discoveryv1.LabelServiceName: svc.Name}); err != nil {
			continue
		}
		for _, s := range slices.Items {
			for _, ep := range s.Endpoints {
				if ptr.Deref(ep.NodeName, "") == a.cfg.NodeName && ptr.Deref(ep.Conditions.Ready, true) {
					return true
				}
			}
		}
	}
	return false
}

func (a *Agent) acquire(ctx context.Context, ip netip.Addr, l *coordinationv1.Lease, ifname, host string, now time.Time) {
	mt := metav1.NewMicroTime(now)
	secs := int32(a.cfg.LeaseDuration / time.Second)
	var err error
	if l == nil {
		l = &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: loadbalancer.LeaseName(ip), Namespace: a.cfg.Namespace, Labels: map[string]string{loadbalancer.LeaseLabel: loadbalancer.LeaseLabelValue(ip)}}}
		setHostLabel(l, host)
		l.Spec = coordinationv1.LeaseSpec{HolderIdentity: ptr.To(a.cfg.NodeName), LeaseDurationSeconds: &secs, AcquireTime: &mt, RenewTime: &mt}
		err = a.cfg.Client.Create(ctx, l)
	} else {
		l = l.DeepCopy()
		setHostLabel(l, host)
		l.Spec.HolderIdentity, l.Spec.LeaseDurationSeconds, l.Spec.AcquireTime, l.Spec.RenewTime = ptr.To(a.cfg.NodeName), &secs, &mt, &mt
		l.Spec.LeaseTransitions = ptr.To(ptr.Deref(l.Spec.LeaseTransitions, 0) + 1)
		err = a.cfg.Client.Update(ctx, l)
	}
	if err != nil {
		if apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err) {
			klog.FromContext(ctx).V(3).Info("Lost the race for a VIP", "vip", ip, "err", err)
		} else {
			klog.FromContext(ctx).Error(err, "Cannot take the VIP's Lease", "vip", ip)
		}
		return
	}
	delete(a.freeSince, ip)
	if err := a.cfg.Dataplane.Add(ifname, ip); err != nil {
		klog.FromContext(ctx).Error(err, "Cannot add VIP; handing it over", "vip", ip, "interface", ifname)
		a.held[ip] = &held{ifname: ifname, renewed: now}
		a.release(ctx, ip, "address could not be added")
		return
	}
	a.held[ip] = &held{ifname: ifname, renewed: now, announced: []time.Time{now, now.Add(500 * time.Millisecond), now.Add(time.Second), now.Add(2 * time.Second)}}
	vipChanges.WithLabelValues("acquired").Inc()
	klog.FromContext(ctx).Info("Announcing VIP", "vip", ip, "interface", ifname)
}

func (a *Agent) keep(ctx context.Context, ip netip.Addr, l *coordinationv1.Lease, ifname, host string, now time.Time) {
	h, ok := a.held[ip]
	if !ok { // we hold the Lease (from before a restart): take the address back
		if err := a.cfg.Dataplane.Add(ifname, ip); err != nil {
			return
		}
		h = &held{ifname: ifname, renewed: now, announced: []time.Time{now, now.Add(time.Second)}}
		a.held[ip] = h
	}
	if now.Sub(h.renewed) < a.cfg.RenewInterval {
		return
	}
	l = l.DeepCopy()
	setHostLabel(l, host) // the VM may have moved to another host
	l.Spec.RenewTime = ptr.To(metav1.NewMicroTime(now))
	if err := a.cfg.Client.Update(ctx, l); err != nil {
		klog.FromContext(ctx).V(3).Info("Renewing VIP lease failed", "vip", ip, "err", err)
		if now.Sub(h.renewed) > a.cfg.LeaseDuration-a.cfg.RenewInterval {
			a.drop(ctx, ip) // others may take over now: never answer twice
		}
		return
	}
	h.renewed = now
}

// release hands a VIP over: the address goes first, then the Lease is freed so that the
// next node takes over without waiting for it to expire.
func (a *Agent) release(ctx context.Context, ip netip.Addr, reason string) {
	a.drop(ctx, ip)
	var l coordinationv1.Lease
	key := client.ObjectKey{Namespace: a.cfg.Namespace, Name: loadbalancer.LeaseName(ip)}
	if err := a.cfg.Client.Get(ctx, key, &l); err != nil || ptr.Deref(l.Spec.HolderIdentity, "") != a.cfg.NodeName {
		return
	}
	l.Spec.HolderIdentity = ptr.To("")
	if err := a.cfg.Client.Update(ctx, &l); err != nil {
		klog.FromContext(ctx).V(2).Info("Freeing VIP lease failed; it expires instead", "vip", ip, "err", err)
	}
	klog.FromContext(ctx).Info("Handed VIP over", "vip", ip, "reason", reason)
}

// drop removes the address locally.
func (a *Agent) drop(ctx context.Context, ip netip.Addr) {
	h, ok := a.held[ip]
	if !ok {
		return
	}
	delete(a.held, ip)
	if err := a.cfg.Dataplane.Remove(h.ifname, ip); err != nil {
		klog.FromContext(ctx).Error(err, "Cannot remove VIP", "vip", ip)
	}
	vipChanges.WithLabelValues("released").Inc()
}

func (a *Agent) announceDue(ctx context.Context, now time.Time) {
	for ip, h := range a.held {
		for len(h.announced) > 0 && !now.Before(h.announced[0]) {
			h.announced = h.announced[1:]
			if err := a.cfg.Dataplane.Announce(h.ifname, ip); err != nil {
				klog.FromContext(ctx).Error(err, "Announcing VIP failed", "vip", ip)
			}
		}
	}
}

// cleanStale removes, once after start, VIPs this node carries but does not lead: a
// previous run that was killed could not remove them, and two nodes answering ARP for one
// address would make it flap.
func (a *Agent) cleanStale(ctx context.Context, wants map[netip.Addr]want, nvm *v1alpha1.NodeVM) {
	a.cleaned = true
	for ip, w := range wants {
		var lease coordinationv1.Lease
		err := a.cfg.Client.Get(ctx, client.ObjectKey{Namespace: a.cfg.Namespace, Name: loadbalancer.LeaseName(ip)}, &lease)
		if err == nil && ptr.Deref(lease.Spec.HolderIdentity, "") == a.cfg.NodeName {
			continue // ours: keep serves it again
		}
		if ifname := a.interfaceFor(w.pool.Network, nvm); ifname != "" {
			if err := a.cfg.Dataplane.Remove(ifname, ip); err == nil {
				klog.FromContext(ctx).V(2).Info("Removed VIP left by a previous run", "vip", ip, "interface", ifname)
			}
		}
	}
}

// HostLabel on a VIP Lease names the ESXi host of the node that holds it, so that
// candidates can spread leaders over hosts without reading other nodes' NodeVMs.
const HostLabel = "vsphere-cloud.io/esxi-host"

func setHostLabel(l *coordinationv1.Lease, host string) {
	if l.Labels == nil {
		l.Labels = map[string]string{}
	}
	if host == "" {
		delete(l.Labels, HostLabel)
		return
	}
	if errs := validation.IsValidLabelValue(host); len(errs) > 0 {
		host = fmt.Sprintf("h-%x", sha256.Sum224([]byte(host)))[:63]
	}
	l.Labels[HostLabel] = host
}

func hostOf(nvm *v1alpha1.NodeVM) string {
	if nvm == nil {
		return ""
	}
	return nvm.Status.Host.Name
}

// ledFromHost counts the live VIP Leases held by nodes on host (other than this one).
func (a *Agent) ledFromHost(ctx context.Context, host string) int {
	if host == "" {
		return 0
	}
	probe := &coordinationv1.Lease{}
	setHostLabel(probe, host)
	var leases coordinationv1.LeaseList
	if err := a.cfg.Client.List(ctx, &leases, client.InNamespace(a.cfg.Namespace), client.MatchingLabels{HostLabel: probe.Labels[HostLabel]}); err != nil {
		return 0
	}
	n := 0
	for i := range leases.Items {
		if h := a.holder(&leases.Items[i], a.now()); h != "" && h != a.cfg.NodeName {
			n++
		}
	}
	return n
}
