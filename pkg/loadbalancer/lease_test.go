package loadbalancer

import (
	"net/netip"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation"
)

// Every VIP's Lease name and label value must be accepted by the API server: a colon in
// the label once kept every IPv6 VIP from being announced.
func TestLeaseNamesAndLabelsAreValid(t *testing.T) {
	for _, s := range []string{"10.0.0.7", "255.255.255.255", "fd00::7", "fd77::200", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", "::1", "::ffff:10.0.0.1"} {
		ip := netip.MustParseAddr(s)
		v := LeaseLabelValue(ip)
		if errs := validation.IsValidLabelValue(v); len(errs) > 0 {
			t.Errorf("label value %q for %s: %v", v, s, errs)
		}
		if errs := validation.IsDNS1123Subdomain(LeaseName(ip)); len(errs) > 0 {
			t.Errorf("Lease name %q for %s: %v", LeaseName(ip), s, errs)
		}
		back, err := ParseLeaseLabel(v)
		if err != nil || back != ip {
			t.Errorf("ParseLeaseLabel(%q) = %s, %v; want %s", v, back, err, s)
		}
	}
}

func FuzzLeaseLabel(f *testing.F) {
	f.Add([]byte{10, 0, 0, 7})
	f.Add(netip.MustParseAddr("fd77::200").AsSlice())
	f.Add(netip.MustParseAddr("::").AsSlice())
	f.Fuzz(func(t *testing.T, b []byte) {
		ip, ok := netip.AddrFromSlice(b)
		if !ok {
			return
		}
		v := LeaseLabelValue(ip)
		if errs := validation.IsValidLabelValue(v); len(errs) > 0 {
			t.Fatalf("label value %q for %s: %v", v, ip, errs)
		}
		if errs := validation.IsDNS1123Subdomain(LeaseName(ip)); len(errs) > 0 {
			t.Fatalf("Lease name %q for %s: %v", LeaseName(ip), ip, errs)
		}
		if back, err := ParseLeaseLabel(v); err != nil || back != ip {
			t.Fatalf("ParseLeaseLabel(%q) = %s, %v; want %s", v, back, err, ip)
		}
	})
}
