// Package keyed serializes work per key (a volume name, a volume ID, a VM).
package keyed

import (
	"context"
	"sync"
)

// Mutex serializes work per key and gives up when the caller's context ends.
type Mutex struct {
	mu   sync.Mutex
	busy map[string]chan struct{}
}

// New returns an empty Mutex.
func New() *Mutex { return &Mutex{busy: map[string]chan struct{}{}} }

// Lock waits for key to be free and takes it; the returned function frees it.
func (k *Mutex) Lock(ctx context.Context, key string) (func(), error) {
	for {
		k.mu.Lock()
		ch, busy := k.busy[key]
		if !busy {
			ch = make(chan struct{})
			k.busy[key] = ch
			k.mu.Unlock()
			return func() {
				k.mu.Lock()
				delete(k.busy, key)
				k.mu.Unlock()
				close(ch)
			}, nil
		}
		k.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}
