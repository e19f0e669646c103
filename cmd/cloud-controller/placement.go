package main

import (
	"context"
	"fmt"

	cloudprovider "k8s.io/cloud-provider"
	"k8s.io/cloud-provider/app"
	cloudcontrollerconfig "k8s.io/cloud-provider/app/config"
	genericcontrollermanager "k8s.io/controller-manager/app"
	"k8s.io/controller-manager/controller"

	"github.com/vsphere-cloud/provider/pkg/kubeclient"
	"github.com/vsphere-cloud/provider/pkg/placement"
)

// placementControllerName is the name --controllers uses for the NodeVM controller.
const placementControllerName = "vsphere-placement"

type namedController string

func (n namedController) Name() string { return string(n) }

// startPlacement is the InitFuncConstructor of the NodeVM controller.
func startPlacement(deps *dependencies) app.InitFuncConstructor {
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
			go ctl.Run(ctx, 4)
			return namedController(placementControllerName), true, nil
		}
	}
}
