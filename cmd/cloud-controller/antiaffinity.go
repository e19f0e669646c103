package main

import (
	"context"

	cloudprovider "k8s.io/cloud-provider"
	"k8s.io/cloud-provider/app"
	cloudcontrollerconfig "k8s.io/cloud-provider/app/config"
	genericcontrollermanager "k8s.io/controller-manager/app"
	"k8s.io/controller-manager/controller"

	"github.com/vsphere-cloud/provider/pkg/antiaffinity"
)

// antiAffinityControllerName is the name --controllers uses for the anti-affinity rules.
const antiAffinityControllerName = "vsphere-anti-affinity"

// startAntiAffinity keeps vSphere VM-VM anti-affinity rules for control-plane Nodes and
// labelled groups (pkg/antiaffinity). It runs in the leader only.
func startAntiAffinity(deps *dependencies) app.InitFuncConstructor {
	return func(_ app.ControllerInitContext, cfg *cloudcontrollerconfig.CompletedConfig, _ cloudprovider.Interface) app.InitFunc {
		clusterName := cfg.ComponentConfig.KubeCloudShared.ClusterName
		return func(ctx context.Context, _ genericcontrollermanager.ControllerContext) (controller.Interface, bool, error) {
			ctl := antiaffinity.New(deps.vsphere, deps.vsphere, cfg.SharedInformers.Core().V1().Nodes(), clusterName)
			go ctl.Run(ctx)
			return namedController(antiAffinityControllerName), true, nil
		}
	}
}
