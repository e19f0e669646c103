// Command cloud-controller is vsphere-cloud's cloud controller manager: node lifecycle
// through k8s.io/cloud-provider, answered from one inventory cache per vCenter. It is
// the only component that holds vCenter credentials.
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/util/wait"
	cloudprovider "k8s.io/cloud-provider"
	"k8s.io/cloud-provider/app"
	cloudcontrollerconfig "k8s.io/cloud-provider/app/config"
	"k8s.io/cloud-provider/names"
	"k8s.io/cloud-provider/options"
	"k8s.io/component-base/cli"
	cliflag "k8s.io/component-base/cli/flag"
	_ "k8s.io/component-base/logs/json/register" // --logging-format=json
	_ "k8s.io/component-base/metrics/prometheus/clientgo"
	_ "k8s.io/component-base/metrics/prometheus/version"
	"k8s.io/klog/v2"

	"github.com/vsphere-cloud/provider/pkg/provider"
	"github.com/vsphere-cloud/provider/pkg/vsphere/config"
)

func main() {
	os.Exit(run())
}

func run() int {
	opts, err := options.NewCloudControllerManagerOptions()
	if err != nil {
		fmt.Fprintf(os.Stderr, "cloud-controller: %v\n", err)
		return 1
	}
	opts.KubeCloudShared.CloudProvider.Name = provider.ProviderName
	csiOpts := &csiOptions{}
	shared := &sharedInventory{}
	provider.RegisterWith(func(cfg *config.Config) (*provider.Cloud, error) {
		cfg.ClusterID = opts.KubeCloudShared.ClusterName
		if csiOpts.Endpoint == "" {
			return provider.NewFromConfig(cfg), nil
		}
		// Called by the framework once logging is set up, in every replica before leader
		// election: the CSI service answers in all of them.
		m, err := shared.get(cfg, opts.Master, opts.Generic.ClientConnection.Kubeconfig, csiOpts.Namespace)
		if err != nil {
			return nil, err
		}
		serveCSI(csiOpts, cfg, m)
		return provider.New(cfg, m), nil
	})
	fss := cliflag.NamedFlagSets{}
	csiOpts.addFlags(&fss)

	cmd := app.NewCloudControllerManagerCommand(opts, initCloud, controllerInitializers(csiOpts), names.CCMControllerAliases(), fss, wait.NeverStop)
	cmd.Use = "cloud-controller"
	runE := cmd.RunE
	cmd.RunE = func(c *cobra.Command, args []string) error {
		// Validate the cloud config before anything connects, so a bad file fails at start
		// with every field named, and exit status 1.
		_, err := validateCloudConfig(opts)
		if err != nil {
			return err // cli.Run prints it once and exits 1
		}
		if err := csiOpts.validate(); err != nil {
			return err
		}
		return runE(c, args)
	}
	cmd.SilenceUsage = true
	cmd.AddCommand(preflightCommand())
	return cli.Run(cmd)
}

func validateCloudConfig(opts *options.CloudControllerManagerOptions) (*config.Config, error) {
	cp := opts.KubeCloudShared.CloudProvider
	if cp.Name != provider.ProviderName {
		return nil, fmt.Errorf("--cloud-provider: %q is not served by this binary; use %q", cp.Name, provider.ProviderName)
	}
	if cp.CloudConfigFile == "" {
		return nil, fmt.Errorf("--cloud-config: required (the vsphere.conf YAML file)")
	}
	return config.LoadFile(cp.CloudConfigFile)
}

// initCloud builds the provider. The config was validated before, so an error here means
// the file changed in between; it ends the program like any start-up error.
func initCloud(c *cloudcontrollerconfig.CompletedConfig) cloudprovider.Interface {
	cp := c.ComponentConfig.KubeCloudShared.CloudProvider
	cloud, err := cloudprovider.InitCloudProvider(cp.Name, cp.CloudConfigFile)
	if err != nil || cloud == nil {
		klog.ErrorS(err, "Cannot initialize the cloud provider", "cloudConfig", cp.CloudConfigFile)
		klog.FlushAndExit(klog.ExitFlushTimeout, 1)
	}
	return cloud
}

// controllerInitializers copies the framework's defaults and gives each controller a
// client name of its own, so audit logs and RBAC tell them apart.
func controllerInitializers(csiOpts *csiOptions) map[string]app.ControllerInitFuncConstructor {
	out := make(map[string]app.ControllerInitFuncConstructor, len(app.DefaultInitFuncConstructors))
	for name, c := range app.DefaultInitFuncConstructors {
		c.InitContext.ClientName = "vsphere-cloud-" + c.InitContext.ClientName
		out[name] = c
	}
	out[placementControllerName] = app.ControllerInitFuncConstructor{
		InitContext: app.ControllerInitContext{ClientName: "vsphere-cloud-placement"},
		Constructor: startPlacement,
	}
	out[orphansControllerName] = app.ControllerInitFuncConstructor{
		InitContext: app.ControllerInitContext{ClientName: "vsphere-cloud-orphan-disks"},
		Constructor: startOrphans(csiOpts),
	}
	out[metadataControllerName] = app.ControllerInitFuncConstructor{
		InitContext: app.ControllerInitContext{ClientName: "vsphere-cloud-volume-metadata"},
		Constructor: startMetadata(csiOpts),
	}
	return out
}
