package volumes

import (
	"fmt"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/vsphere-cloud/provider/pkg/keyed"
)

// KeyedMutex serializes work per key; see keyed.Mutex.
type KeyedMutex = keyed.Mutex

// NewKeyedMutex returns an empty KeyedMutex.
func NewKeyedMutex() *KeyedMutex { return keyed.New() }

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
