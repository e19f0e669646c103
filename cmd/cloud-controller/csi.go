package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	cliflag "k8s.io/component-base/cli/flag"
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/vsphere-cloud/provider/api/v1alpha1"
	"github.com/vsphere-cloud/provider/pkg/provider"
	"github.com/vsphere-cloud/provider/pkg/volumes"
	volctrl "github.com/vsphere-cloud/provider/pkg/volumes/controller"
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
	fs.IntVar(&o.MaxSnapshots, "csi-max-snapshots-per-volume", volctrl.DefaultMaxSnapshotsPerVolume, "the most snapshots one volume may have "+
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
	if o.DeleteOrphansAfter != 0 && o.DeleteOrphansAfter < volctrl.MinOrphanGrace {
		return fmt.Errorf("--csi-delete-orphans-after: %s is below the minimum %s (0 turns deletion off)", o.DeleteOrphansAfter, volctrl.MinOrphanGrace)
	}
	return nil
}

// sharedInventory is the process's one vsphere.Manager when the CSI service runs. The
// CSI service must answer in every replica (the sidecars elect their own leader), so the
// inventory starts at process start instead of when this replica becomes the
// cloud-controller leader, and the provider uses the same sessions and caches.
type sharedInventory struct {
	once sync.Once
	m    *vsphere.Manager
	err  error
}

func (s *sharedInventory) get(cfg *config.Config, master, kubeconfig, namespace string) (*vsphere.Manager, error) {
	s.once.Do(func() {
		rc, err := clientcmd.BuildConfigFromFlags(master, kubeconfig)
		if err != nil {
			s.err = fmt.Errorf("--kubeconfig: %w", err)
			return
		}
		rc.UserAgent = "vsphere-cloud-credentials"
		cs, err := kubernetes.NewForConfig(rc)
		if err != nil {
			s.err = err
			return
		}
		s.m = vsphere.NewManager(cfg, vsphere.SecretSource{Client: cs})
		mrc := rest.CopyConfig(rc)
		mrc.UserAgent = "vsphere-cloud-node-memory"
		mem, err := provider.Memory(mrc)
		if err != nil {
			s.err = err
			return
		}
		s.m.SetMemory(mem)
		records, err := createRecords(rc, namespace)
		if err != nil {
			s.err = err
			return
		}
		s.m.SetCreateRecords(records)
		s.m.Start(klog.NewContext(context.Background(), klog.Background().WithName(provider.ProviderName)))
	})
	return s.m, s.err
}

var serveOnce sync.Once

// serveCSI serves the controller service until the process ends (once per process); a
// failure to serve is fatal, because the sidecars would wait forever.
func serveCSI(o *csiOptions, cfg *config.Config, m *vsphere.Manager) {
	serveOnce.Do(func() { startCSI(o, cfg, m) })
}

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
	ctrl := volctrl.NewController(m, volctrl.MaxSnapshotsPerVolume(o.MaxSnapshots))
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
func createRecords(rc *rest.Config, namespace string) (volctrl.CreateRecords, error) {
	rc = rest.CopyConfig(rc)
	rc.UserAgent = "vsphere-cloud-csi-records"
	rc.ContentType = "application/json" // our CRD types have no protobuf encoding
	// Two or three writes per volume create: at client-go's default 5 per second, 100
	// claims created together waited 15 s on this client alone (TestBenchVolumes).
	rc.QPS, rc.Burst = 100, 200
	scheme := runtime.NewScheme()
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		return volctrl.CreateRecords{}, err
	}
	cl, err := client.New(rc, client.Options{Scheme: scheme})
	if err != nil {
		return volctrl.CreateRecords{}, fmt.Errorf("the client for VolumeOperation records: %w", err)
	}
	return volctrl.CreateRecords{Client: cl, Namespace: recordsNamespace(namespace)}, nil
}
