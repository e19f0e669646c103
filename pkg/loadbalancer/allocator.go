package loadbalancer

import (
	"errors"
	"fmt"
	"math/big"
	"net/netip"
	"slices"
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/labels"

	"github.com/vsphere-cloud/provider/api/v1alpha1"
)

// Family is an IP family, named as Kubernetes names them.
type Family string

// Families.
const (
	IPv4 Family = "IPv4"
	IPv6 Family = "IPv6"
)

func familyOf(ip netip.Addr) Family {
	if ip.Is4() {
		return IPv4
	}
	return IPv6
}

// Pool is a parsed, valid VIPPool.
type Pool struct {
	Name       string
	Ranges     []Range
	AutoAssign bool
	Network    string
	// Allows reports whether Services of a namespace may use the pool; nil allows all.
	Allows func(namespace string) bool
	// ShareAcrossNamespaces lets Services of different namespaces share an address of
	// the pool through one sharing key; otherwise a key is private to its namespace.
	ShareAcrossNamespaces bool
	// NodeSelector limits the nodes that may announce the pool's addresses; nil: all.
	NodeSelector labels.Selector
	// AnnounceFromControlPlane lets control-plane nodes announce the pool's addresses.
	AnnounceFromControlPlane bool
}

func (p Pool) allows(ns string) bool { return p.Allows == nil || p.Allows(ns) }

func (p Pool) contains(ip netip.Addr) bool {
	for _, r := range p.Ranges {
		if r.Contains(ip) {
			return true
		}
	}
	return false
}

// Port is one Service port, for address sharing.
type Port struct {
	Protocol string
	Port     int32
}

// Request is what a Service asks for.
type Request struct {
	// Service is "namespace/name".
	Service   string
	Namespace string
	// Families are the Service's IP families, primary first.
	Families []Family
	// Requested are exact addresses (spec.loadBalancerIP or the annotation), at most one
	// per family.
	Requested []netip.Addr
	// SharingKey lets Services of one namespace (of any namespace, in a pool that
	// shares across namespaces) with the same key and the same TrafficPolicy share an
	// address when their ports differ.
	SharingKey string
	// TrafficPolicy is the Service's externalTrafficPolicy (Cluster when empty).
	TrafficPolicy string
	Ports         []Port
	// Pool restricts allocation to one pool by name; empty: any.
	Pool string
}

// Reasons an allocation fails; they name Events and Service conditions.
const (
	ReasonNoPool     = "NoPool"
	ReasonExhausted  = "PoolExhausted"
	ReasonNotInPool  = "AddressNotInPool"
	ReasonInUse      = "AddressInUse"
	ReasonUsedByVM   = "AddressUsedByVM"
	ReasonUsedByNode = "AddressUsedByNode"
	// ReasonUseUnknown: vCenter's inventory is not read yet, so an address's use is not
	// known; the request is retried.
	ReasonUseUnknown      = "AddressUseUnknown"
	ReasonSharingConflict = "SharingConflict"
	ReasonInvalidRequest  = "InvalidRequest"
	maxCandidatesPerRange = 1 << 16
	freeCap               = int64(1) << 62
)

// Error is an allocation failure with a reason.
type Error struct {
	Reason string
	Msg    string
}

func (e *Error) Error() string { return e.Reason + ": " + e.Msg }

func fail(reason, format string, args ...any) error {
	return &Error{Reason: reason, Msg: fmt.Sprintf(format, args...)}
}

// reasonIs reports whether err is an allocation Error with reason.
func reasonIs(err error, reason string) bool {
	var e *Error
	return errors.As(err, &e) && e.Reason == reason
}

type holder struct {
	service   string
	namespace string
	key       string
	policy    string
	ports     []Port
}

func holderOf(r Request) holder {
	return holder{service: r.Service, namespace: r.Namespace, key: r.SharingKey, policy: trafficPolicy(r), ports: r.Ports}
}

// Allocator hands out addresses from pools. Its state is rebuilt from Services' status
// (Restore) after a restart: nothing is stored elsewhere.
type Allocator struct {
	mu      sync.Mutex
	pools   []Pool
	holders map[netip.Addr][]holder
	bySvc   map[string][]netip.Addr
	// uses says what outside the allocator uses an address.
	uses func(netip.Addr) []Use
}

// NewAllocator returns an allocator over pools; uses may be nil.
func NewAllocator(pools []Pool, uses func(netip.Addr) []Use) *Allocator {
	if uses == nil {
		uses = func(netip.Addr) []Use { return nil }
	}
	return &Allocator{pools: pools, holders: map[netip.Addr][]holder{}, bySvc: map[string][]netip.Addr{}, uses: uses}
}

// SetPools replaces the pools. Addresses already held stay held.
func (a *Allocator) SetPools(pools []Pool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.pools = pools
}

// Restore records addresses a Service already holds (from its status).
func (a *Allocator) Restore(r Request, ips []netip.Addr) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.releaseLocked(r.Service)
	for _, ip := range ips {
		a.holders[ip] = append(a.holders[ip], holderOf(r))
	}
	a.bySvc[r.Service] = ips
}

// Release frees a Service's addresses.
func (a *Allocator) Release(service string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.releaseLocked(service)
}

func (a *Allocator) releaseLocked(service string) {
	for _, ip := range a.bySvc[service] {
		hs := slices.DeleteFunc(a.holders[ip], func(h holder) bool { return h.service == service })
		if len(hs) == 0 {
			delete(a.holders, ip)
		} else {
			a.holders[ip] = hs
		}
	}
	delete(a.bySvc, service)
}

// Held returns a Service's addresses.
func (a *Allocator) Held(service string) []netip.Addr {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.bySvc[service])
}

// Assign gives the Service one address per family, keeping what it holds when that still
// fits the request. It is all or nothing: on error the Service keeps what it had.
func (a *Allocator) Assign(r Request) ([]netip.Addr, error) {
	if len(r.Families) == 0 {
		return nil, fail(ReasonInvalidRequest, "the Service has no IP family")
	}
	for _, ip := range r.Requested {
		if !slices.Contains(r.Families, familyOf(ip)) {
			return nil, fail(ReasonInvalidRequest, "requested address %s is %s, but the Service's ipFamilies are %v", ip, familyOf(ip), r.Families)
		}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	held := a.bySvc[r.Service]
	out := make([]netip.Addr, 0, len(r.Families))
	taken := map[netip.Addr]bool{}
	for _, fam := range r.Families {
		want := netip.Addr{}
		for _, ip := range r.Requested {
			if familyOf(ip) == fam {
				want = ip
			}
		}
		var keep netip.Addr
		for _, ip := range held {
			if familyOf(ip) != fam || (want.IsValid() && ip != want) {
				continue
			}
			// An address a Service holds stays held while VM use is not known yet (the
			// inventory not read after a restart): it was checked when it was handed out.
			if err := a.usableLocked(r, ip); err == nil || reasonIs(err, ReasonUseUnknown) {
				keep = ip
			}
		}
		if keep.IsValid() {
			out = append(out, keep)
			continue
		}
		var ip netip.Addr
		var err error
		if want.IsValid() {
			ip, err = want, a.usableLocked(r, want)
		} else {
			ip, err = a.pickLocked(r, fam, taken)
		}
		if err != nil {
			return nil, err
		}
		taken[ip] = true
		out = append(out, ip)
	}
	a.releaseLocked(r.Service)
	for _, ip := range out {
		a.holders[ip] = append(a.holders[ip], holderOf(r))
	}
	a.bySvc[r.Service] = out
	return slices.Clone(out), nil
}

// usableLocked checks that ip may go to the request: in an allowed pool, free or
// shareable, and not used by any VM.
func (a *Allocator) usableLocked(r Request, ip netip.Addr) error {
	inPool, allowed := false, false
	for _, p := range a.pools {
		if p.contains(ip) && (r.Pool == "" || p.Name == r.Pool) {
			inPool = true
			allowed = allowed || p.allows(r.Namespace)
		}
	}
	switch {
	case !inPool && r.Pool != "":
		return fail(ReasonNotInPool, "%s is not in pool %s", ip, r.Pool)
	case !inPool:
		return fail(ReasonNotInPool, "%s is in no VIPPool", ip)
	case !allowed:
		return fail(ReasonNoPool, "the pool holding %s does not serve namespace %s", ip, r.Namespace)
	}
	if err := a.shareableLocked(r, ip); err != nil {
		return err
	}
	return a.conflictLocked(ip)
}

// pickLocked finds an address: first one shared under the request's key, then the first
// free one of the auto-assign pools in order.
func (a *Allocator) pickLocked(r Request, fam Family, taken map[netip.Addr]bool) (netip.Addr, error) {
	if ip, found, err := a.pickSharedLocked(r, fam); found {
		return ip, err
	}
	candidates := 0
	for _, p := range a.pools {
		if (r.Pool != "" && p.Name != r.Pool) || (r.Pool == "" && !p.AutoAssign) || !p.allows(r.Namespace) {
			continue
		}
		for _, rg := range p.Ranges {
			if familyOf(rg.From) != fam {
				continue
			}
			candidates++
			ip := rg.From
			for n := 0; n < maxCandidatesPerRange && rg.Contains(ip); n, ip = n+1, ip.Next() {
				if taken[ip] || len(a.holders[ip]) > 0 {
					continue
				}
				if err := a.conflictLocked(ip); err != nil {
					if reasonIs(err, ReasonUseUnknown) {
						return netip.Addr{}, err // not known for any address yet
					}
					continue
				}
				return ip, nil
			}
		}
	}
	if candidates == 0 {
		return netip.Addr{}, fail(ReasonNoPool, "no auto-assign VIPPool has %s addresses for namespace %s", fam, r.Namespace)
	}
	return netip.Addr{}, fail(ReasonExhausted, "every %s address of the VIPPools for namespace %s is taken", fam, r.Namespace)
}

// Usage counts a pool's used and free addresses (free capped at 2^62).
func (a *Allocator) Usage(pool Pool) (used, free int64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for ip := range a.holders {
		if pool.contains(ip) {
			used++
		}
	}
	total := new(big.Int)
	for _, r := range pool.Ranges {
		total.Add(total, r.Size())
	}
	total.Sub(total, big.NewInt(used))
	if !total.IsInt64() || total.Int64() > freeCap {
		return used, freeCap
	}
	return used, total.Int64()
}

// PoolOf returns the pool that holds ip.
func (a *Allocator) PoolOf(ip netip.Addr) (Pool, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, p := range a.pools {
		if p.contains(ip) {
			return p, true
		}
	}
	return Pool{}, false
}

// ParseRequested parses requested addresses from spec.loadBalancerIP and the annotation
// (a comma-separated list); an error names the source.
func ParseRequested(loadBalancerIP, annotation string) ([]netip.Addr, error) {
	var out []netip.Addr
	add := func(src, s string) error {
		s = strings.TrimSpace(s)
		if s == "" {
			return nil
		}
		ip, err := netip.ParseAddr(s)
		if err != nil {
			return fail(ReasonInvalidRequest, "%s: %q is not an IP address", src, s)
		}
		ip = ip.Unmap()
		for _, o := range out {
			if familyOf(o) == familyOf(ip) && o != ip {
				return fail(ReasonInvalidRequest, "%s: two %s addresses requested (%s, %s)", src, familyOf(ip), o, ip)
			}
		}
		if !slices.Contains(out, ip) {
			out = append(out, ip)
		}
		return nil
	}
	if err := add("spec.loadBalancerIP", loadBalancerIP); err != nil {
		return nil, err
	}
	for _, s := range strings.Split(annotation, ",") {
		if err := add("annotation "+v1alpha1.AnnotationLoadBalancerIPs, s); err != nil {
			return nil, err
		}
	}
	return out, nil
}
