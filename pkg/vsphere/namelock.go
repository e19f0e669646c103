package vsphere

import "sync"

// nameLocks serializes work per name: two creates of one volume name in this process
// never run at once, so the second finds what the first made.
type nameLocks struct {
	mu    sync.Mutex
	locks map[string]*nameLock
}

type nameLock struct {
	sync.Mutex
	users int
}

// lock locks name and returns its unlock.
func (n *nameLocks) lock(name string) func() {
	n.mu.Lock()
	if n.locks == nil {
		n.locks = map[string]*nameLock{}
	}
	l := n.locks[name]
	if l == nil {
		l = &nameLock{}
		n.locks[name] = l
	}
	l.users++
	n.mu.Unlock()
	l.Lock()
	return func() {
		l.Unlock()
		n.mu.Lock()
		if l.users--; l.users == 0 {
			delete(n.locks, name)
		}
		n.mu.Unlock()
	}
}
