package main

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/pflag"
)

// Options configure vsphere-csi-node.
type Options struct {
	// NodeName is this node's name (the Downward API's spec.nodeName in the DaemonSet).
	NodeName string
	// Kubeconfig is a kubeconfig file; empty means in-cluster.
	Kubeconfig string
	// Endpoint is the CSI socket (unix:///path).
	Endpoint string
	// DevRoot is the guest's /dev: attached disks appear under disk/by-id.
	DevRoot string
	// SysRoot is the guest's /sys, to rescan grown disks.
	SysRoot string
	// DeviceWait is how long NodeStage waits for an attached disk to appear.
	DeviceWait time.Duration
}

// AddFlags registers the options' flags.
func (o *Options) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.NodeName, "node-name", os.Getenv("NODE_NAME"), "this node's name (default $NODE_NAME)")
	fs.StringVar(&o.Kubeconfig, "kubeconfig", "", "kubeconfig file; empty for in-cluster configuration")
	fs.StringVar(&o.Endpoint, "csi-endpoint", "unix:///csi/csi.sock", "the CSI socket that node-driver-registrar and kubelet use")
	fs.StringVar(&o.DevRoot, "dev-root", "/dev", "the guest's /dev; attached disks are found under <dev-root>/disk/by-id")
	fs.StringVar(&o.SysRoot, "sys-root", "/sys", "the guest's /sys, to rescan disks that grew")
	fs.DurationVar(&o.DeviceWait, "csi-device-wait", 30*time.Second, "how long to wait for an attached disk to appear in the guest")
}

// Validate checks the options; messages name the flag.
func (o *Options) Validate() error {
	switch {
	case o.NodeName == "":
		return fmt.Errorf("--node-name: required (or set NODE_NAME)")
	case !strings.HasPrefix(o.Endpoint, "unix://") || len(o.Endpoint) == len("unix://"):
		return fmt.Errorf("--csi-endpoint: %q is not unix:///path", o.Endpoint)
	case o.DevRoot == "":
		return fmt.Errorf("--dev-root: required (disks are found under <dev-root>/disk/by-id)")
	case o.SysRoot == "":
		return fmt.Errorf("--sys-root: required (grown disks are rescanned under it)")
	case o.DeviceWait < time.Second:
		return fmt.Errorf("--csi-device-wait: %s is below 1s", o.DeviceWait)
	}
	return nil
}
