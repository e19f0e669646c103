package announce

import (
	"context"
	"errors"
	"net/netip"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/vsphere-cloud/provider/api/v1alpha1"
	"github.com/vsphere-cloud/provider/pkg/loadbalancer"
)

// held is a VIP whose address this node carries.
//
// Fencing: every node other than the holder judges the Lease by when it saw it change,
// which is after the holder sent the write that changed it, and takes over no earlier
// than LeaseDuration after that. The holder therefore removes the address at fenceAt,
// the send time of its last successful write plus LeaseDuration minus FenceMargin, on its
// own monotonic clock: it is gone before anyone else may add it, however long the API
// server takes to answer or fails to.
type held struct {
	ifname    string
	host      string      // ESXi host the address was last announced from
	sent      time.Time   // send time of the last successful Lease write
	fenceAt   time.Time   // when the address must be gone unless renewed
	announced []time.Time // when to announce again
}

// announceSchedule is when a new holder (or one whose VM moved) announces: four times
// over two seconds, for lost packets and slow switches.
func announceSchedule(now time.Time) []time.Time {
	return []time.Time{now, now.Add(500 * time.Millisecond), now.Add(time.Second), now.Add(2 * time.Second)}
}

// writeCtx bounds one Lease write: WriteTimeout, and never beyond the time at which a
// success could still count (the fence deadline of a write sent now).
func (a *Agent) writeCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, min(a.cfg.WriteTimeout, a.leaseDur-a.cfg.FenceMargin))
}

func (a *Agent) holds(ip netip.Addr) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	_, ok := a.held[ip]
	return ok
}

func (a *Agent) heldVIPs() []netip.Addr {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]netip.Addr, 0, len(a.held))
	for ip := range a.held {
		out = append(out, ip)
	}
	return out
}

// errTooLate: a Lease write succeeded after the deadline it would have set.
var errTooLate = errors.New("the Lease write returned after its fence deadline")

// hold records a successful Lease write sent at sent: it moves the VIP's deadline, and
// adds the address if this node does not carry it yet. The address is added only here,
// so that it is never on an interface without a deadline in the future.
func (a *Agent) hold(ctx context.Context, ip netip.Addr, ifname, host string, sent time.Time) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.now()
	fenceAt := sent.Add(a.leaseDur - a.cfg.FenceMargin)
	if !now.Before(fenceAt) {
		return errTooLate
	}
	if h, ok := a.held[ip]; ok {
		// The kernel lifetime moves with the deadline: the address goes at fenceAt even if
		// this agent is killed before it can remove it.
		if err := a.cfg.Dataplane.AddUntil(h.ifname, ip, fenceAt.Sub(now)); err != nil {
			return err
		}
		h.sent, h.fenceAt = sent, fenceAt
		if host != "" && h.host != "" && host != h.host {
			// The VM moved (vMotion): switches learnt its MAC on the new port from ESXi's
			// RARP, but neighbours' caches and some switches need our announcement again.
			klog.FromContext(ctx).Info("Announcing VIP again after the VM moved", "vip", ip, "from", h.host, "to", host)
			h.announced = announceSchedule(now)
		}
		if host != "" {
			h.host = host
		}
		return nil
	}
	if err := a.cfg.Dataplane.AddUntil(ifname, ip, fenceAt.Sub(now)); err != nil {
		return err
	}
	a.held[ip] = &held{ifname: ifname, host: host, sent: sent, fenceAt: fenceAt, announced: announceSchedule(now)}
	vipChanges.WithLabelValues("acquired").Inc()
	klog.FromContext(ctx).Info("Announcing VIP", "vip", ip, "interface", ifname)
	return nil
}

func (a *Agent) acquire(ctx context.Context, ip netip.Addr, l *coordinationv1.Lease, ifname, host string) {
	secs := int32(a.leaseDur / time.Second)
	prev := "" // the lapsed holder, if any
	if l != nil {
		prev = ptr.Deref(l.Spec.HolderIdentity, "")
	}
	sent := a.now()
	mt := metav1.NewMicroTime(sent)
	wctx, cancel := a.writeCtx(ctx)
	var err error
	if l == nil {
		l = &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: loadbalancer.LeaseName(ip), Namespace: a.cfg.Namespace, Labels: map[string]string{v1alpha1.LabelLeaseVIP: loadbalancer.LeaseLabelValue(ip)}}}
		setHostLabel(l, host)
		l.Spec = coordinationv1.LeaseSpec{HolderIdentity: ptr.To(a.cfg.NodeName), LeaseDurationSeconds: &secs, AcquireTime: &mt, RenewTime: &mt}
		err = a.cfg.Client.Create(wctx, l)
	} else {
		l = l.DeepCopy()
		setHostLabel(l, host)
		l.Spec.HolderIdentity, l.Spec.LeaseDurationSeconds, l.Spec.AcquireTime, l.Spec.RenewTime = ptr.To(a.cfg.NodeName), &secs, &mt, &mt
		l.Spec.LeaseTransitions = ptr.To(ptr.Deref(l.Spec.LeaseTransitions, 0) + 1)
		err = a.cfg.Client.Update(wctx, l)
	}
	cancel()
	if err != nil {
		switch {
		case apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err):
			klog.FromContext(ctx).V(3).Info("Lost the race for a VIP", "vip", ip, "err", err)
		case apierrors.IsForbidden(err) && prev != "":
			// The admission policy lets a node claim only a free Lease: cloud-controller
			// frees the Lease of a holder that stopped renewing, and this node claims it then.
			klog.FromContext(ctx).V(2).Info("Lapsed VIP Lease not freed yet; waiting for cloud-controller to free it", "vip", ip, "holder", prev)
		default:
			klog.FromContext(ctx).Error(err, "Cannot take the VIP's Lease", "vip", ip)
		}
		return
	}
	a.mu.Lock()
	delete(a.freeSince, ip)
	a.mu.Unlock()
	if err := a.hold(ctx, ip, ifname, host, sent); err != nil {
		klog.FromContext(ctx).Error(err, "Cannot add VIP; handing it over", "vip", ip, "interface", ifname)
		a.release(ctx, ip, "address could not be added")
	}
}

// keep renews a Lease this node holds; the address is (re)added once a renewal succeeds.
func (a *Agent) keep(ctx context.Context, ip netip.Addr, l *coordinationv1.Lease, ifname, host string, now time.Time) {
	a.mu.Lock()
	h, ok := a.held[ip]
	due := !ok || now.Sub(h.sent) >= a.cfg.RenewInterval || (host != "" && h.host != "" && host != h.host)
	a.mu.Unlock()
	if !due {
		return
	}
	sent := a.now()
	l = l.DeepCopy()
	setHostLabel(l, host) // the VM may have moved to another host
	l.Spec.RenewTime = ptr.To(metav1.NewMicroTime(sent))
	l.Spec.LeaseDurationSeconds = ptr.To(int32(a.leaseDur / time.Second))
	wctx, cancel := a.writeCtx(ctx)
	err := a.cfg.Client.Update(wctx, l)
	cancel()
	if err != nil {
		klog.FromContext(ctx).V(3).Info("Renewing VIP lease failed", "vip", ip, "err", err)
		return // the fence removes the address when its deadline passes
	}
	if err := a.hold(ctx, ip, ifname, host, sent); err != nil && !errors.Is(err, errTooLate) {
		klog.FromContext(ctx).Error(err, "Cannot add VIP; handing it over", "vip", ip, "interface", ifname)
		a.release(ctx, ip, "address could not be added")
	}
}

// release hands a VIP over: the address goes first, then the Lease is freed so that the
// next node takes over without waiting for it to expire.
func (a *Agent) release(ctx context.Context, ip netip.Addr, reason string) {
	a.drop(ctx, ip, reason)
	var l coordinationv1.Lease
	key := client.ObjectKey{Namespace: a.cfg.Namespace, Name: loadbalancer.LeaseName(ip)}
	if err := a.cfg.Client.Get(ctx, key, &l); err != nil || ptr.Deref(l.Spec.HolderIdentity, "") != a.cfg.NodeName {
		return
	}
	l.Spec.HolderIdentity = ptr.To("")
	wctx, cancel := a.writeCtx(ctx)
	defer cancel()
	if err := a.cfg.Client.Update(wctx, &l); err != nil {
		klog.FromContext(ctx).V(2).Info("Freeing VIP lease failed; it expires instead", "vip", ip, "err", err)
		return
	}
	klog.FromContext(ctx).Info("Handed VIP over", "vip", ip, "reason", reason)
}

// drop removes the address locally.
func (a *Agent) drop(ctx context.Context, ip netip.Addr, reason string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.dropLocked(ctx, ip, reason)
}

func (a *Agent) dropLocked(ctx context.Context, ip netip.Addr, reason string) {
	h, ok := a.held[ip]
	if !ok {
		return
	}
	delete(a.held, ip)
	if err := a.cfg.Dataplane.Remove(h.ifname, ip); err != nil {
		// The sweep of stale addresses tries again.
		klog.FromContext(ctx).Error(err, "Cannot remove VIP", "vip", ip, "interface", h.ifname)
	}
	vipChanges.WithLabelValues("released").Inc()
	klog.FromContext(ctx).Info("Stopped announcing VIP", "vip", ip, "reason", reason)
}

// fence removes every address whose deadline has passed and returns how long until the
// next deadline (at most Tick).
func (a *Agent) fence(ctx context.Context) time.Duration {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.now()
	next := a.cfg.Tick
	for ip, h := range a.held {
		if left := h.fenceAt.Sub(now); left <= 0 {
			a.dropLocked(ctx, ip, "Lease not renewed in time")
			vipFenced.Inc()
		} else {
			next = min(next, left)
		}
	}
	return next
}

// fenceLoop runs fence at every deadline until ctx ends, independently of the election
// loop, which may be waiting for the API server.
func (a *Agent) fenceLoop(ctx context.Context) {
	t := time.NewTimer(a.fence(ctx))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			t.Reset(a.fence(ctx))
		}
	}
}

func (a *Agent) announceDue(ctx context.Context) {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.now()
	for ip, h := range a.held {
		for len(h.announced) > 0 && !now.Before(h.announced[0]) {
			h.announced = h.announced[1:]
			if err := a.cfg.Dataplane.Announce(h.ifname, ip); err != nil {
				klog.FromContext(ctx).Error(err, "Announcing VIP failed", "vip", ip)
			}
		}
	}
}
