package lbcontroller

import (
	"net/netip"
	"reflect"
	"slices"
	"sync"

	"github.com/vsphere-cloud/provider/pkg/loadbalancer"
)

// poolSet is what the VIPPools were last built into: the pools that hand out addresses,
// the problems of those left out, and every pool's addresses. The VIPPool controller
// writes it; allocation, pool status and IsVIP read it.
type poolSet struct {
	mu       sync.Mutex
	pools    []loadbalancer.Pool
	problems map[string]loadbalancer.PoolProblem // VIPPool name -> why it hands out nothing
	ranges   []loadbalancer.Range                // every VIPPool's addresses, valid or not
}

// replace stores a new build and reports whether the pools or their problems changed.
func (s *poolSet) replace(pools []loadbalancer.Pool, problems map[string]loadbalancer.PoolProblem, ranges []loadbalancer.Range) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	changed := !samePools(s.pools, pools) || !reflect.DeepEqual(s.problems, problems)
	s.pools, s.problems, s.ranges = pools, problems, ranges
	return changed
}

// snapshot returns the current pools and problems; callers must not modify them.
func (s *poolSet) snapshot() ([]loadbalancer.Pool, map[string]loadbalancer.PoolProblem) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pools, s.problems
}

// covers reports whether ip is inside any VIPPool's addresses, valid or not.
func (s *poolSet) covers(ip netip.Addr) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.ContainsFunc(s.ranges, func(r loadbalancer.Range) bool { return r.Contains(ip) })
}

// samePools reports whether two builds hand out the same addresses the same way.
func samePools(a, b []loadbalancer.Pool) bool {
	return slices.EqualFunc(a, b, func(x, y loadbalancer.Pool) bool {
		return x.Name == y.Name && x.Network == y.Network && x.AutoAssign == y.AutoAssign && slices.Equal(x.Ranges, y.Ranges) &&
			x.ShareAcrossNamespaces == y.ShareAcrossNamespaces
	})
}
