package provider

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/vsphere-cloud/provider/pkg/vsphere"
	"github.com/vsphere-cloud/provider/pkg/vsphere/config"
)

// checkTopology refuses zone and region tag names that cannot be Node label values (a tag
// "Zone A" is common in vCenter): the Node update would be rejected by the API server with a
// message about a label, not about the tag to rename. The error names the tag, its category
// and the VM.
func checkTopology(vm vsphere.VM, cfg *config.Config) error {
	var zoneCat, regionCat string
	if cfg != nil {
		zoneCat, regionCat = cfg.ZoneCategory, cfg.RegionCategory
	}
	for _, t := range []struct{ what, name, category string }{{"zone", vm.Zone, zoneCat}, {"region", vm.Region, regionCat}} {
		if t.name == "" {
			continue
		}
		if errs := validation.IsValidLabelValue(t.name); len(errs) > 0 {
			return fmt.Errorf("VM %s: its %s tag %q (category %q) cannot be the Node's topology.kubernetes.io/%s label: %s; "+
				"rename the tag in vCenter (letters, digits, '-', '_' and '.', at most 63 characters, alphanumeric at both ends)",
				vm.Name, t.what, t.name, t.category, t.what, strings.Join(errs, "; "))
		}
	}
	return nil
}
