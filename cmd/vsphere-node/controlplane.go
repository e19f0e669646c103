package main

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/pflag"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"

	"github.com/vsphere-cloud/provider/internal/cmdflags"
	"github.com/vsphere-cloud/provider/pkg/cpvip"
	"github.com/vsphere-cloud/provider/pkg/loadbalancer/announce"
)

// controlPlaneOptions configure `vsphere-node control-plane run`.
type controlPlaneOptions struct {
	VIP, Interface, NodeName           string
	Kubeconfig, BootstrapKubeconfig    string
	LocalAPIServer, LocalAPIServerName string
	LeaseNamespace, LeaseName          string
	vip                                netip.Addr
}

func (o *controlPlaneOptions) AddFlags(fs *pflag.FlagSet) {
	host, _ := os.Hostname()
	fs.StringVar(&o.VIP, "vip", "", "the control-plane endpoint's address (kubeadm's controlPlaneEndpoint host), IPv4 or IPv6")
	fs.StringVar(&o.Interface, "interface", "", "the interface that carries it (on the control-plane nodes' network)")
	fs.StringVar(&o.NodeName, "node-name", host, "this node's name, the Lease holder's identity")
	fs.StringVar(&o.Kubeconfig, "kubeconfig", "/etc/kubernetes/admin.conf", "credentials for the endpoint's Lease")
	fs.StringVar(&o.BootstrapKubeconfig, "bootstrap-kubeconfig", "/etc/kubernetes/super-admin.conf", "used while --kubeconfig is refused: "+
		"during kubeadm init (1.29+) admin.conf has no rights until init grants them, and only super-admin.conf works; absent or empty: not used")
	fs.StringVar(&o.LocalAPIServer, "local-api-server", "https://127.0.0.1:6443", "this node's kube-apiserver: health-checked, and where the Lease "+
		"is written (so the election works before the endpoint answers)")
	fs.StringVar(&o.LocalAPIServerName, "local-api-server-name", "kubernetes", "the name the local API server's certificate is verified against "+
		"(kubeadm's certificates name \"kubernetes\"); empty: the --local-api-server host")
	fs.StringVar(&o.LeaseNamespace, "lease-namespace", "kube-system", "namespace of the endpoint's Lease")
	fs.StringVar(&o.LeaseName, "lease-name", "vsphere-cloud-control-plane-endpoint", "name of the endpoint's Lease")
}

func (o *controlPlaneOptions) Validate() error {
	ip, err := netip.ParseAddr(o.VIP)
	if err != nil {
		return fmt.Errorf("--vip: %q is not an IP address", o.VIP)
	}
	o.vip = ip
	if o.Interface == "" {
		return fmt.Errorf("--interface: required")
	}
	if o.NodeName == "" {
		return fmt.Errorf("--node-name: required (no host name to default to)")
	}
	return nil
}

// runControlPlane is `vsphere-node control-plane run|manifest`.
func runControlPlane(args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("control-plane: say run or manifest")
	}
	switch args[0] {
	case "manifest":
		return writeControlPlaneManifest(os.Stdout, args[1:])
	case "run":
	default:
		return fmt.Errorf("control-plane %s: say run or manifest", args[0])
	}
	opts := &controlPlaneOptions{}
	if err := cmdflags.Setup("vsphere-node control-plane run", args[1:], opts); err != nil {
		return err
	}
	primary, err := localClient(opts.Kubeconfig, opts)
	if err != nil {
		return fmt.Errorf("--kubeconfig: %w", err)
	}
	leases := &fallbackLeases{primary: primary.CoordinationV1().Leases(opts.LeaseNamespace)}
	if st, err := os.Stat(opts.BootstrapKubeconfig); err == nil && st.Size() > 0 {
		bootstrap, err := localClient(opts.BootstrapKubeconfig, opts)
		if err != nil {
			return fmt.Errorf("--bootstrap-kubeconfig: %w", err)
		}
		leases.bootstrap = bootstrap.CoordinationV1().Leases(opts.LeaseNamespace)
	}
	health := func(ctx context.Context) error {
		body, err := primary.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		if err == nil && string(body) != "ok" {
			err = fmt.Errorf("/readyz: %q", body)
		}
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	ctx = klog.NewContext(ctx, klog.Background().WithValues("node", opts.NodeName))
	cpvip.New(cpvip.Config{
		VIP: opts.vip, Interface: opts.Interface, NodeName: opts.NodeName, Leases: leases, LeaseName: opts.LeaseName,
		Health: health, Dataplane: announce.Kernel{},
	}).Run(ctx)
	return nil
}

// localClient is a client of the local API server with the kubeconfig's credentials.
func localClient(path string, opts *controlPlaneOptions) (*kubernetes.Clientset, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		return nil, err
	}
	cfg = rest.CopyConfig(cfg)
	cfg.Host = opts.LocalAPIServer
	cfg.TLSClientConfig.ServerName = opts.LocalAPIServerName
	cfg.UserAgent = "vsphere-node-control-plane"
	return kubernetes.NewForConfig(cfg)
}
