package announce

import (
	"net/netip"
	"path/filepath"
	"testing"
	"time"
)

// recorder is a Dataplane that keeps addresses in memory.
type recorder struct{ addrs map[string]bool }

func (r *recorder) AddUntil(ifname string, ip netip.Addr, _ time.Duration) error {
	r.addrs[ifname+" "+ip.String()] = true
	return nil
}

func (r *recorder) Remove(ifname string, ip netip.Addr) error {
	delete(r.addrs, ifname+" "+ip.String())
	return nil
}

func (r *recorder) Announce(string, netip.Addr) error        { return nil }
func (r *recorder) Addresses(string) ([]netip.Prefix, error) { return nil, nil }

// TestJournalRemovesWhatAKilledAgentLeft: an agent killed while holding VIPs leaves them on
// the interface; the next start removes them before reading anything from the API server.
func TestJournalRemovesWhatAKilledAgentLeft(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vips")
	kernel := &recorder{addrs: map[string]bool{"eth0 10.0.0.1": true}} // not ours: stays
	first := NewJournal(kernel, path)
	if _, err := first.Recover(); err != nil {
		t.Fatal(err)
	}
	for _, ip := range []string{"10.0.0.7", "fd00::7"} {
		if err := first.AddUntil("eth0", netip.MustParseAddr(ip), time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	if err := first.Remove("eth0", netip.MustParseAddr("fd00::7")); err != nil {
		t.Fatal(err)
	}
	// Killed here: 10.0.0.7 stays on eth0.
	second := NewJournal(kernel, path)
	n, err := second.Recover()
	if err != nil || n != 1 {
		t.Fatalf("Recover = %d, %v; want 1 address removed", n, err)
	}
	if kernel.addrs["eth0 10.0.0.7"] || !kernel.addrs["eth0 10.0.0.1"] {
		t.Errorf("addresses after recovery: %v", kernel.addrs)
	}
	if n, _ := NewJournal(kernel, path).Recover(); n != 0 {
		t.Errorf("a second recovery removed %d addresses", n)
	}
}
