package lbcontroller

import (
	"sync"

	"k8s.io/component-base/metrics"
	"k8s.io/component-base/metrics/legacyregistry"
)

// Metrics of VIP allocation. Labels are bounded: the kind of work and its result.
var (
	syncsTotal = metrics.NewCounterVec(&metrics.CounterOpts{
		Namespace: "vsphere_cloud", Subsystem: "vip", Name: "syncs_total",
		Help:           "VIP controller syncs by kind (service: one Service; pools: one VIPPool's status) and result (ok, error).",
		StabilityLevel: metrics.ALPHA,
	}, []string{"kind", "result"})

	registerOnce sync.Once
)

// RegisterMetrics adds the metrics to the component-base legacy registry, which
// cloud-controller serves on /metrics. It is safe to call more than once.
func RegisterMetrics() {
	registerOnce.Do(func() { legacyregistry.MustRegister(syncsTotal) })
}
