package announce

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// blackHole is one node's view of the API server: while stalled, its Lease writes wait
// until their context ends (or the test ends) and fail, as requests on a connection whose
// packets are dropped do; while lists fail, every List returns an error.
type blackHole struct {
	client.Client
	mu        sync.Mutex
	stalled   bool
	listFails bool
	lastRenew time.Time // RenewTime of the last Lease write that succeeded
	end       chan struct{}
}

func newBlackHole(t *testing.T, c client.Client) *blackHole {
	b := &blackHole{Client: c, end: make(chan struct{})}
	return b
}

func (b *blackHole) set(stalled, listFails bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.stalled, b.listFails = stalled, listFails
}

func (b *blackHole) write(ctx context.Context, obj client.Object, do func() error) error {
	b.mu.Lock()
	stalled := b.stalled
	b.mu.Unlock()
	if stalled {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-b.end:
			return errors.New("black-holed")
		}
	}
	if err := do(); err != nil {
		return err
	}
	if l, ok := obj.(*coordinationv1.Lease); ok && l.Spec.RenewTime != nil {
		b.mu.Lock()
		b.lastRenew = l.Spec.RenewTime.Time
		b.mu.Unlock()
	}
	return nil
}

func (b *blackHole) Update(ctx context.Context, obj client.Object, opts ...client.UpdateOption) error {
	return b.write(ctx, obj, func() error { return b.Client.Update(ctx, obj, opts...) })
}

func (b *blackHole) Create(ctx context.Context, obj client.Object, opts ...client.CreateOption) error {
	return b.write(ctx, obj, func() error { return b.Client.Create(ctx, obj, opts...) })
}

func (b *blackHole) List(ctx context.Context, list client.ObjectList, opts ...client.ListOption) error {
	b.mu.Lock()
	fails := b.listFails
	b.mu.Unlock()
	if fails {
		return errors.New("list failed")
	}
	return b.Client.List(ctx, list, opts...)
}

func (b *blackHole) renewedAt() time.Time {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.lastRenew
}

// runAgent runs an agent in real time with a 1s Lease until the test ends.
func runAgent(t *testing.T, c client.Client, name string) *fakeDataplane {
	t.Helper()
	dp := newFakeDataplane()
	a := New(Config{NodeName: name, Namespace: ns, Client: c, Dataplane: dp, Interface: "eth0",
		LeaseDuration: time.Second, RenewInterval: 100 * time.Millisecond, Tick: 10 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = a.Run(ctx)
	}()
	t.Cleanup(func() { cancel(); <-done })
	return dp
}

func waitFor(d time.Duration, ok func() bool) bool {
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(time.Millisecond) {
		if ok() {
			return true
		}
	}
	return ok()
}

// The leader's Lease writes hang (its API traffic is black-holed) while its link stays
// up: it must remove the address before its Lease expires, so that at no moment do two
// nodes carry the VIP, and the other node takes over.
func TestFencingWhenTheLeadersAPITrafficStalls(t *testing.T) {
	c := world(t, lbService(corev1.ServiceExternalTrafficPolicyCluster))
	hole := newBlackHole(t, c)
	a := runAgent(t, hole, "a")
	t.Cleanup(func() { close(hole.end) }) // runs before the agents stop
	if !waitFor(5*time.Second, func() bool { return a.has(vip) }) {
		t.Fatal("a did not announce the VIP")
	}
	b := runAgent(t, c, "b")
	time.Sleep(300 * time.Millisecond) // b sees a renewing
	hole.set(true, false)
	stalled := time.Now()
	var aGone, bHas time.Time
	for end := time.Now().Add(8 * time.Second); time.Now().Before(end); time.Sleep(time.Millisecond) {
		ha, hb := a.has(vip), b.has(vip)
		if ha && hb {
			t.Fatalf("%s after a's API traffic stalled both a and b carry %s", time.Since(stalled).Round(time.Millisecond), vip)
		}
		if !ha && aGone.IsZero() {
			aGone = time.Now()
		}
		if hb && bHas.IsZero() {
			bHas = time.Now()
		}
		if !bHas.IsZero() && time.Since(bHas) > time.Second {
			break
		}
	}
	if bHas.IsZero() || aGone.IsZero() {
		t.Fatalf("no failover within 8s: a dropped the VIP %v, b took it %v", !aGone.IsZero(), !bHas.IsZero())
	}
	if expiry := hole.renewedAt().Add(time.Second); !aGone.Before(expiry) {
		t.Errorf("a removed the VIP %s after its Lease expired", aGone.Sub(expiry))
	}
	t.Logf("a removed the VIP %s after its traffic stalled, b announced it %s after, %s with no holder",
		aGone.Sub(stalled).Round(time.Millisecond), bHas.Sub(stalled).Round(time.Millisecond), bHas.Sub(aGone).Round(time.Millisecond))
}

// When listing Services or pools fails, a held VIP is not renewed, so its address must
// go by the same deadline, not stay on the interface forever.
func TestFencingWhenListingFails(t *testing.T) {
	c := world(t, lbService(corev1.ServiceExternalTrafficPolicyCluster))
	hole := newBlackHole(t, c)
	a := runAgent(t, hole, "a")
	t.Cleanup(func() { close(hole.end) })
	if !waitFor(5*time.Second, func() bool { return a.has(vip) }) {
		t.Fatal("a did not announce the VIP")
	}
	hole.set(false, true)
	failed := time.Now()
	if !waitFor(3*time.Second, func() bool { return !a.has(vip) }) {
		t.Fatal("the VIP stayed on a's interface 3s after its lists started failing")
	}
	a.mu.Lock()
	gone := a.removedAt[vip]
	a.mu.Unlock()
	if expiry := hole.renewedAt().Add(time.Second); !gone.Before(expiry) {
		t.Errorf("a removed the VIP %s after its Lease expired", gone.Sub(expiry))
	}
	t.Logf("a removed the VIP %s after its lists started failing", gone.Sub(failed).Round(time.Millisecond))
}
