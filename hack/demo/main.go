// Command demo starts a local control plane (etcd and kube-apiserver), the vCenter
// simulator and cloud-controller, registers a few Nodes the way kubelet does, and prints
// them once cloud-controller has initialized them. On a terminal it keeps everything
// running until Ctrl-C; otherwise it stops after printing.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"golang.org/x/term"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vsphere-cloud/provider/test/framework"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "demo: %v\n", err)
		os.Exit(1)
	}
}

func run() error {
	dir := flag.String("dir", "_output/demo", "where logs, the kubeconfig and the inventory go")
	flag.Parse()
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		return err
	}
	abs, _ := filepath.Abs(*dir)
	ctx := context.Background()

	inv := &framework.SimInventory{Datacenters: 2, Clusters: 1, Hosts: 2, Tags: []framework.SimTag{
		{Category: "k8s-zone", Name: "zone-a", AttachTo: []string{"DC0_C0"}},
		{Category: "k8s-zone", Name: "zone-b", AttachTo: []string{"DC1_C0"}},
		{Category: "k8s-region", Name: "region-1", AttachTo: []string{"DC0", "DC1"}},
	}}
	names := []string{"cp-0", "worker-0", "worker-1", "worker-2"}
	for i, n := range names {
		inv.VMs = append(inv.VMs, framework.SimVM{
			Name: n, Datacenter: fmt.Sprintf("DC%d", i%2), UUID: framework.TestUUID(n), Hostname: n,
			IPs: []string{fmt.Sprintf("192.168.%d.%d", 10+i%2, 10+i)},
		})
	}
	invPath := filepath.Join(abs, "inventory.yaml")
	if err := inv.Write(invPath); err != nil {
		return err
	}
	fmt.Println("starting etcd and kube-apiserver ...")
	cp, err := framework.StartControlPlane(abs)
	if err != nil {
		return err
	}
	defer cp.Stop()
	if err := framework.InstallManifests(ctx, cp); err != nil {
		return err
	}
	fmt.Println("starting the vCenter simulator ...")
	sim, err := framework.StartSimulator(abs, invPath)
	if err != nil {
		return err
	}
	defer sim.Stop()
	if err := framework.EnsureCredentials(ctx, cp, "127.0.0.1"); err != nil {
		return err
	}
	conf := framework.CloudConfig("127.0.0.1", sim.Port, sim.CAFile, "")
	fmt.Println("starting cloud-controller ...")
	ccm, err := framework.StartCloudController(cp, "cloud-controller", conf)
	if err != nil {
		return err
	}
	defer ccm.Stop()
	for _, n := range names {
		if err := framework.RegisterNode(ctx, cp.Client, n, framework.TestUUID(n)); err != nil {
			return err
		}
	}
	var nodes *corev1.NodeList
	if !framework.WaitFor(2*time.Minute, 250*time.Millisecond, func() bool {
		nodes, err = cp.Client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err != nil {
			return false
		}
		for i := range nodes.Items {
			if !framework.Initialized(&nodes.Items[i]) {
				return false
			}
		}
		return len(nodes.Items) == len(names)
	}) {
		return fmt.Errorf("nodes were not initialized; see %s", ccm.Log)
	}
	fmt.Println()
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tPROVIDER-ID\tINTERNAL-IP\tINSTANCE-TYPE\tZONE\tREGION\tTAINTS")
	for _, n := range nodes.Items {
		var ip string
		for _, a := range n.Status.Addresses {
			if a.Type == corev1.NodeInternalIP {
				ip = a.Address
			}
		}
		var taints []string
		for _, t := range n.Spec.Taints {
			// No kube-controller-manager runs here to lift the not-ready taint the API
			// server adds to new Nodes; it is not cloud-controller's.
			if t.Key != corev1.TaintNodeNotReady {
				taints = append(taints, t.Key)
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", n.Name, n.Spec.ProviderID, ip,
			n.Labels[corev1.LabelInstanceTypeStable], n.Labels[corev1.LabelTopologyZone], n.Labels[corev1.LabelTopologyRegion],
			orNone(strings.Join(taints, ",")))
	}
	_ = tw.Flush()
	fmt.Printf("\nkubeconfig: %s\nlogs:       %s/*.log\nvCenter:    %s (user %s)\n", cp.Kubeconfig, abs, sim.URL, framework.SimUser)
	if term.IsTerminal(int(os.Stdin.Fd())) {
		fmt.Println("\nrunning; press Ctrl-C to stop and clean up")
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
		<-sig
	}
	return nil
}

func orNone(s string) string {
	if s == "" {
		return "<none>"
	}
	return s
}
