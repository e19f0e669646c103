package announce

import (
	"strings"
	"testing"

	coordinationv1 "k8s.io/api/coordination/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/vsphere-cloud/provider/api/v1alpha1"
)

// FuzzHostLabelValue: any ESXi host name vCenter may report (an IPv6 address, a long
// FQDN, anything) gives a valid label value, the same one every time, and one that
// differs from every other name's. The first seeds crashed the agent.
func FuzzHostLabelValue(f *testing.F) {
	for _, s := range []string{"fd00:10::21", "esxi-" + strings.Repeat("rack-7-", 9) + "x.example.com", "esx-1.example.com", "", "h-" + strings.Repeat("0", 56), "-"} {
		f.Add(s, "esx-1")
	}
	f.Fuzz(func(t *testing.T, host, other string) {
		v := HostLabelValue(host)
		if errs := validation.IsValidLabelValue(v); len(errs) > 0 {
			t.Fatalf("HostLabelValue(%q) = %q: %v", host, v, errs)
		}
		if v != HostLabelValue(host) {
			t.Fatalf("HostLabelValue(%q) is not stable", host)
		}
		if host != other && v == HostLabelValue(other) {
			t.Fatalf("hosts %q and %q share the label value %q", host, other, v)
		}
		l := &coordinationv1.Lease{}
		setHostLabel(l, host)
		if host != "" && l.Labels[v1alpha1.LabelLeaseESXiHost] != v {
			t.Fatalf("Lease label %q, want %q", l.Labels[v1alpha1.LabelLeaseESXiHost], v)
		}
	})
}
