package main

import (
	"fmt"
	"os"
	"time"

	"github.com/spf13/pflag"
)

// Options configure vsphere-node.
type Options struct {
	// NodeName is this node's name (the Downward API's spec.nodeName in the DaemonSet).
	NodeName string
	// Kubeconfig is a kubeconfig file; empty means in-cluster.
	Kubeconfig string
	// DMIRoot is where the guest's DMI identity is read (product_uuid, product_serial).
	DMIRoot string
	// DevRoot is the guest's /dev, for disk UUIDs under disk/by-id.
	DevRoot string
	// ProcRoot is the guest's /proc, to find vmtoolsd.
	ProcRoot string
	// GuestCheckPeriod is how often guest facts are re-checked without events.
	GuestCheckPeriod time.Duration
	// DrainOnHostMaintenance evicts this node's Pods, respecting PodDisruptionBudgets, while
	// its ESXi host is entering or in maintenance mode.
	DrainOnHostMaintenance bool
	// MetricsAddr serves controller-runtime's metrics; "0" turns them off.
	MetricsAddr string
	// HealthAddr serves /healthz and /readyz; "0" turns them off.
	HealthAddr string
	// PlacementAgent runs the placement reconciler (labels, conditions, taints).
	PlacementAgent bool
	// VIPAnnounce elects and announces LoadBalancer VIPs from this node.
	VIPAnnounce bool
	// VIPInterface carries every VIP; empty: the interface whose MAC is the VM's NIC on the
	// VIP pool's network.
	VIPInterface string
	// VIPLeaseNamespace holds the VIP Leases.
	VIPLeaseNamespace string
	// VIPLeaseDuration is how long a silent leader keeps a VIP.
	VIPLeaseDuration time.Duration
	// VIPStateFile records the VIPs this agent put on interfaces (on a tmpfs of the host),
	// so that the next start removes what a killed agent left; empty turns it off.
	VIPStateFile string
}

// AddFlags registers the options' flags.
func (o *Options) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.NodeName, "node-name", os.Getenv("NODE_NAME"), "this node's name (default $NODE_NAME)")
	fs.StringVar(&o.Kubeconfig, "kubeconfig", "", "kubeconfig file; empty for in-cluster configuration")
	fs.StringVar(&o.DMIRoot, "dmi-root", "/sys/class/dmi/id", "directory with the guest's DMI identity files")
	fs.StringVar(&o.DevRoot, "dev-root", "/dev", "the guest's /dev; empty skips the disk UUID check")
	fs.StringVar(&o.ProcRoot, "proc-root", "/proc", "the guest's /proc; empty skips the vmtoolsd check")
	fs.DurationVar(&o.GuestCheckPeriod, "guest-check-period", time.Minute, "how often guest facts are re-checked")
	fs.BoolVar(&o.DrainOnHostMaintenance, "drain-on-host-maintenance", false, "evict this node's Pods (respecting PodDisruptionBudgets) while its ESXi host enters or is in maintenance mode")
	fs.StringVar(&o.MetricsAddr, "metrics-bind-address", ":8080", `metrics address; "0" turns metrics off`)
	fs.StringVar(&o.HealthAddr, "health-probe-bind-address", ":8081", `health probe address; "0" turns probes off`)
	fs.BoolVar(&o.PlacementAgent, "placement-agent", true, "keep this Node's placement labels, conditions and maintenance taint (the CSI Node service is vsphere-csi-node)")
	fs.BoolVar(&o.VIPAnnounce, "vip-announce", false, "elect (one Lease per VIP) and announce LoadBalancer VIPs from this node; needs host networking, CAP_NET_ADMIN and CAP_NET_RAW")
	fs.StringVar(&o.VIPInterface, "vip-interface", "", "interface for every VIP; empty: the one whose MAC is the VM's NIC on the VIPPool's network")
	fs.StringVar(&o.VIPLeaseNamespace, "vip-lease-namespace", "vsphere-cloud-vips", "namespace of the VIP Leases (cloud-controller's loadBalancer.leaseNamespace)")
	fs.StringVar(&o.VIPStateFile, "vip-state-file", "/run/vsphere-cloud/vips", "file on the host (tmpfs) recording the VIPs this agent added, removed at the next start before anything is read from the API server; empty turns it off")
	fs.DurationVar(&o.VIPLeaseDuration, "vip-lease-duration", 2*time.Second, "how long a silent leader keeps a VIP: the failover time after a node dies")
}

// Validate checks the options; messages name the flag.
func (o *Options) Validate() error {
	if o.NodeName == "" {
		return fmt.Errorf("--node-name: required (or set NODE_NAME)")
	}
	if o.DMIRoot == "" {
		return fmt.Errorf("--dmi-root: required")
	}
	if !o.PlacementAgent && !o.VIPAnnounce {
		return fmt.Errorf("--placement-agent=false: without --vip-announce there is nothing left to do (the CSI Node service is vsphere-csi-node)")
	}
	if o.VIPAnnounce && (o.VIPLeaseDuration < time.Second || o.VIPLeaseDuration > time.Minute || o.VIPLeaseDuration%time.Second != 0) {
		return fmt.Errorf("--vip-lease-duration: %s must be whole seconds from 1s to 60s (the admission policy refuses longer VIP Leases)", o.VIPLeaseDuration)
	}
	if o.DrainOnHostMaintenance && !o.PlacementAgent {
		return fmt.Errorf("--drain-on-host-maintenance: needs --placement-agent")
	}
	if o.GuestCheckPeriod < time.Second {
		return fmt.Errorf("--guest-check-period: %s is below 1s", o.GuestCheckPeriod)
	}
	return nil
}
