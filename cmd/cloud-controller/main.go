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
	"k8s.io/klog/v2"

	"github.com/vsphere-cloud/provider/pkg/provider"
	"github.com/vsphere-cloud/provider/pkg/vsphere/config"
)

func main() {
	os.Exit(run())
}

// run is the whole program: flags and our validation, then the framework's: it applies the
// logging flags and its options, asks initCloud for the cloud, where wire (wiring.go)
// builds every dependency once, and runs the controllers on them.
func run() int {
	memLimit, err := applyMemoryLimit()
	if err != nil {
		fmt.Fprintf(os.Stderr, "cloud-controller: %v\n", err)
		return 1
	}
	opts, err := options.NewCloudControllerManagerOptions()
	if err != nil {
		fmt.Fprintf(os.Stderr, "cloud-controller: %v\n", err)
		return 1
	}
	opts.KubeCloudShared.CloudProvider.Name = provider.ProviderName
	csiOpts := &csiOptions{}
	fss := cliflag.NamedFlagSets{}
	csiOpts.addFlags(&fss)
	placementOpts := &placementOptions{}
	placementOpts.addFlags(&fss)

	// cfg is the validated cloud config, set by RunE before the framework's own RunE.
	var cfg *config.Config
	// deps is filled by wire when the framework asks for the cloud: once per process, after
	// it has applied the logging flags and validated its own options (starting vSphere
	// before that raced with klog's set-up and connected for options it then rejected),
	// and before any controller constructor runs.
	deps := &dependencies{}
	initCloud := func(c *cloudcontrollerconfig.CompletedConfig) cloudprovider.Interface {
		if memLimit > 0 {
			klog.Background().Info("Go memory limit set from the container's", "goMemoryLimitMiB", memLimit>>20, "share", goMemoryShare)
		}
		if err := wire(context.Background(), deps, cfg, c, csiOpts); err != nil {
			klog.ErrorS(err, "Cannot start cloud-controller")
			klog.FlushAndExit(klog.ExitFlushTimeout, 1)
		}
		return deps.cloud
	}
	cmd := app.NewCloudControllerManagerCommand(opts, initCloud, controllerInitializers(csiOpts, placementOpts, deps), names.CCMControllerAliases(), fss, wait.NeverStop)
	cmd.Use = "cloud-controller"
	runE := cmd.RunE
	cmd.RunE = func(c *cobra.Command, args []string) error {
		// Validate the cloud config before anything connects, so a bad file fails at start
		// with every field named, and exit status 1.
		var err error
		if cfg, err = validateCloudConfig(opts); err != nil {
			return err // cli.Run prints it once and exits 1
		}
		if err := csiOpts.validate(); err != nil {
			return err
		}
		cfg.ClusterID = opts.KubeCloudShared.ClusterName
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
func controllerInitializers(csiOpts *csiOptions, placementOpts *placementOptions, deps *dependencies) map[string]app.ControllerInitFuncConstructor {
	out := make(map[string]app.ControllerInitFuncConstructor, len(app.DefaultInitFuncConstructors))
	for name, c := range app.DefaultInitFuncConstructors {
		c.InitContext.ClientName = "vsphere-cloud-" + c.InitContext.ClientName
		out[name] = c
	}
	out[placementControllerName] = app.ControllerInitFuncConstructor{
		InitContext: app.ControllerInitContext{ClientName: "vsphere-cloud-placement"},
		Constructor: startPlacement(placementOpts, deps),
	}
	out[antiAffinityControllerName] = app.ControllerInitFuncConstructor{
		InitContext: app.ControllerInitContext{ClientName: "vsphere-cloud-anti-affinity"},
		Constructor: startAntiAffinity(deps),
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
