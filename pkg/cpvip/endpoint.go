package cpvip

import (
	"context"
	"fmt"
	"net/netip"
	"sync"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"

	"github.com/vsphere-cloud/provider/api/v1alpha1"
)

// Dataplane puts the address on the interface with a kernel lifetime, takes it off and
// announces it; announce.Kernel implements it.
type Dataplane interface {
	AddUntil(ifname string, ip netip.Addr, lifetime time.Duration) error
	Remove(ifname string, ip netip.Addr) error
	Announce(ifname string, ip netip.Addr) error
}

// Leases reads and writes the endpoint's Lease; client-go's typed LeaseInterface
// implements it.
type Leases interface {
	Get(ctx context.Context, name string, opts metav1.GetOptions) (*coordinationv1.Lease, error)
	Create(ctx context.Context, l *coordinationv1.Lease, opts metav1.CreateOptions) (*coordinationv1.Lease, error)
	Update(ctx context.Context, l *coordinationv1.Lease, opts metav1.UpdateOptions) (*coordinationv1.Lease, error)
}

// Config configures an Endpoint.
type Config struct {
	VIP       netip.Addr
	Interface string
	NodeName  string
	// Leases are the Leases of the Lease's namespace, through the local API server.
	Leases    Leases
	LeaseName string
	// Health checks the local API server; an error counts as a failed check.
	Health    func(ctx context.Context) error
	Dataplane Dataplane
	// LeaseDuration is how long others wait after the Lease last changed; RenewInterval
	// how often the holder renews; FenceMargin how long before others may take over the
	// holder's address is gone; Tick the loop period; HealthFailures the consecutive
	// failed checks after which the holder hands over (and a candidate does not run).
	LeaseDuration, RenewInterval, FenceMargin, Tick time.Duration
	HealthFailures                                  int
	Now                                             func() time.Time
}

// Defaults fills unset timings: a 5 s Lease renewed every second, the address gone 2 s
// before anyone may take over, checks every 250 ms, three failures to hand over (kube-vip's
// defaults are a 5 s Lease and 3 s renew deadline).
func (c *Config) Defaults() {
	if c.LeaseDuration == 0 {
		c.LeaseDuration = 5 * time.Second
	}
	if c.RenewInterval == 0 {
		c.RenewInterval = time.Second
	}
	if c.FenceMargin == 0 {
		c.FenceMargin = 2 * time.Second
	}
	if c.Tick == 0 {
		c.Tick = 250 * time.Millisecond
	}
	if c.HealthFailures == 0 {
		c.HealthFailures = 3
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Endpoint elects the holder and carries the address while this node holds it.
type Endpoint struct {
	cfg Config

	mu       sync.Mutex
	holding  bool
	sent     time.Time // send time of the last successful Lease write
	fenceAt  time.Time
	announce []time.Time
	failures int
	// standAsideUntil: after failing to add the address, do not contend until then.
	standAsideUntil time.Time
	// seenRV is the Lease as last read (resourceVersion, holder, renew time), and seenAt
	// when it was first read so.
	seenRV string
	seenAt time.Time
}

// New returns an Endpoint; cfg.Defaults is applied.
func New(cfg Config) *Endpoint {
	cfg.Defaults()
	return &Endpoint{cfg: cfg}
}

// Holding reports whether this node carries the address.
func (e *Endpoint) Holding() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.holding
}

// Run holds the endpoint until ctx ends, then hands it over.
func (e *Endpoint) Run(ctx context.Context) {
	log := klog.FromContext(ctx).WithValues("vip", e.cfg.VIP, "lease", e.cfg.LeaseName)
	ctx = klog.NewContext(ctx, log)
	log.Info("Control-plane endpoint agent started", "interface", e.cfg.Interface)
	t := time.NewTicker(e.cfg.Tick)
	defer t.Stop()
	for {
		e.step(ctx)
		select {
		case <-ctx.Done():
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
			e.release(rctx, "agent stopping")
			cancel()
			return
		case <-t.C:
		}
	}
}

// step is one round: health, fence, renew or acquire, announce.
func (e *Endpoint) step(ctx context.Context) {
	hctx, cancel := context.WithTimeout(ctx, e.cfg.Tick*2)
	err := e.cfg.Health(hctx)
	cancel()
	e.mu.Lock()
	if err != nil {
		e.failures++
	} else {
		e.failures = 0
	}
	healthy := e.failures < e.cfg.HealthFailures
	holding := e.holding
	e.mu.Unlock()
	e.fence(ctx)
	switch {
	case holding && !healthy:
		e.release(ctx, fmt.Sprintf("the local API server failed %d health checks: %v", e.cfg.HealthFailures, err))
	case holding:
		e.renew(ctx)
	case healthy && err == nil && !e.standingAside():
		e.acquire(ctx)
	}
	e.announceDue(ctx)
}

// fence drops the address once its deadline has passed.
func (e *Endpoint) fence(ctx context.Context) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.holding && !e.cfg.Now().Before(e.fenceAt) {
		e.dropLocked(ctx, "Lease not renewed in time")
	}
}

// acquire takes the Lease when it is free, missing, this node's, or unchanged for a Lease
// duration, then carries the address.
func (e *Endpoint) acquire(ctx context.Context) {
	now := e.cfg.Now()
	l, err := e.cfg.Leases.Get(ctx, e.cfg.LeaseName, metav1.GetOptions{})
	secs := int32(e.cfg.LeaseDuration / time.Second)
	mt := metav1.NewMicroTime(now)
	switch {
	case apierrors.IsNotFound(err):
		l = &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: e.cfg.LeaseName,
			Labels:      map[string]string{v1alpha1.LabelControlPlaneEndpoint: "true"},
			Annotations: map[string]string{v1alpha1.AnnotationControlPlaneEndpoint: e.cfg.VIP.String()}},
			Spec: coordinationv1.LeaseSpec{HolderIdentity: ptr.To(e.cfg.NodeName), LeaseDurationSeconds: &secs, AcquireTime: &mt, RenewTime: &mt}}
		wctx, cancel := context.WithTimeout(ctx, e.cfg.LeaseDuration-e.cfg.FenceMargin)
		_, err = e.cfg.Leases.Create(wctx, l, metav1.CreateOptions{})
		cancel()
	case err != nil:
		klog.FromContext(ctx).V(2).Info("Cannot read the endpoint's Lease", "err", err)
		return
	default:
		e.mu.Lock()
		// What the Lease says, including its resourceVersion: any write changes it.
		seen := l.ResourceVersion + "/" + ptr.Deref(l.Spec.HolderIdentity, "") + "/" + fmt.Sprint(l.Spec.RenewTime)
		if seen != e.seenRV || e.seenAt.IsZero() {
			e.seenRV, e.seenAt = seen, now
		}
		lapsed := now.Sub(e.seenAt) >= e.cfg.LeaseDuration
		e.mu.Unlock()
		holder := ptr.Deref(l.Spec.HolderIdentity, "")
		if holder != "" && holder != e.cfg.NodeName && !lapsed {
			return
		}
		l.Spec.HolderIdentity, l.Spec.LeaseDurationSeconds, l.Spec.AcquireTime, l.Spec.RenewTime = ptr.To(e.cfg.NodeName), &secs, &mt, &mt
		metav1.SetMetaDataLabel(&l.ObjectMeta, v1alpha1.LabelControlPlaneEndpoint, "true")
		metav1.SetMetaDataAnnotation(&l.ObjectMeta, v1alpha1.AnnotationControlPlaneEndpoint, e.cfg.VIP.String())
		if holder != e.cfg.NodeName {
			l.Spec.LeaseTransitions = ptr.To(ptr.Deref(l.Spec.LeaseTransitions, 0) + 1)
		}
		wctx, cancel := context.WithTimeout(ctx, e.cfg.LeaseDuration-e.cfg.FenceMargin)
		_, err = e.cfg.Leases.Update(wctx, l, metav1.UpdateOptions{})
		cancel()
	}
	if err != nil {
		klog.FromContext(ctx).V(3).Info("Did not take the endpoint's Lease", "err", err)
		return
	}
	if err := e.hold(ctx, now); err != nil {
		// No address was added: free the Lease for the others, and stand aside for a Lease
		// duration (retaking our own Lease at once would keep it changing, and nobody else
		// could ever see it lapse).
		klog.FromContext(ctx).Error(err, "Cannot carry the control-plane endpoint; handing it over")
		e.freeLease(ctx)
		e.mu.Lock()
		e.standAsideUntil = now.Add(e.cfg.LeaseDuration)
		e.mu.Unlock()
		return
	}
	klog.FromContext(ctx).Info("Holding the control-plane endpoint")
}

// renew renews the Lease when due; a failed renewal leaves the fence to drop the address.
func (e *Endpoint) renew(ctx context.Context) {
	now := e.cfg.Now()
	e.mu.Lock()
	due := now.Sub(e.sent) >= e.cfg.RenewInterval
	e.mu.Unlock()
	if !due {
		return
	}
	wctx, cancel := context.WithTimeout(ctx, e.cfg.LeaseDuration-e.cfg.FenceMargin)
	defer cancel()
	l, err := e.cfg.Leases.Get(wctx, e.cfg.LeaseName, metav1.GetOptions{})
	if err == nil && ptr.Deref(l.Spec.HolderIdentity, "") != e.cfg.NodeName {
		e.drop(ctx, "another node holds the Lease")
		return
	}
	if err == nil {
		l.Spec.RenewTime = ptr.To(metav1.NewMicroTime(now))
		_, err = e.cfg.Leases.Update(wctx, l, metav1.UpdateOptions{})
	}
	if err != nil {
		klog.FromContext(ctx).V(2).Info("Renewing the endpoint's Lease failed", "err", err)
		return
	}
	if err := e.hold(ctx, now); err != nil {
		klog.FromContext(ctx).Error(err, "Cannot extend the control-plane endpoint's address")
	}
}

// hold records a successful Lease write sent at sent and (re)adds the address with the
// new deadline as its lifetime; the first time it also schedules announcements.
func (e *Endpoint) hold(ctx context.Context, sent time.Time) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.cfg.Now()
	fenceAt := sent.Add(e.cfg.LeaseDuration - e.cfg.FenceMargin)
	if !now.Before(fenceAt) {
		return fmt.Errorf("the Lease write returned after its fence deadline")
	}
	if err := e.cfg.Dataplane.AddUntil(e.cfg.Interface, e.cfg.VIP, fenceAt.Sub(now)); err != nil {
		return err
	}
	if !e.holding {
		e.announce = []time.Time{now, now.Add(500 * time.Millisecond), now.Add(time.Second), now.Add(2 * time.Second)}
		klog.FromContext(ctx).Info("Announcing the control-plane endpoint", "interface", e.cfg.Interface)
	}
	e.holding, e.sent, e.fenceAt = true, sent, fenceAt
	return nil
}

// release drops the address, then frees the Lease so that another node takes over at once;
// when the address could not be removed the Lease is left to lapse, by which time the
// address's kernel lifetime has ended it.
func (e *Endpoint) release(ctx context.Context, reason string) {
	e.mu.Lock()
	was := e.holding
	removed := e.dropLocked(ctx, reason)
	e.mu.Unlock()
	if was && removed {
		e.freeLease(ctx)
	}
}

func (e *Endpoint) standingAside() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.cfg.Now().Before(e.standAsideUntil)
}

// freeLease clears the Lease's holder when it is this node.
func (e *Endpoint) freeLease(ctx context.Context) {
	l, err := e.cfg.Leases.Get(ctx, e.cfg.LeaseName, metav1.GetOptions{})
	if err != nil || ptr.Deref(l.Spec.HolderIdentity, "") != e.cfg.NodeName {
		return
	}
	l.Spec.HolderIdentity = ptr.To("")
	if _, err := e.cfg.Leases.Update(ctx, l, metav1.UpdateOptions{}); err != nil {
		klog.FromContext(ctx).V(2).Info("Freeing the endpoint's Lease failed; it lapses instead", "err", err)
	}
}

func (e *Endpoint) drop(ctx context.Context, reason string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.dropLocked(ctx, reason)
}

// dropLocked takes the address off; it reports whether the address is surely gone.
func (e *Endpoint) dropLocked(ctx context.Context, reason string) bool {
	if !e.holding {
		return true
	}
	e.holding, e.announce = false, nil
	if err := e.cfg.Dataplane.Remove(e.cfg.Interface, e.cfg.VIP); err != nil {
		klog.FromContext(ctx).Error(err, "Cannot remove the control-plane endpoint's address; its lifetime ends it")
		return false
	}
	klog.FromContext(ctx).Info("Stopped announcing the control-plane endpoint", "reason", reason)
	return true
}

// announceDue sends the announcements whose time has come.
func (e *Endpoint) announceDue(ctx context.Context) {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.cfg.Now()
	for len(e.announce) > 0 && !now.Before(e.announce[0]) {
		e.announce = e.announce[1:]
		if err := e.cfg.Dataplane.Announce(e.cfg.Interface, e.cfg.VIP); err != nil {
			klog.FromContext(ctx).V(2).Info("Announcing the control-plane endpoint failed", "err", err)
		}
	}
}
