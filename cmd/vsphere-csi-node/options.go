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
	// KubeletRegistrationPath is the CSI socket's path on the host, which kubelet is told;
	// empty leaves registration to a node-driver-registrar sidecar.
	KubeletRegistrationPath string
	// RegistrationDir is kubelet's plugins_registry folder as mounted in the container.
	RegistrationDir string
	// HealthAddress serves /healthz for kubelet's liveness probe, and /metrics; empty for none.
	HealthAddress string
}

// AddFlags registers the options' flags.
func (o *Options) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.NodeName, "node-name", os.Getenv("NODE_NAME"), "this node's name (default $NODE_NAME)")
	fs.StringVar(&o.Kubeconfig, "kubeconfig", "", "kubeconfig file; empty for in-cluster configuration")
	fs.StringVar(&o.Endpoint, "csi-endpoint", "unix:///csi/csi.sock", "the CSI socket that node-driver-registrar and kubelet use")
	fs.StringVar(&o.DevRoot, "dev-root", "/dev", "the guest's /dev; attached disks are found under <dev-root>/disk/by-id")
	fs.StringVar(&o.SysRoot, "sys-root", "/sys", "the guest's /sys, to rescan disks that grew")
	fs.DurationVar(&o.DeviceWait, "csi-device-wait", 30*time.Second, "how long to wait for an attached disk to appear in the guest")
	fs.StringVar(&o.KubeletRegistrationPath, "kubelet-registration-path", "", "the CSI socket's path on the host; when set, the driver registers itself with kubelet through --registration-dir (no node-driver-registrar needed)")
	fs.StringVar(&o.RegistrationDir, "registration-dir", "/registration", "kubelet's plugins_registry folder (/var/lib/kubelet/plugins_registry on the host) as mounted in the container")
	fs.StringVar(&o.HealthAddress, "health-address", "", "address serving /healthz (CSI Probe and kubelet registration) for the liveness probe, and /metrics; empty for none")
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
	case o.KubeletRegistrationPath != "" && !strings.HasPrefix(o.KubeletRegistrationPath, "/"):
		return fmt.Errorf("--kubelet-registration-path: %q is not an absolute path", o.KubeletRegistrationPath)
	case o.KubeletRegistrationPath != "" && o.RegistrationDir == "":
		return fmt.Errorf("--registration-dir: required with --kubelet-registration-path")
	case o.DeviceWait < time.Second:
		return fmt.Errorf("--csi-device-wait: %s is below 1s", o.DeviceWait)
	}
	return nil
}
