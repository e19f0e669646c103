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
	"github.com/vsphere-cloud/provider/pkg/volumes/metadata"
)

// metadataControllerName is the name --controllers uses for the volume metadata sync.
const metadataControllerName = "vsphere-volume-metadata"

// startMetadata keeps each volume's PV, claim and Pods current in vCenter's Cloud Native
// Storage. It runs in the leader only, and only with the CSI service.
func startMetadata(opts *csiOptions, deps *dependencies) app.InitFuncConstructor {
	return func(_ app.ControllerInitContext, cfg *cloudcontrollerconfig.CompletedConfig, _ cloudprovider.Interface) app.InitFunc {
		return func(ctx context.Context, _ genericcontrollermanager.ControllerContext) (controller.Interface, bool, error) {
			if opts.Endpoint == "" {
				return nil, false, nil
			}
			metadata.RegisterMetrics()
			core := cfg.SharedInformers.Core().V1()
			// The syncer reads a Pod's name, labels, phase and claims only.
			if err := core.Pods().Informer().SetTransform(kubeclient.TrimPod); err != nil {
				return nil, false, fmt.Errorf("%s: trimming the Pod cache: %w", metadataControllerName, err)
			}
			s, err := metadata.New(deps.vsphere, core.PersistentVolumes(), core.PersistentVolumeClaims(), core.Pods(), opts.MetadataSyncPeriod)
			if err != nil {
				return nil, false, fmt.Errorf("%s: %w", metadataControllerName, err)
			}
			go s.Run(ctx, 4)
			return namedController(metadataControllerName), true, nil
		}
	}
}
