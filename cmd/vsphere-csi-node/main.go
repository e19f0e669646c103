// Command vsphere-csi-node serves the CSI Node service of disk.vsphere-cloud.io: it finds
// attached disks by their UUID, formats, mounts, grows and reports them for kubelet. It
// runs in the vsphere-node DaemonSet's privileged csi-node container, apart from the
// vsphere-node agent: gRPC and the CSI types cost every process that links them about
// 8 MiB of resident memory at start-up, which the agent, on every node, should not pay.
// It reads only its own Node (for the node ID and topology) and holds no credentials.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"google.golang.org/grpc"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"

	"github.com/vsphere-cloud/provider/internal/cmdflags"
	"github.com/vsphere-cloud/provider/pkg/providerid"
	"github.com/vsphere-cloud/provider/pkg/volumes"
	"github.com/vsphere-cloud/provider/pkg/volumes/kubeletreg"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "vsphere-csi-node: %v\n", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	opts := &Options{}
	if err := cmdflags.Setup("vsphere-csi-node", args, opts); err != nil {
		return err
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", opts.Kubeconfig)
	if err != nil {
		return fmt.Errorf("--kubeconfig: %w", err)
	}
	nodes, err := corev1client.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("--kubeconfig: %w", err)
	}
	identity := func(ctx context.Context) (volumes.NodeIdentity, error) {
		return nodeIdentity(ctx, nodes.Nodes(), opts.NodeName)
	}
	maxVolumes := func(ctx context.Context) int64 {
		return volumeLimit(ctx, nodes.RESTClient(), opts.NodeName, volumeLimitWait)
	}
	node := volumes.NewNode(volumes.NodeConfig{Identity: identity, DevRoot: opts.DevRoot, SysRoot: opts.SysRoot, DeviceWait: opts.DeviceWait, MaxVolumes: maxVolumes})
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	ctx = klog.NewContext(ctx, klog.Background().WithValues("node", opts.NodeName))
	var registered func() error
	if opts.KubeletRegistrationPath != "" {
		reg, err := kubeletreg.New(kubeletreg.Config{Driver: volumes.DriverName, RegistrationDir: opts.RegistrationDir, KubeletEndpoint: opts.KubeletRegistrationPath})
		if err != nil {
			return err
		}
		registered = reg.Healthy
		go func() {
			// kubelet connects to the CSI socket as soon as it reads GetInfo: offer the
			// registration only once that socket exists.
			for sock := strings.TrimPrefix(opts.Endpoint, "unix://"); ctx.Err() == nil; time.Sleep(100 * time.Millisecond) {
				if _, err := os.Stat(sock); err == nil {
					break
				}
			}
			if err := reg.Serve(ctx); err != nil {
				klog.FromContext(ctx).Error(err, "Registration with kubelet stopped")
				stop()
			}
		}()
	}
	if opts.HealthAddress != "" {
		go serveHealth(ctx, opts.HealthAddress, healthHandler(opts.Endpoint, registered))
	}
	return volumes.Serve(ctx, opts.Endpoint, func(s *grpc.Server) {
		id := &volumes.Identity{Topology: func(ctx context.Context) bool {
			ni, err := identity(ctx)
			return err == nil && (ni.Zone != "" || ni.Region != "")
		}}
		volumes.Register(s, id, nil, node)
	})
}

// nodeGetter reads one Node; corev1client.NodeInterface implements it.
type nodeGetter interface {
	Get(ctx context.Context, name string, opts metav1.GetOptions) (*corev1.Node, error)
}

// nodeIdentity reads the Node: its ID is the VM's BIOS UUID from the providerID that
// cloud-controller set, so the controller can find the VM without guessing.
func nodeIdentity(ctx context.Context, nodes nodeGetter, name string) (volumes.NodeIdentity, error) {
	n, err := nodes.Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return volumes.NodeIdentity{}, fmt.Errorf("reading Node %s: %w", name, err)
	}
	if _, ok := providerid.UUID(n.Spec.ProviderID); !ok {
		return volumes.NodeIdentity{}, fmt.Errorf("node %s has no %s providerID yet (%q); cloud-controller sets it when it initializes the node", name, providerid.Prefix, n.Spec.ProviderID)
	}
	id, err := providerid.Parse(n.Spec.ProviderID)
	if err != nil {
		return volumes.NodeIdentity{}, fmt.Errorf("node %s: %w", name, err)
	}
	return volumes.NodeIdentity{ID: id, Zone: n.Labels[corev1.LabelTopologyZone], Region: n.Labels[corev1.LabelTopologyRegion]}, nil
}
