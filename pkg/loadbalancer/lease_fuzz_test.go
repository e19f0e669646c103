package loadbalancer

import (
	"net/netip"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation"
)

// FuzzLeaseKeysFromText derives the Lease name and label of every address a Service's
// status or a pool can spell (zones and IPv4-mapped forms included): both must be
// accepted by the API server, and the label must read back to the same address.
func FuzzLeaseKeysFromText(f *testing.F) {
	for _, s := range []string{"10.0.0.7", "fd00::7", "::ffff:10.0.0.1", "fe80::1%eth0", "::", "0.0.0.0", "2001:db8::1%25"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ip, err := netip.ParseAddr(s)
		if err != nil {
			return
		}
		name, label := LeaseName(ip), LeaseLabelValue(ip)
		if errs := validation.IsDNS1123Subdomain(name); len(errs) > 0 {
			t.Fatalf("Lease name %q for %q: %v", name, s, errs)
		}
		if errs := validation.IsValidLabelValue(label); len(errs) > 0 {
			t.Fatalf("label value %q for %q: %v", label, s, errs)
		}
		if back, err := ParseLeaseLabel(label); err != nil || back != ip.WithZone("") {
			t.Fatalf("ParseLeaseLabel(%q) = %s, %v; want %s", label, back, err, ip.WithZone(""))
		}
	})
}

// FuzzParseLeaseLabel reads arbitrary label values (a Lease anyone with write access to
// the namespace may have labelled): no panic, and what parses is written back the same
// way.
func FuzzParseLeaseLabel(f *testing.F) {
	for _, s := range []string{"10.0.0.7", "fd00-0000-0000-0000-0000-0000-0000-0007", "-", "", "fe80--1%eth0", "::"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ip, err := ParseLeaseLabel(s)
		if err != nil {
			return
		}
		if back, err := ParseLeaseLabel(LeaseLabelValue(ip)); err != nil || back != ip.WithZone("") {
			t.Fatalf("%q -> %s -> %q -> %s, %v", s, ip, LeaseLabelValue(ip), back, err)
		}
	})
}
