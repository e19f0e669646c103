package loadbalancer

import (
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

func mustRanges(t *testing.T, ss ...string) []Range {
	t.Helper()
	var out []Range
	for _, s := range ss {
		r, err := ParseRange(s)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

func addrs(ss ...string) []netip.Addr {
	var out []netip.Addr
	for _, s := range ss {
		out = append(out, netip.MustParseAddr(s))
	}
	return out
}

func reason(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return ""
}

func TestParseRange(t *testing.T) {
	for _, tc := range []struct{ in, want, err string }{
		{in: "10.0.0.0/30", want: "10.0.0.1-10.0.0.2"},
		{in: "10.0.0.8/31", want: "10.0.0.8-10.0.0.9"},
		{in: "10.0.0.5-10.0.0.9", want: "10.0.0.5-10.0.0.9"},
		{in: " 10.0.0.7 ", want: "10.0.0.7"},
		{in: "fd00::/126", want: "fd00::-fd00::3"},
		{in: "fd00::10-fd00::1f", want: "fd00::10-fd00::1f"},
		{in: "10.0.0.1/24", err: "host bits"},
		{in: "10.0.0.9-10.0.0.5", err: "ends before"},
		{in: "10.0.0.1-fd00::1", err: "mixes"},
		{in: "10.0.0.300", err: "not an address"},
		{in: "10.0.0.0/33", err: "not a valid CIDR"},
		{in: "::ffff:10.0.0.0/120", err: "IPv4-mapped"},
		{in: "::/80", err: "IPv4-mapped"},
		{in: "::fffe:ffff:ffff-::1:0:0:0", err: "IPv4-mapped"},
		{in: "::/96", want: "::-::ffff:ffff"},
	} {
		r, err := ParseRange(tc.in)
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("ParseRange(%q) error = %v, want %q", tc.in, err, tc.err)
		case tc.err == "" && (err != nil || r.String() != tc.want):
			t.Errorf("ParseRange(%q) = %s, %v; want %s", tc.in, r, err, tc.want)
		}
	}
}

func TestAllocate(t *testing.T) {
	type step struct {
		req     Request
		release string
		want    []string
		reason  string
	}
	web := func(ns, name string, fams ...Family) Request {
		if len(fams) == 0 {
			fams = []Family{IPv4}
		}
		return Request{Service: ns + "/" + name, Namespace: ns, Families: fams, Ports: []Port{{"TCP", 80}}}
	}
	with := func(r Request, f func(*Request)) Request { f(&r); return r }
	for _, tc := range []struct {
		name  string
		pools []Pool
		vms   map[string]string
		steps []step
	}{
		{
			name:  "first free address, stable on repeat, exhaustion, release",
			pools: []Pool{{Name: "p", Ranges: mustRanges(t, "10.0.0.1-10.0.0.2"), AutoAssign: true}},
			steps: []step{
				{req: web("a", "s1"), want: []string{"10.0.0.1"}},
				{req: web("a", "s1"), want: []string{"10.0.0.1"}},
				{req: web("a", "s2"), want: []string{"10.0.0.2"}},
				{req: web("a", "s3"), reason: ReasonExhausted},
				{release: "a/s1"},
				{req: web("a", "s3"), want: []string{"10.0.0.1"}},
			},
		},
		{
			name:  "an address a VM uses is never handed out",
			pools: []Pool{{Name: "p", Ranges: mustRanges(t, "10.0.0.1-10.0.0.3"), AutoAssign: true}},
			vms:   map[string]string{"10.0.0.1": "db-0"},
			steps: []step{
				{req: web("a", "s1"), want: []string{"10.0.0.2"}},
				{req: with(web("a", "s2"), func(r *Request) { r.Requested = addrs("10.0.0.1") }), reason: ReasonUsedByVM},
			},
		},
		{
			name:  "requested addresses: outside every pool, taken, in a manual pool",
			pools: []Pool{{Name: "auto", Ranges: mustRanges(t, "10.0.0.1-10.0.0.3"), AutoAssign: true}, {Name: "manual", Ranges: mustRanges(t, "10.0.1.0/30")}},
			steps: []step{
				{req: with(web("a", "s1"), func(r *Request) { r.Requested = addrs("192.168.1.1") }), reason: ReasonNotInPool},
				{req: with(web("a", "s1"), func(r *Request) { r.Requested = addrs("10.0.0.3") }), want: []string{"10.0.0.3"}},
				{req: with(web("a", "s2"), func(r *Request) { r.Requested = addrs("10.0.0.3") }), reason: ReasonInUse},
				{req: with(web("a", "s2"), func(r *Request) { r.Requested = addrs("10.0.1.2") }), want: []string{"10.0.1.2"}},
				{req: web("a", "s3"), want: []string{"10.0.0.1"}},
				// Changing the request moves the Service and frees the old address.
				{req: with(web("a", "s1"), func(r *Request) { r.Requested = addrs("10.0.0.2") }), want: []string{"10.0.0.2"}},
				{req: with(web("a", "s4"), func(r *Request) { r.Requested = addrs("10.0.0.3") }), want: []string{"10.0.0.3"}},
			},
		},
		{
			name: "namespace restrictions",
			pools: []Pool{
				{Name: "team", Ranges: mustRanges(t, "10.0.0.1"), AutoAssign: true, Allows: func(ns string) bool { return ns == "team" }},
				{Name: "shared", Ranges: mustRanges(t, "10.0.0.9"), AutoAssign: true},
			},
			steps: []step{
				{req: web("other", "s1"), want: []string{"10.0.0.9"}},
				{req: with(web("other", "s2"), func(r *Request) { r.Requested = addrs("10.0.0.1") }), reason: ReasonNoPool},
				{req: web("team", "s3"), want: []string{"10.0.0.1"}},
				{req: web("other", "s4"), reason: ReasonExhausted},
				{req: with(web("team", "s5"), func(r *Request) { r.Pool = "team" }), reason: ReasonExhausted},
			},
		},
		{
			name:  "sharing: same key and disjoint ports share; clashing ports or no key do not",
			pools: []Pool{{Name: "p", Ranges: mustRanges(t, "10.0.0.1-10.0.0.2"), AutoAssign: true}},
			steps: []step{
				{req: with(web("a", "http"), func(r *Request) { r.SharingKey = "k" }), want: []string{"10.0.0.1"}},
				{req: with(web("a", "dns"), func(r *Request) { r.SharingKey = "k"; r.Ports = []Port{{"UDP", 53}} }), want: []string{"10.0.0.1"}},
				{req: with(web("a", "http2"), func(r *Request) { r.SharingKey = "k" }), reason: ReasonSharingConflict},
				{req: with(web("a", "other"), func(r *Request) { r.Requested = addrs("10.0.0.1") }), reason: ReasonInUse},
				{req: web("a", "plain"), want: []string{"10.0.0.2"}},
				{release: "a/http"},
				{req: with(web("a", "http2"), func(r *Request) { r.SharingKey = "k" }), want: []string{"10.0.0.1"}},
			},
		},
		{
			name:  "dual-stack: one address per family in the Service's order, all or nothing",
			pools: []Pool{{Name: "p", Ranges: mustRanges(t, "10.0.0.1", "fd00::/127"), AutoAssign: true}},
			steps: []step{
				{req: web("a", "ds", IPv6, IPv4), want: []string{"fd00::", "10.0.0.1"}},
				{req: web("a", "ds2", IPv4, IPv6), reason: ReasonExhausted},
				{req: web("a", "v6", IPv6), want: []string{"fd00::1"}},
				{req: with(web("a", "bad", IPv4), func(r *Request) { r.Requested = addrs("fd00::1") }), reason: ReasonInvalidRequest},
				{req: web("a", "none", IPv6), reason: ReasonExhausted},
			},
		},
		{
			name:  "no pool for a family",
			pools: []Pool{{Name: "p", Ranges: mustRanges(t, "10.0.0.1"), AutoAssign: true}},
			steps: []step{{req: web("a", "v6", IPv6), reason: ReasonNoPool}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := NewAllocator(tc.pools, func(ip netip.Addr) []Use {
				if vm := tc.vms[ip.String()]; vm != "" {
					return []Use{{VM: vm}}
				}
				return nil
			})
			for i, s := range tc.steps {
				if s.release != "" {
					a.Release(s.release)
					continue
				}
				before := a.Held(s.req.Service)
				got, err := a.Assign(s.req)
				if s.reason != "" {
					if reason(err) != s.reason {
						t.Fatalf("step %d (%s): err = %v, want reason %s", i, s.req.Service, err, s.reason)
					}
					if after := a.Held(s.req.Service); !slices.Equal(before, after) {
						t.Fatalf("step %d: a failed request changed the Service's addresses from %v to %v", i, before, after)
					}
					continue
				}
				if err != nil || !slices.Equal(got, addrs(s.want...)) {
					t.Fatalf("step %d (%s): got %v, %v; want %v", i, s.req.Service, got, err, s.want)
				}
			}
		})
	}
}

func TestRestoreAndUsage(t *testing.T) {
	p := Pool{Name: "p", Ranges: mustRanges(t, "10.0.0.0/29"), AutoAssign: true}
	a := NewAllocator([]Pool{p}, nil)
	a.Restore(Request{Service: "a/old", Families: []Family{IPv4}}, addrs("10.0.0.1"))
	got, err := a.Assign(Request{Service: "a/new", Namespace: "a", Families: []Family{IPv4}})
	if err != nil || got[0].String() != "10.0.0.2" {
		t.Fatalf("after restore: %v, %v; want 10.0.0.2 (10.0.0.1 is held)", got, err)
	}
	if used, free := a.Usage(p); used != 2 || free != 4 {
		t.Fatalf("usage = %d used, %d free; want 2 and 4", used, free)
	}
	big := Pool{Name: "v6", Ranges: mustRanges(t, "fd00::/64")}
	if _, free := a.Usage(big); free != freeCap {
		t.Fatalf("free of a /64 = %d, want the cap", free)
	}
}

func TestParseRequested(t *testing.T) {
	got, err := ParseRequested("10.0.0.1", "10.0.0.1, fd00::1")
	if err != nil || !slices.Equal(got, addrs("10.0.0.1", "fd00::1")) {
		t.Fatalf("got %v, %v", got, err)
	}
	if _, err := ParseRequested("", "10.0.0.1,10.0.0.2"); reason(err) != ReasonInvalidRequest {
		t.Fatalf("two IPv4 addresses: %v", err)
	}
	if _, err := ParseRequested("banana", ""); err == nil || !strings.Contains(err.Error(), "spec.loadBalancerIP") {
		t.Fatalf("bad spec.loadBalancerIP: %v", err)
	}
}
