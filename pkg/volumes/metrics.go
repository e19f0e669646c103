package volumes

import (
	"path"
	"sync"
	"time"

	"google.golang.org/grpc/status"
	"k8s.io/component-base/metrics"
	"k8s.io/component-base/metrics/legacyregistry"
)

var (
	callDuration = metrics.NewHistogramVec(&metrics.HistogramOpts{
		Namespace: "vsphere_cloud", Subsystem: "csi", Name: "operation_duration_seconds",
		Help:    "Duration of CSI calls (create, attach, detach, delete, ...) by method and gRPC code.",
		Buckets: []float64{.05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120},
	}, []string{"method", "code"})
	// MissingDisks counts disks known to the controller and then missing in vCenter.
	MissingDisks = metrics.NewCounter(&metrics.CounterOpts{
		Namespace: "vsphere_cloud", Subsystem: "csi", Name: "missing_disks_total",
		Help: "Times a disk known to the driver was found missing in vCenter.",
	})
	// OrphanDisks is how many disks made for claims no PersistentVolume refers to.
	OrphanDisks = metrics.NewGauge(&metrics.GaugeOpts{
		Namespace: "vsphere_cloud", Subsystem: "csi", Name: "orphan_disks",
		Help: "First Class Disks named pvc-* that no PersistentVolume of this driver refers to.",
	})
	registerOnce sync.Once
)

// RegisterMetrics registers the CSI metrics with the legacy registry (idempotent).
func RegisterMetrics() {
	registerOnce.Do(func() { legacyregistry.MustRegister(callDuration, MissingDisks, OrphanDisks) })
}

func observeCall(method string, err error, start time.Time) {
	callDuration.WithLabelValues(path.Base(method), status.Code(err).String()).Observe(time.Since(start).Seconds())
}
