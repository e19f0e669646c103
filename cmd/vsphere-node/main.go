// Command vsphere-node is vsphere-cloud's node agent (a DaemonSet). It holds no vCenter
// credentials: it reads its own Node's NodeVM from the Kubernetes API, checks what only the
// guest can see, keeps its Node's placement labels, conditions and maintenance taint, and
// announces the LoadBalancer VIPs it is elected for. The CSI Node service runs beside it in
// the same DaemonSet as its own program, vsphere-csi-node, so that the agent does not
// carry gRPC's memory.
package main

import (
	"fmt"
	"os"
	"runtime/debug"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/vsphere-cloud/provider/api/v1alpha1"
	"github.com/vsphere-cloud/provider/internal/cmdflags"
	"github.com/vsphere-cloud/provider/pkg/kubeclient"
	"github.com/vsphere-cloud/provider/pkg/loadbalancer/announce"
	"github.com/vsphere-cloud/provider/pkg/placement/agent"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "vsphere-node: %v\n", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) > 0 && args[0] == "control-plane" {
		return runControlPlane(args[1:])
	}
	opts := &Options{}
	if err := cmdflags.Setup("vsphere-node", args, opts); err != nil {
		return err
	}
	ctrl.SetLogger(klog.NewKlogr())
	if os.Getenv("GOGC") == "" {
		// The agent runs on every node: trade a little CPU for a smaller footprint.
		debug.SetGCPercent(50)
	}

	cfg, err := clientcmd.BuildConfigFromFlags("", opts.Kubeconfig)
	if err != nil {
		return fmt.Errorf("--kubeconfig: %w", err)
	}
	scheme := kubeclient.Scheme()
	own := fields.OneTermEqualSelector("metadata.name", opts.NodeName)
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                 scheme,
		Metrics:                metricsserver.Options{BindAddress: opts.MetricsAddr},
		HealthProbeBindAddress: opts.HealthAddr,
		Cache: cache.Options{DefaultTransform: cache.TransformStripManagedFields(), ByObject: map[client.Object]cache.ByObject{
			&corev1.Node{}:          {Field: own},
			&v1alpha1.NodeVM{}:      {Field: own},
			&coordinationv1.Lease{}: {Namespaces: map[string]cache.Config{opts.VIPLeaseNamespace: {}}},
		}},
	})
	if err != nil {
		return err
	}
	if opts.HealthAddr != "0" {
		if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
			return err
		}
	}
	if opts.PlacementAgent {
		r := &agent.Reconciler{
			Client: mgr.GetClient(), NodeName: opts.NodeName, GuestCheckPeriod: opts.GuestCheckPeriod,
			Drain: opts.DrainOnHostMaintenance, Reader: mgr.GetAPIReader(),
			Guest: agent.Guest{DMIRoot: opts.DMIRoot, DevRoot: opts.DevRoot, ProcRoot: opts.ProcRoot},
		}
		if err := r.SetupWithManager(mgr); err != nil {
			return err
		}
		if opts.DrainOnHostMaintenance {
			if err := mgr.Add(manager.RunnableFunc(r.RunDrain)); err != nil {
				return err
			}
		}
	}
	if opts.VIPAnnounce {
		var dp announce.Dataplane = announce.Kernel{}
		if opts.VIPStateFile != "" {
			// Before the manager reads anything: addresses a killed agent left are gone
			// even if the API server cannot be reached now.
			j := announce.NewJournal(dp, opts.VIPStateFile)
			n, err := j.Recover()
			if err != nil {
				return fmt.Errorf("--vip-state-file: removing the VIPs a previous run left: %w", err)
			}
			if n > 0 {
				ctrl.Log.WithName("vip").Info("Removed VIPs a previous run left", "count", n, "stateFile", opts.VIPStateFile)
			}
			dp = j
		}
		a := announce.New(announce.Config{
			NodeName: opts.NodeName, Namespace: opts.VIPLeaseNamespace, Client: mgr.GetClient(),
			Dataplane: dp, Interface: opts.VIPInterface, LeaseDuration: opts.VIPLeaseDuration,
		})
		if err := mgr.Add(manager.RunnableFunc(a.Run)); err != nil {
			return err
		}
	}
	return mgr.Start(ctrl.SetupSignalHandler())
}
