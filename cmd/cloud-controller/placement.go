package main

import (
	"context"
	"fmt"

	cloudprovider "k8s.io/cloud-provider"
	"k8s.io/cloud-provider/app"
	cloudcontrollerconfig "k8s.io/cloud-provider/app/config"
	cliflag "k8s.io/component-base/cli/flag"
	genericcontrollermanager "k8s.io/controller-manager/app"
	"k8s.io/controller-manager/controller"

	"github.com/vsphere-cloud/provider/pkg/kubeclient"
	"github.com/vsphere-cloud/provider/pkg/placement"
)

// placementControllerName is the name --controllers uses for the NodeVM controller.
const placementControllerName = "vsphere-placement"

type namedController string

func (n namedController) Name() string { return string(n) }

// placementOptions are the NodeVM controller's flags.
type placementOptions struct {
	// OutOfService turns failover on proof on (pkg/placement/failover.go).
	OutOfService bool
}

func (o *placementOptions) addFlags(fss *cliflag.NamedFlagSets) {
	fs := fss.FlagSet("vsphere-placement")
	fs.BoolVar(&o.OutOfService, "out-of-service-taint", true, "when vCenter proves a Node's VM powered off or gone (a fresh inventory, "+
		"the rules of Node deletion), mark the Node not Ready and add node.kubernetes.io/out-of-service=nodeshutdown:NoExecute, so that "+
		"its Pods and volumes fail over to other Nodes; removed when the VM runs again. false turns it off")
}

// startPlacement is the InitFuncConstructor of the NodeVM controller.
func startPlacement(opts *placementOptions, deps *dependencies) app.InitFuncConstructor {
	return func(initCtx app.ControllerInitContext, cfg *cloudcontrollerconfig.CompletedConfig, _ cloudprovider.Interface) app.InitFunc {
		clusterName := cfg.ComponentConfig.KubeCloudShared.ClusterName
		return func(ctx context.Context, cc genericcontrollermanager.ControllerContext) (controller.Interface, bool, error) {
			restCfg, err := cc.ClientBuilder.Config(initCtx.ClientName)
			if err != nil {
				return nil, false, err
			}
			cl, err := kubeclient.New(restCfg, "")
			if err != nil {
				return nil, false, fmt.Errorf("%s: %w", placementControllerName, err)
			}
			kube, err := cc.ClientBuilder.Client(initCtx.ClientName)
			if err != nil {
				return nil, false, err
			}
			recorder := kubeclient.Recorder(ctx, kube, "vsphere-cloud-placement")
			// The framework's node controllers watch Nodes through cfg.SharedInformers; the
			// controller context's InformerFactory is a second factory, with a second cache.
			ctl := placement.New(deps.vsphere, cl, cfg.SharedInformers.Core().V1().Nodes(), recorder, clusterName)
			ctl.OutOfService = opts.OutOfService
			go ctl.Run(ctx, 4)
			return namedController(placementControllerName), true, nil
		}
	}
}
