package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/vsphere-cloud/provider/pkg/providerid"
	"github.com/vsphere-cloud/provider/pkg/vsphere"
	"github.com/vsphere-cloud/provider/pkg/vsphere/config"
)

// preflightCommand checks a configuration and an account before installing.
func preflightCommand() *cobra.Command {
	var cloudConfig, kubeconfig string
	var datastores, policies []string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "preflight",
		Short: "Check vCenter connectivity, named objects, the account's privileges and the node VMs; changes nothing",
		Long: `preflight connects to every vCenter of --cloud-config with the configured credentials and
checks the datacenters, tag categories and networks the configuration names, the datastores
and storage policies given as flags, the account's privileges for every feature on the
objects it acts on, and disk.EnableUUID on the VMs of the cluster's Nodes (with --kubeconfig,
or in a Pod). It prints one table and exits 1 if any check failed.`,
		SilenceUsage: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cloudConfig == "" {
				return fmt.Errorf("--cloud-config: required")
			}
			cfg, err := config.LoadFile(cloudConfig)
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			in := vsphere.PreflightInput{Datastores: datastores, StoragePolicies: policies}
			var kube kubernetes.Interface
			if rc, err := restConfig(kubeconfig); err == nil {
				if kube, err = kubernetes.NewForConfig(rc); err != nil {
					return err
				}
				nodes, err := kube.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
				if err != nil {
					return fmt.Errorf("listing Nodes: %w", err)
				}
				for _, n := range nodes.Items {
					q := vsphere.NodeQuery{Name: n.Name, SystemUUID: n.Status.NodeInfo.SystemUUID}
					q.ProviderUUID, _ = providerid.UUID(n.Spec.ProviderID)
					in.Nodes = append(in.Nodes, q)
				}
			} else if kubeconfig != "" {
				return fmt.Errorf("--kubeconfig: %w", err)
			}
			findings := vsphere.Preflight(ctx, cfg, vsphere.SecretSource{Client: kube}, in)
			failed := printFindings(cmd.OutOrStdout(), findings)
			if failed > 0 {
				return fmt.Errorf("preflight: %d of %d checks failed", failed, len(findings))
			}
			return nil
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&cloudConfig, "cloud-config", "", "the vsphere.conf YAML file")
	fs.StringVar(&kubeconfig, "kubeconfig", "", "kubeconfig for the credentials Secret and the Nodes; empty: in-cluster, if any")
	fs.StringSliceVar(&datastores, "datastore", nil, "datastores StorageClasses will name (repeatable)")
	fs.StringSliceVar(&policies, "storage-policy", nil, "storage policies StorageClasses will name (repeatable)")
	fs.DurationVar(&timeout, "timeout", 2*time.Minute, "give up after this long")
	return cmd
}

func restConfig(kubeconfig string) (*rest.Config, error) {
	if kubeconfig == "" {
		return rest.InClusterConfig()
	}
	return clientcmd.BuildConfigFromFlags("", kubeconfig)
}

// printFindings writes the table and returns how many checks failed.
func printFindings(w io.Writer, fs []vsphere.Finding) int {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "STATUS\tCHECK\tTARGET\tDETAIL\tFIX")
	failed := 0
	for _, f := range fs {
		if f.Status == vsphere.FindingFail {
			failed++
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", f.Status, f.Check, f.Target, f.Detail, f.Fix)
	}
	_ = tw.Flush()
	return failed
}
