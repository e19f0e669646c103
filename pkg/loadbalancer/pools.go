package loadbalancer

import (
	"fmt"
	"sort"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/vsphere-cloud/provider/api/v1alpha1"
)

// PoolProblem is why a VIPPool hands out nothing.
type PoolProblem struct {
	Reason  string
	Message string
}

// BuildPools turns VIPPools into Pools. A pool with an unparsable entry or selector is
// left out with InvalidRange; of two overlapping pools the younger (then the one whose
// name sorts later) is left out with Overlap, so existing allocations of the older one
// are not disturbed. nsLabels returns a namespace's labels (for namespace selectors).
func BuildPools(objs []v1alpha1.VIPPool, nsLabels func(ns string) labels.Set) ([]Pool, map[string]PoolProblem) {
	sorted := append([]v1alpha1.VIPPool(nil), objs...)
	sort.Slice(sorted, func(i, j int) bool {
		a, b := sorted[i].CreationTimestamp, sorted[j].CreationTimestamp
		if !a.Equal(&b) {
			return a.Before(&b)
		}
		return sorted[i].Name < sorted[j].Name
	})
	problems := map[string]PoolProblem{}
	var pools []Pool
	for _, o := range sorted {
		p, err := buildPool(o, nsLabels)
		if err != nil {
			problems[o.Name] = PoolProblem{Reason: v1alpha1.ReasonInvalidRange, Message: err.Error()}
			continue
		}
		if other, r, ok := overlapping(pools, p); ok {
			problems[o.Name] = PoolProblem{Reason: v1alpha1.ReasonOverlap, Message: fmt.Sprintf("%s overlaps VIPPool %s (%s)", r, other.Name, rangesString(other.Ranges))}
			continue
		}
		pools = append(pools, p)
	}
	return pools, problems
}

func buildPool(o v1alpha1.VIPPool, nsLabels func(string) labels.Set) (Pool, error) {
	p := Pool{
		Name: o.Name, Network: o.Spec.Network, AutoAssign: o.Spec.AutoAssign == nil || *o.Spec.AutoAssign,
		ShareAcrossNamespaces: o.Spec.ShareAcrossNamespaces, AnnounceFromControlPlane: o.Spec.AnnounceFromControlPlane,
	}
	if len(o.Spec.Addresses) == 0 {
		return p, fmt.Errorf("spec.addresses is empty")
	}
	for i, s := range o.Spec.Addresses {
		r, err := ParseRange(s)
		if err != nil {
			return p, fmt.Errorf("spec.addresses[%d]: %w", i, err)
		}
		for _, prev := range p.Ranges {
			if prev.Overlaps(r) {
				return p, fmt.Errorf("spec.addresses[%d]: %s overlaps %s of the same pool", i, r, prev)
			}
		}
		p.Ranges = append(p.Ranges, r)
	}
	if o.Spec.NamespaceSelector != nil {
		sel, err := metav1.LabelSelectorAsSelector(o.Spec.NamespaceSelector)
		if err != nil {
			return p, fmt.Errorf("spec.namespaceSelector: %w", err)
		}
		p.Allows = func(ns string) bool { return nsLabels != nil && sel.Matches(nsLabels(ns)) }
	}
	if o.Spec.NodeSelector != nil {
		sel, err := metav1.LabelSelectorAsSelector(o.Spec.NodeSelector)
		if err != nil {
			return p, fmt.Errorf("spec.nodeSelector: %w", err)
		}
		p.NodeSelector = sel
	}
	return p, nil
}

// AllRanges are the parsable entries of every VIPPool, valid or not: the addresses a
// Node must never take, even those of a pool left out for an overlap or a bad entry.
func AllRanges(objs []v1alpha1.VIPPool) []Range {
	var out []Range
	for _, o := range objs {
		for _, s := range o.Spec.Addresses {
			if r, err := ParseRange(s); err == nil {
				out = append(out, r)
			}
		}
	}
	return out
}

func overlapping(pools []Pool, p Pool) (Pool, Range, bool) {
	for _, other := range pools {
		for _, a := range other.Ranges {
			for _, b := range p.Ranges {
				if a.Overlaps(b) {
					return other, b, true
				}
			}
		}
	}
	return Pool{}, Range{}, false
}

func rangesString(rs []Range) string {
	parts := make([]string, 0, len(rs))
	for _, r := range rs {
		parts = append(parts, r.String())
	}
	return strings.Join(parts, ", ")
}
