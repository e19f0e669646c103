package metadata

import (
	"sync"

	"k8s.io/component-base/metrics"
	"k8s.io/component-base/metrics/legacyregistry"
)

var (
	driftTotal = metrics.NewCounter(&metrics.CounterOpts{
		Namespace: "vsphere_cloud", Subsystem: "csi", Name: "metadata_drift_total",
		Help: "Volumes whose entities in Cloud Native Storage (PV, claim, Pods) differed from the cluster's at a full sync, and were repaired.",
	})
	lastDrift = metrics.NewGauge(&metrics.GaugeOpts{
		Namespace: "vsphere_cloud", Subsystem: "csi", Name: "metadata_drift_last_sync",
		Help: "Volumes found drifted at the last full metadata sync.",
	})
	updateErrors = metrics.NewCounter(&metrics.CounterOpts{
		Namespace: "vsphere_cloud", Subsystem: "csi", Name: "metadata_update_errors_total",
		Help: "Failed updates of volume metadata in Cloud Native Storage (each is retried).",
	})
	registerOnce sync.Once
)

// RegisterMetrics registers the metadata sync metrics with the legacy registry.
func RegisterMetrics() {
	registerOnce.Do(func() { legacyregistry.MustRegister(driftTotal, lastDrift, updateErrors) })
}
