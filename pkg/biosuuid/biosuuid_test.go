package biosuuid

import (
	"strings"
	"testing"
)

func TestConversions(t *testing.T) {
	n, err := Normalize("{4214C5E2-1111-2222-3333-444455556666}")
	if err != nil || n != "4214c5e2-1111-2222-3333-444455556666" {
		t.Fatalf("NormalizeUUID = %q, %v", n, err)
	}
	s, _ := SwapByteOrder(n)
	if s != "e2c51442-1111-2222-3333-444455556666" {
		t.Errorf("SwapUUIDByteOrder = %q", s)
	}
	for _, bad := range []string{"", "xyz", "4214c5e2-1111-2222-3333-44445555666", "4214c5e2-1111-2222-3333-44445555666g"} {
		if _, err := Normalize(bad); err == nil {
			t.Errorf("Normalize(%q) accepted", bad)
		}
	}
}

// FuzzUUID: normalization is idempotent, and swapping the byte order twice is the identity.
func FuzzUUID(f *testing.F) {
	for _, s := range []string{"4214c5e2-1111-2222-3333-444455556666", "{E2C51442-1111-2222-3333-444455556666}", "00000000000000000000000000000000", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := Normalize(s)
		if err != nil {
			return
		}
		if n2, err := Normalize(n); err != nil || n2 != n {
			t.Fatalf("not idempotent: %q -> %q -> %q (%v)", s, n, n2, err)
		}
		if len(n) != 36 || strings.ToLower(n) != n {
			t.Fatalf("not canonical: %q", n)
		}
		sw, _ := SwapByteOrder(n)
		if back, _ := SwapByteOrder(sw); back != n {
			t.Fatalf("swap twice: %q -> %q -> %q", n, sw, back)
		}
	})
}
