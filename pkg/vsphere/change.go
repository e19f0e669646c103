package vsphere

import "sync"

// Change says what one batch of inventory updates touched: VMs and hosts by managed
// object ID, or All (initial sync, resync, renamed containers).
type Change struct {
	VCenter string
	VMs     []string
	Hosts   []string
	All     bool
}

// any reports whether the change touched anything.
func (ch Change) any() bool { return ch.All || len(ch.VMs) > 0 || len(ch.Hosts) > 0 }

// changeListener holds the function Manager.OnChange registered for one vCenter. The
// inventory watch and the event watch (for hosts entering maintenance) both call it, never
// with a lock held.
type changeListener struct {
	mu sync.Mutex
	f  func(Change)
}

// set replaces the listener.
func (l *changeListener) set(f func(Change)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.f = f
}

// get returns the listener, nil when none is registered.
func (l *changeListener) get() func(Change) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.f
}
