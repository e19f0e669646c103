package main

import (
	"context"
	"encoding/json"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"

	"github.com/vsphere-cloud/provider/api/v1alpha1"
	"github.com/vsphere-cloud/provider/pkg/volumes"
)

// volumeLimitWait is how long NodeGetInfo waits for cloud-controller to measure the VM
// (kubelet asks once, when the plugin registers, and keeps the answer).
const volumeLimitWait = 20 * time.Second

// volumeLimit reads the node's NodeVM status.volumeLimit, which cloud-controller computes
// from the VM's SCSI controllers and hardware version, waiting up to wait for it; then it
// falls back to volumes.MaxVolumesPerNode.
func volumeLimit(ctx context.Context, c rest.Interface, node string, wait time.Duration) int64 {
	log := klog.FromContext(ctx)
	deadline := time.Now().Add(wait)
	for {
		var nvm v1alpha1.NodeVM
		raw, err := c.Get().AbsPath("/apis", v1alpha1.GroupVersion.Group, v1alpha1.GroupVersion.Version, "nodevms", node).DoRaw(ctx)
		if err == nil {
			err = json.Unmarshal(raw, &nvm)
		}
		if err == nil && nvm.Status.VolumeLimit > 0 {
			log.V(2).Info("Volume limit of the node's VM", "max", nvm.Status.VolumeLimit, "why", nvm.Status.VolumeLimitReason)
			return int64(nvm.Status.VolumeLimit)
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			log.Info("The node VM's volume limit is not known; publishing the default", "max", volumes.MaxVolumesPerNode, "err", err)
			return volumes.MaxVolumesPerNode
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}
