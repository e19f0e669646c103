// Command cloud-controller is vsphere-cloud's cloud controller manager: node lifecycle
// through k8s.io/cloud-provider, the CSI Controller service, VIP allocation and the NodeVM
// controller, all answered from one vSphere inventory per process. It is the only
// component that holds vCenter credentials.
package main

import (
	"context"
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

	"github.com/vsphere-cloud/provider/pkg/provider"
	"github.com/vsphere-cloud/provider/pkg/vsphere/config"
)

func main() {
	os.Exit(run())
}

// run is the whole program: flags, validation, then wire (wiring.go) builds every
// dependency once, and the framework runs the controllers on them.
func run() int {
	opts, err := options.NewCloudControllerManagerOptions()
	if err != nil {
		fmt.Fprintf(os.Stderr, "cloud-controller: %v\n", err)
		return 1
	}
	opts.KubeCloudShared.CloudProvider.Name = provider.ProviderName
	csiOpts := &csiOptions{}
	fss := cliflag.NamedFlagSets{}
	csiOpts.addFlags(&fss)

	// deps is filled by RunE once flags are parsed, before the framework calls initCloud
	// or any controller constructor.
	deps := &dependencies{}
	initCloud := func(*cloudcontrollerconfig.CompletedConfig) cloudprovider.Interface { return deps.cloud }
	cmd := app.NewCloudControllerManagerCommand(opts, initCloud, controllerInitializers(csiOpts, deps), names.CCMControllerAliases(), fss, wait.NeverStop)
	cmd.Use = "cloud-controller"
	runE := cmd.RunE
	cmd.RunE = func(c *cobra.Command, args []string) error {
		// Validate the cloud config before anything connects, so a bad file fails at start
		// with every field named, and exit status 1.
		cfg, err := validateCloudConfig(opts)
		if err != nil {
			return err // cli.Run prints it once and exits 1
		}
		if err := csiOpts.validate(); err != nil {
			return err
		}
		cfg.ClusterID = opts.KubeCloudShared.ClusterName
		if err := wire(context.Background(), deps, cfg, opts, csiOpts); err != nil {
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

// controllerInitializers copies the framework's defaults and gives each controller a
// client name of its own, so audit logs and RBAC tell them apart; ours take their
// dependencies from deps.
func controllerInitializers(csiOpts *csiOptions, deps *dependencies) map[string]app.ControllerInitFuncConstructor {
	out := make(map[string]app.ControllerInitFuncConstructor, len(app.DefaultInitFuncConstructors))
	for name, c := range app.DefaultInitFuncConstructors {
		c.InitContext.ClientName = "vsphere-cloud-" + c.InitContext.ClientName
		out[name] = c
	}
	out[placementControllerName] = app.ControllerInitFuncConstructor{
		InitContext: app.ControllerInitContext{ClientName: "vsphere-cloud-placement"},
		Constructor: startPlacement(deps),
	}
	out[orphansControllerName] = app.ControllerInitFuncConstructor{
		InitContext: app.ControllerInitContext{ClientName: "vsphere-cloud-orphan-disks"},
		Constructor: startOrphans(csiOpts, deps),
	}
	out[metadataControllerName] = app.ControllerInitFuncConstructor{
		InitContext: app.ControllerInitContext{ClientName: "vsphere-cloud-volume-metadata"},
		Constructor: startMetadata(csiOpts, deps),
	}
	return out
}
