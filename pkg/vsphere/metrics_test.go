package vsphere

import (
	"strings"
	"testing"

	"github.com/vmware/govmomi/simulator"
	"k8s.io/component-base/metrics/legacyregistry"
)

// TestMetricsCountRequests: the watch's requests and the inventory size show up in the
// registry cloud-controller serves.
func TestMetricsCountRequests(t *testing.T) {
	startSim(t, simulator.VPX(), nil)
	families, err := legacyregistry.DefaultGatherer.Gather()
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]bool{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+"="+l.GetValue())
			}
			found[f.GetName()+"{"+strings.Join(labels, ",")+"}"] = true
		}
	}
	for _, want := range []string{
		"vsphere_cloud_vcenter_requests_total{method=WaitForUpdatesEx,result=ok}",
		"vsphere_cloud_vcenter_logins_total{result=ok,vcenter=sim}",
		"vsphere_cloud_inventory_objects{kind=VirtualMachine,vcenter=sim}",
	} {
		if !found[want] {
			t.Errorf("metric %s not found", want)
		}
	}
}
