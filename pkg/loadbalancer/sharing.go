package loadbalancer

import (
	"net/netip"
	"slices"
)

// TrafficPolicyCluster is the externalTrafficPolicy of a Service that sets none.
const TrafficPolicyCluster = "Cluster"

func trafficPolicy(r Request) string {
	if r.TrafficPolicy == "" {
		return TrafficPolicyCluster
	}
	return r.TrafficPolicy
}

// sharesAcrossNamespacesLocked reports whether the pool holding ip lets Services of
// different namespaces share it.
func (a *Allocator) sharesAcrossNamespacesLocked(ip netip.Addr) bool {
	for _, p := range a.pools {
		if p.contains(ip) {
			return p.ShareAcrossNamespaces
		}
	}
	return false
}

// shareableLocked checks that the Services holding ip let r join them: the same sharing
// key, in the same namespace (or a pool that shares across namespaces), with the same
// traffic policy (one announcing node serves them all, so Local and Cluster cannot
// agree on it) and no common port.
func (a *Allocator) shareableLocked(r Request, ip netip.Addr) error {
	for _, h := range a.holders[ip] {
		if h.service == r.Service {
			continue
		}
		if r.SharingKey == "" || h.key != r.SharingKey {
			return fail(ReasonInUse, "%s is held by Service %s", ip, h.service)
		}
		if h.namespace != r.Namespace && !a.sharesAcrossNamespacesLocked(ip) {
			return fail(ReasonSharingConflict, "%s is held by Service %s of another namespace, and its VIPPool does not share addresses across namespaces (spec.shareAcrossNamespaces)", ip, h.service)
		}
		if p := trafficPolicy(r); h.policy != p {
			return fail(ReasonSharingConflict, "%s is shared with Service %s, whose externalTrafficPolicy is %s, not %s", ip, h.service, h.policy, p)
		}
		for _, p := range r.Ports {
			if slices.Contains(h.ports, p) {
				return fail(ReasonSharingConflict, "%s is shared with Service %s, which also uses %s/%d", ip, h.service, p.Protocol, p.Port)
			}
		}
	}
	return nil
}

// pickSharedLocked finds an address of family fam that Services under r's sharing key
// hold: only those of r's namespace, or of any namespace where the pool shares across
// namespaces, since a key is private to its namespace. found is false when there is
// none; otherwise err is why none of them fits.
func (a *Allocator) pickSharedLocked(r Request, fam Family) (ip netip.Addr, found bool, err error) {
	if r.SharingKey == "" {
		return netip.Addr{}, false, nil
	}
	var shared []netip.Addr
	for ip, hs := range a.holders {
		for _, h := range hs {
			if h.key == r.SharingKey && h.service != r.Service && familyOf(ip) == fam &&
				(h.namespace == r.Namespace || a.sharesAcrossNamespacesLocked(ip)) && !slices.Contains(shared, ip) {
				shared = append(shared, ip)
			}
		}
	}
	if len(shared) == 0 {
		return netip.Addr{}, false, nil
	}
	slices.SortFunc(shared, netip.Addr.Compare)
	for _, ip := range shared {
		if err = a.usableLocked(r, ip); err == nil {
			return ip, true, nil
		}
	}
	return netip.Addr{}, true, err
}
