package agent

import (
	"testing"

	"k8s.io/apimachinery/pkg/util/validation"
)

// The host, cluster and datacenter labels come from inventory names, which may hold any
// character and any length (an ESXi host registered by IPv6 address, a cluster named in
// another script): every one must become a valid label value, never a rejected Node update.
func FuzzLabelValue(f *testing.F) {
	for _, s := range []string{"esxi-01.lab.example.com", "fd00::1", "Cluster A (prod)", "", "-_.", "日本語のクラスター",
		"a-very-long-host-name-that-goes-on-and-on-well-past-sixty-three-characters.example.com"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v := labelValue(s)
		if errs := validation.IsValidLabelValue(v); len(errs) > 0 {
			t.Fatalf("labelValue(%q) = %q: %v", s, v, errs)
		}
	})
}
