package cpvip

import (
	"context"
	"errors"
	"net/netip"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/utils/ptr"
)

type fakeDataplane struct {
	mu        sync.Mutex
	broken    bool      // AddUntil fails (a wrong --interface, no NET_ADMIN)
	until     time.Time // zero: no address
	announced int
	now       func() time.Time
}

func (d *fakeDataplane) AddUntil(_ string, _ netip.Addr, lifetime time.Duration) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.broken {
		return errors.New("interface eth9: link not found")
	}
	d.until = d.now().Add(lifetime)
	return nil
}

func (d *fakeDataplane) Remove(string, netip.Addr) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.until = time.Time{}
	return nil
}

func (d *fakeDataplane) Announce(string, netip.Addr) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.announced++
	return nil
}

// has reports whether the address is on the interface at the clock's time (the kernel
// removes it when its lifetime ends).
func (d *fakeDataplane) has() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return !d.until.IsZero() && d.now().Before(d.until)
}

// TestEndpointElection steps two agents on one fake API server with a fake clock: one
// holds; an unhealthy holder hands over at once; a silent holder's address expires before
// the other takes over; the endpoint is never on both.
func TestEndpointElection(t *testing.T) {
	ctx := context.Background()
	now := time.Unix(1000, 0)
	clock := func() time.Time { return now }
	leases := fake.NewClientset().CoordinationV1().Leases("kube-system")
	healthy := map[string]bool{"a": true, "b": true}
	agents, planes := map[string]*Endpoint{}, map[string]*fakeDataplane{}
	for _, n := range []string{"a", "b"} {
		planes[n] = &fakeDataplane{now: clock}
		agents[n] = New(Config{VIP: netip.MustParseAddr("10.0.0.50"), Interface: "eth0", NodeName: n, Leases: leases, LeaseName: "ep",
			Health: func(context.Context) error {
				if !healthy[n] {
					return errors.New("connection refused")
				}
				return nil
			}, Dataplane: planes[n], Now: clock})
	}
	step := func(names ...string) {
		for _, n := range names {
			agents[n].step(ctx)
		}
		if planes["a"].has() && planes["b"].has() {
			t.Fatalf("at %s the endpoint is on both nodes", now.Format(time.StampMilli))
		}
	}
	advance := func(d time.Duration, names ...string) {
		for end := now.Add(d); now.Before(end); now = now.Add(250 * time.Millisecond) {
			step(names...)
		}
	}
	step("a", "b")
	if !planes["a"].has() || planes["b"].has() || planes["a"].announced != 1 {
		t.Fatalf("a should hold and announce: a %v (%d announcements), b %v", planes["a"].has(), planes["a"].announced, planes["b"].has())
	}
	advance(10*time.Second, "a", "b")
	if !planes["a"].has() || planes["b"].has() || planes["a"].announced != 4 {
		t.Fatalf("a should keep it, announced 4 times: %d", planes["a"].announced)
	}

	healthy["a"] = false // a's API server dies
	advance(time.Second, "a", "b")
	if planes["a"].has() || !planes["b"].has() {
		t.Fatalf("b should hold once a's checks failed: a %v, b %v", planes["a"].has(), planes["b"].has())
	}
	l, err := leases.Get(ctx, "ep", metav1.GetOptions{})
	if err != nil || ptr.Deref(l.Spec.HolderIdentity, "") != "b" || ptr.Deref(l.Spec.LeaseTransitions, 0) != 1 {
		t.Fatalf("Lease = %+v, %v", l, err)
	}

	healthy["a"] = true
	advance(2*time.Second, "a", "b")
	// b's agent dies: it steps no more. Its address expires by its lifetime; a takes over
	// only after a Lease duration without change.
	took := time.Duration(0)
	for start := now; !planes["a"].has(); now = now.Add(250 * time.Millisecond) {
		step("a")
		took = now.Sub(start)
		if took > 10*time.Second {
			t.Fatal("a never took over from the silent b")
		}
	}
	if took < 4*time.Second {
		t.Errorf("a took over %s after b went silent, before the Lease could lapse", took)
	}
}

// TestANodeThatCannotCarryTheAddressStandsAside: a node whose address cannot be added
// frees the Lease and stands aside, so another node takes the endpoint instead of the
// cluster having none.
func TestANodeThatCannotCarryTheAddressStandsAside(t *testing.T) {
	ctx := context.Background()
	now := time.Unix(1000, 0)
	clock := func() time.Time { return now }
	leases := fake.NewClientset().CoordinationV1().Leases("kube-system")
	planes := map[string]*fakeDataplane{"a": {now: clock, broken: true}, "b": {now: clock}}
	agents := map[string]*Endpoint{}
	for n, d := range planes {
		agents[n] = New(Config{VIP: netip.MustParseAddr("10.0.0.50"), Interface: "eth0", NodeName: n, Leases: leases, LeaseName: "ep",
			Health: func(context.Context) error { return nil }, Dataplane: d, Now: clock})
	}
	for end := now.Add(3 * time.Second); now.Before(end); now = now.Add(250 * time.Millisecond) {
		agents["a"].step(ctx) // a first, every round: it would win every race
		agents["b"].step(ctx)
	}
	if !planes["b"].has() {
		l, _ := leases.Get(ctx, "ep", metav1.GetOptions{})
		t.Fatalf("b does not carry the endpoint; the Lease is held by %q", ptr.Deref(l.Spec.HolderIdentity, ""))
	}
}
