package main

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/record"
	cloudprovider "k8s.io/cloud-provider"
	"k8s.io/cloud-provider/app"
	cloudcontrollerconfig "k8s.io/cloud-provider/app/config"
	genericcontrollermanager "k8s.io/controller-manager/app"
	"k8s.io/controller-manager/controller"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/vsphere-cloud/provider/api/v1alpha1"
	"github.com/vsphere-cloud/provider/pkg/placement"
	"github.com/vsphere-cloud/provider/pkg/provider"
)

// placementControllerName is the name --controllers uses for the NodeVM controller.
const placementControllerName = "vsphere-placement"

type namedController string

func (n namedController) Name() string { return string(n) }

// startPlacement is the InitFuncConstructor of the NodeVM controller.
func startPlacement(initCtx app.ControllerInitContext, cfg *cloudcontrollerconfig.CompletedConfig, cloud cloudprovider.Interface) app.InitFunc {
	clusterName := cfg.ComponentConfig.KubeCloudShared.ClusterName
	return func(ctx context.Context, cc genericcontrollermanager.ControllerContext) (controller.Interface, bool, error) {
		c, ok := cloud.(*provider.Cloud)
		if !ok {
			return nil, false, nil
		}
		inv, ok := c.Inventory().(placement.Inventory)
		if !ok {
			return nil, false, fmt.Errorf("%s: the inventory does not publish changes", placementControllerName)
		}
		restCfg, err := cc.ClientBuilder.Config(initCtx.ClientName)
		if err != nil {
			return nil, false, err
		}
		restCfg = rest.CopyConfig(restCfg)
		restCfg.ContentType = "application/json" // our CRD types have no protobuf encoding
		scheme := runtime.NewScheme()
		if err := clientgoscheme.AddToScheme(scheme); err != nil {
			return nil, false, err
		}
		if err := v1alpha1.AddToScheme(scheme); err != nil {
			return nil, false, err
		}
		cl, err := client.New(restCfg, client.Options{Scheme: scheme})
		if err != nil {
			return nil, false, fmt.Errorf("%s: %w", placementControllerName, err)
		}
		kube, err := cc.ClientBuilder.Client(initCtx.ClientName)
		if err != nil {
			return nil, false, err
		}
		broadcaster := record.NewBroadcaster(record.WithContext(ctx))
		broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: kube.CoreV1().Events("")})
		recorder := broadcaster.NewRecorder(scheme, corev1.EventSource{Component: "vsphere-cloud-placement"})
		// The framework's node controllers watch Nodes through cfg.SharedInformers; the
		// controller context's InformerFactory is a second factory, with a second cache.
		ctl := placement.New(inv, cl, cfg.SharedInformers.Core().V1().Nodes(), recorder, clusterName)
		go ctl.Run(ctx, 4)
		return namedController(placementControllerName), true, nil
	}
}
