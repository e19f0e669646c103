package main

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	cloudprovider "k8s.io/cloud-provider"
	"k8s.io/cloud-provider/app"
	cloudcontrollerconfig "k8s.io/cloud-provider/app/config"
	genericcontrollermanager "k8s.io/controller-manager/app"
	"k8s.io/controller-manager/controller"

	"github.com/vsphere-cloud/provider/pkg/provider"
	"github.com/vsphere-cloud/provider/pkg/volumes"
	volctrl "github.com/vsphere-cloud/provider/pkg/volumes/controller"
)

// orphansControllerName is the name --controllers uses for the orphan disk report.
const orphansControllerName = "vsphere-orphan-disks"

// startOrphans reports (and, on opt-in, deletes) disks made for claims that no PV refers
// to. It runs in the leader only.
func startOrphans(opts *csiOptions) app.InitFuncConstructor {
	return func(initCtx app.ControllerInitContext, _ *cloudcontrollerconfig.CompletedConfig, cloud cloudprovider.Interface) app.InitFunc {
		return func(ctx context.Context, cc genericcontrollermanager.ControllerContext) (controller.Interface, bool, error) {
			c, ok := cloud.(*provider.Cloud)
			if !ok {
				return nil, false, nil
			}
			backend, ok := c.Inventory().(volctrl.Backend)
			if !ok {
				return nil, false, fmt.Errorf("%s: the inventory cannot manage disks", orphansControllerName)
			}
			kube, err := cc.ClientBuilder.Client(initCtx.ClientName)
			if err != nil {
				return nil, false, err
			}
			volumes.RegisterMetrics()
			o := &volctrl.Orphans{
				Backend: backend, Period: opts.OrphanPeriod, DeleteAfter: opts.DeleteOrphansAfter,
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
