package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"google.golang.org/grpc"
	"k8s.io/client-go/rest"
	cliflag "k8s.io/component-base/cli/flag"
	"k8s.io/klog/v2"

	"github.com/vsphere-cloud/provider/pkg/kubeclient"
	"github.com/vsphere-cloud/provider/pkg/volumes"
	"github.com/vsphere-cloud/provider/pkg/volumes/csicontroller"
	"github.com/vsphere-cloud/provider/pkg/vsphere"
	"github.com/vsphere-cloud/provider/pkg/vsphere/config"
)

// csiOptions configure the CSI Controller service.
type csiOptions struct {
	Endpoint           string
	OrphanPeriod       time.Duration
	DeleteOrphansAfter time.Duration
	MaxSnapshots       int
	Namespace          string
	MetadataSyncPeriod time.Duration
}

func (o *csiOptions) addFlags(fss *cliflag.NamedFlagSets) {
	fs := fss.FlagSet("csi")
	fs.StringVar(&o.Endpoint, "csi-endpoint", "", "serve the CSI Controller service of "+volumes.DriverName+
		" on this socket (unix:///csi/csi.sock) for the CSI sidecars in the same pod; empty turns it off")
	fs.DurationVar(&o.OrphanPeriod, "csi-orphan-check-period", 10*time.Minute, "how often the "+orphansControllerName+
		" controller looks for disks made for claims (pvc-*) that no PersistentVolume refers to")
	fs.DurationVar(&o.DeleteOrphansAfter, "csi-delete-orphans-after", 0, "delete a detached orphaned disk after it stayed orphaned this long "+
		"(at least 1h); 0, the default, only reports. Turn on only if no other cluster makes pvc-* disks on these datastores")
	fs.StringVar(&o.Namespace, "csi-namespace", "", "where the CSI service keeps a VolumeOperation record of each volume create; "+
		"empty: cloud-controller's own namespace (its ServiceAccount's), or vsphere-cloud-system outside a Pod")
	fs.DurationVar(&o.MetadataSyncPeriod, "csi-metadata-sync-period", 30*time.Minute, "how often the "+metadataControllerName+
		" controller compares every volume's PV, claim and Pods in vCenter's Cloud Native Storage with the cluster and repairs drift "+
		"(changes are also pushed as they happen)")
	fs.IntVar(&o.MaxSnapshots, "csi-max-snapshots-per-volume", csicontroller.DefaultMaxSnapshotsPerVolume, "the most snapshots one volume may have "+
		"(1 to 32, vSphere's limit per disk); a CreateSnapshot beyond it is refused with FailedPrecondition")
}

func (o *csiOptions) validate() error {
	if o.OrphanPeriod < time.Minute {
		return fmt.Errorf("--csi-orphan-check-period: %s is below 1m", o.OrphanPeriod)
	}
	if o.MetadataSyncPeriod < time.Minute {
		return fmt.Errorf("--csi-metadata-sync-period: %s is below 1m", o.MetadataSyncPeriod)
	}
	if o.MaxSnapshots < 1 || o.MaxSnapshots > 32 {
		return fmt.Errorf("--csi-max-snapshots-per-volume: %d is not between 1 and 32", o.MaxSnapshots)
	}
	if o.DeleteOrphansAfter != 0 && o.DeleteOrphansAfter < csicontroller.MinOrphanGrace {
		return fmt.Errorf("--csi-delete-orphans-after: %s is below the minimum %s (0 turns deletion off)", o.DeleteOrphansAfter, csicontroller.MinOrphanGrace)
	}
	return nil
}

// startCSI serves the controller service until the process ends; a failure to serve is
// fatal, because the sidecars would wait forever.
func startCSI(o *csiOptions, cfg *config.Config, m *vsphere.Manager) {
	endpoint := o.Endpoint
	volumes.RegisterMetrics()
	topology := cfg.ZoneCategory != "" || cfg.RegionCategory != ""
	id := &volumes.Identity{Topology: func(context.Context) bool { return topology }, Ready: func() bool {
		for _, st := range m.Status() {
			if !st.Synced {
				return false
			}
		}
		return true
	}}
	ctrl := csicontroller.NewController(csicontroller.ManagerPorts(m), csicontroller.MaxSnapshotsPerVolume(o.MaxSnapshots))
	ctx := klog.NewContext(context.Background(), klog.Background().WithName("csi-controller"))
	go func() {
		err := volumes.Serve(ctx, endpoint, func(s *grpc.Server) { volumes.Register(s, id, ctrl, nil) })
		klog.ErrorS(err, "CSI controller service stopped", "endpoint", endpoint)
		klog.FlushAndExit(klog.ExitFlushTimeout, 1)
	}()
}

// podNamespaceFile names the namespace of the Pod's ServiceAccount.
const podNamespaceFile = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"

// recordsNamespace is --csi-namespace, or the Pod's namespace, or vsphere-cloud-system.
func recordsNamespace(flag string) string {
	if flag != "" {
		return flag
	}
	if b, err := os.ReadFile(podNamespaceFile); err == nil && strings.TrimSpace(string(b)) != "" {
		return strings.TrimSpace(string(b))
	}
	return "vsphere-cloud-system"
}

// createRecords keeps the CSI service's VolumeOperation records in namespace.
func createRecords(rc *rest.Config, namespace string) (csicontroller.CreateRecords, error) {
	// Three requests per volume create (a read, two server-side applies): at client-go's
	// default 5 per second, claims created together queue on this client alone (README,
	// Performance); at 100 it allows about 33 creates per second.
	rc = rest.CopyConfig(rc)
	rc.QPS, rc.Burst = 100, 200
	cl, err := kubeclient.New(rc, "vsphere-cloud-csi-records")
	if err != nil {
		return csicontroller.CreateRecords{}, err
	}
	return csicontroller.CreateRecords{Client: cl, Namespace: recordsNamespace(namespace)}, nil
}
