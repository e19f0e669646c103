package loadbalancer

import (
	"net/netip"
	"testing"
)

// FuzzParseRange: any input either fails with an error or yields a non-empty range of one
// family whose ends it contains and whose string form parses back to the same range.
func FuzzParseRange(f *testing.F) {
	for _, s := range []string{"10.0.0.0/28", "10.0.0.5-10.0.0.9", "fd00::/120", "10.0.0.7", "::ffff:10.0.0.1", "10.0.0.9-10.0.0.5", "fd00::1-10.0.0.1", "0.0.0.0/0", "::/0", "::ffff:10.0.0.0/120"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRange(s)
		if err != nil {
			return
		}
		if r.From.BitLen() != r.To.BitLen() || r.To.Less(r.From) {
			t.Fatalf("ParseRange(%q) = %v: mixed families or reversed", s, r)
		}
		if !r.Contains(r.From) || !r.Contains(r.To) || r.Size().Sign() <= 0 {
			t.Fatalf("ParseRange(%q) = %v does not contain its ends", s, r)
		}
		if r.From.Zone() != "" || r.From.Is4In6() {
			t.Fatalf("ParseRange(%q) = %v: zoned or mapped address", s, r)
		}
		back, err := ParseRange(r.String())
		if err != nil || back != r {
			t.Fatalf("ParseRange(%q) = %v, which re-parses to %v, %v", s, r, back, err)
		}
		if r.Contains(netip.Addr{}) {
			t.Fatal("a range contains the zero address")
		}
	})
}
