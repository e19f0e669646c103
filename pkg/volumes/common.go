package volumes

import (
	"context"
	"fmt"
	"sync"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// KeyedMutex serializes work per key (a volume name, a VM) and gives up when the
// caller's context ends.
type KeyedMutex struct {
	mu   sync.Mutex
	busy map[string]chan struct{}
}

// NewKeyedMutex returns an empty KeyedMutex.
func NewKeyedMutex() *KeyedMutex { return &KeyedMutex{busy: map[string]chan struct{}{}} }

// Lock waits for key to be free and takes it; the returned function frees it.
func (k *KeyedMutex) Lock(ctx context.Context, key string) (func(), error) {
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

// CheckCapabilities accepts mount (ext4, xfs or unspecified) and block access by one node.
func CheckCapabilities(caps []*csi.VolumeCapability) error {
	if len(caps) == 0 {
		return Invalid("volume_capabilities are required")
	}
	for _, vc := range caps {
		if vc.GetBlock() == nil && vc.GetMount() == nil {
			return Invalid("volume_capabilities: access_type must be mount or block")
		}
		if fs := vc.GetMount().GetFsType(); fs != "" && fs != "ext4" && fs != "xfs" {
			return Invalid(fmt.Sprintf("volume_capabilities: fs_type %q is not supported (ext4 or xfs)", fs))
		}
		switch vc.GetAccessMode().GetMode() {
		case csi.VolumeCapability_AccessMode_SINGLE_NODE_WRITER, csi.VolumeCapability_AccessMode_SINGLE_NODE_READER_ONLY,
			csi.VolumeCapability_AccessMode_SINGLE_NODE_SINGLE_WRITER, csi.VolumeCapability_AccessMode_SINGLE_NODE_MULTI_WRITER:
		default:
			return Invalid(fmt.Sprintf("volume_capabilities: access mode %s is not supported: a disk attaches to one VM at a time", vc.GetAccessMode().GetMode()))
		}
	}
	return nil
}

// Invalid is an InvalidArgument error with msg.
func Invalid(msg string) error { return status.Error(codes.InvalidArgument, msg) }
