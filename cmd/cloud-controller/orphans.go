package main

import (
	"context"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	cloudprovider "k8s.io/cloud-provider"
	"k8s.io/cloud-provider/app"
	cloudcontrollerconfig "k8s.io/cloud-provider/app/config"
	genericcontrollermanager "k8s.io/controller-manager/app"
	"k8s.io/controller-manager/controller"

	"github.com/vsphere-cloud/provider/pkg/volumes"
	"github.com/vsphere-cloud/provider/pkg/volumes/csicontroller"
)

// orphansControllerName is the name --controllers uses for the orphan disk report.
const orphansControllerName = "vsphere-orphan-disks"

// startOrphans reports (and, on opt-in, deletes) disks made for claims that no PV refers
// to. It runs in the leader only.
func startOrphans(opts *csiOptions, deps *dependencies) app.InitFuncConstructor {
	return func(initCtx app.ControllerInitContext, _ *cloudcontrollerconfig.CompletedConfig, _ cloudprovider.Interface) app.InitFunc {
		return func(ctx context.Context, cc genericcontrollermanager.ControllerContext) (controller.Interface, bool, error) {
			kube, err := cc.ClientBuilder.Client(initCtx.ClientName)
			if err != nil {
				return nil, false, err
			}
			volumes.RegisterMetrics()
			o := &csicontroller.Orphans{
				Disks: deps.vsphere, Attachments: deps.vsphere, Period: opts.OrphanPeriod, DeleteAfter: opts.DeleteOrphansAfter,
				VolumeHandles: func(ctx context.Context) (map[string]bool, error) {
					out := map[string]bool{}
					list, err := kube.CoreV1().PersistentVolumes().List(ctx, metav1.ListOptions{})
					if err != nil {
						return nil, err
					}
					for _, pv := range list.Items {
						if pv.Spec.CSI != nil && pv.Spec.CSI.Driver == volumes.DriverName {
							out[pv.Spec.CSI.VolumeHandle] = true
						}
					}
					return out, nil
				},
			}
			go o.Run(ctx)
			return namedController(orphansControllerName), true, nil
		}
	}
}
