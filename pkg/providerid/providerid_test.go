package providerid

import "testing"

func TestRoundTrip(t *testing.T) {
	const uuid = "4214c5e2-1111-2222-3333-444455556666"
	if got, ok := UUID(Format(uuid)); !ok || got != uuid {
		t.Fatalf("UUID(Format(%q)) = %q, %v", uuid, got, ok)
	}
}

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"vsphere://4214C5E2-1111-2222-3333-444455556666", "4214c5e2-1111-2222-3333-444455556666", true},
		{"vsphere://{4214c5e2111122223333444455556666}", "4214c5e2-1111-2222-3333-444455556666", true},
		{"", "", false},
		{"aws:///eu-west-1a/i-0123", "", false},
		{"vsphere://not-a-uuid", "", false},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := Parse(tc.in)
			if (err == nil) != tc.ok || got != tc.want {
				t.Fatalf("Parse(%q) = %q, %v; want %q, ok=%v", tc.in, got, err, tc.want, tc.ok)
			}
		})
	}
}
