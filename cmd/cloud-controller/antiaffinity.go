package main

import (
	"context"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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
	return func(initCtx app.ControllerInitContext, cfg *cloudcontrollerconfig.CompletedConfig, _ cloudprovider.Interface) app.InitFunc {
		clusterName := cfg.ComponentConfig.KubeCloudShared.ClusterName
		return func(ctx context.Context, cc genericcontrollermanager.ControllerContext) (controller.Interface, bool, error) {
			kube, err := cc.ClientBuilder.Client(initCtx.ClientName)
			if err != nil {
				return nil, false, err
			}
			uid := func(ctx context.Context) (string, error) {
				ns, err := kube.CoreV1().Namespaces().Get(ctx, metav1.NamespaceSystem, metav1.GetOptions{})
				if err != nil {
					return "", err
				}
				return string(ns.UID), nil
			}
			ctl := antiaffinity.New(deps.vsphere, deps.vsphere, cfg.SharedInformers.Core().V1().Nodes(), clusterName, uid)
			go ctl.Run(ctx)
			return namedController(antiAffinityControllerName), true, nil
		}
	}
}
