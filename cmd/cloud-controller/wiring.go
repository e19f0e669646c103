package main

import (
	"context"
	"fmt"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	cloudcontrollerconfig "k8s.io/cloud-provider/app/config"
	"k8s.io/klog/v2"

	"github.com/vsphere-cloud/provider/pkg/kubeclient"
	"github.com/vsphere-cloud/provider/pkg/provider"
	"github.com/vsphere-cloud/provider/pkg/vsphere"
	"github.com/vsphere-cloud/provider/pkg/vsphere/config"
)

// dependencies are what cloud-controller builds once per process and hands, typed, to
// the cloud provider, the CSI Controller service and our controllers.
type dependencies struct {
	// vsphere is the process's one connection to each vCenter: sessions, inventory
	// caches, the disk catalog. It starts when the process starts, in every replica,
	// because the CSI service answers in every replica (its sidecars elect their own
	// leader); the leader-elected controllers use the same caches.
	vsphere *vsphere.Manager
	// cloud is the k8s.io/cloud-provider implementation over vsphere.
	cloud *provider.Cloud
}

// wire builds and starts the dependencies, and the CSI Controller service when
// --csi-endpoint is set.
// The framework calls it through initCloud; c.Kubeconfig honours the client flags
// (--kubeconfig, --kube-api-qps, --kube-api-burst, --kube-api-content-type).
func wire(ctx context.Context, deps *dependencies, cfg *config.Config, c *cloudcontrollerconfig.CompletedConfig, csiOpts *csiOptions) error {
	// Every controller here shares the framework's Node informer; the framework starts
	// it after initCloud, so the transform is set before anything is cached.
	if err := c.SharedInformers.Core().V1().Nodes().Informer().SetTransform(kubeclient.TrimNode); err != nil {
		return fmt.Errorf("trimming the Node cache: %w", err)
	}
	rc := c.Kubeconfig
	creds, err := kubernetes.NewForConfig(userAgent(rc, "vsphere-cloud-credentials"))
	if err != nil {
		return fmt.Errorf("building a Kubernetes client for credentials: %w", err)
	}
	m := vsphere.NewManager(cfg, vsphere.SecretSource{Client: creds})
	mem, err := provider.Memory(rc)
	if err != nil {
		return err
	}
	m.SetMemory(mem)
	if csiOpts.Endpoint != "" {
		records, err := createRecords(rc, csiOpts.Namespace)
		if err != nil {
			return err
		}
		m.SetCreateRecords(records)
	}
	log := klog.FromContext(ctx).WithName(provider.ProviderName)
	m.Start(klog.NewContext(context.WithoutCancel(ctx), log))
	deps.vsphere = m
	deps.cloud = provider.New(cfg, m)
	if csiOpts.Endpoint != "" {
		startCSI(csiOpts, cfg, m)
	}
	return nil
}

// userAgent is a copy of rc that names itself as agent in the API server's logs.
func userAgent(rc *rest.Config, agent string) *rest.Config {
	rc = rest.CopyConfig(rc)
	rc.UserAgent = agent
	return rc
}
