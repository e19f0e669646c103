package vsphere

import (
	"reflect"
	"strings"
	"sync"
	"time"

	"k8s.io/component-base/metrics"
	"k8s.io/component-base/metrics/legacyregistry"
)

// Metrics of the vCenter side. Labels are bounded: SOAP method names, results, and the
// configured vCenter keys; never a VM or Node name.
var (
	requestsTotal = metrics.NewCounterVec(&metrics.CounterOpts{
		Namespace: "vsphere_cloud", Subsystem: "vcenter", Name: "requests_total",
		Help:           "vCenter SOAP requests by method and result (ok, fault, error).",
		StabilityLevel: metrics.ALPHA,
	}, []string{"method", "result"})
	requestDuration = metrics.NewHistogramVec(&metrics.HistogramOpts{
		Namespace: "vsphere_cloud", Subsystem: "vcenter", Name: "request_duration_seconds",
		Help:           "vCenter SOAP request latency by method (WaitForUpdatesEx includes its long-poll).",
		Buckets:        metrics.ExponentialBuckets(0.005, 2, 15),
		StabilityLevel: metrics.ALPHA,
	}, []string{"method"})
	loginsTotal = metrics.NewCounterVec(&metrics.CounterOpts{
		Namespace: "vsphere_cloud", Subsystem: "vcenter", Name: "logins_total",
		Help:           "vCenter logins by vCenter and result.",
		StabilityLevel: metrics.ALPHA,
	}, []string{"vcenter", "result"})
	inventoryObjects = metrics.NewGaugeVec(&metrics.GaugeOpts{
		Namespace: "vsphere_cloud", Subsystem: "inventory", Name: "objects",
		Help:           "Objects in the inventory cache by vCenter and kind.",
		StabilityLevel: metrics.ALPHA,
	}, []string{"vcenter", "kind"})
	inventoryLastContact = metrics.NewGaugeVec(&metrics.GaugeOpts{
		Namespace: "vsphere_cloud", Subsystem: "inventory", Name: "last_contact_timestamp_seconds",
		Help:           "When vCenter last answered the inventory watch (Unix time).",
		StabilityLevel: metrics.ALPHA,
	}, []string{"vcenter"})
	inventoryResyncs = metrics.NewCounterVec(&metrics.CounterOpts{
		Namespace: "vsphere_cloud", Subsystem: "inventory", Name: "resyncs_total",
		Help:           "Complete inventory reads by vCenter.",
		StabilityLevel: metrics.ALPHA,
	}, []string{"vcenter"})

	registerOnce sync.Once
)

// RegisterMetrics adds the metrics to the component-base legacy registry, which
// cloud-controller serves on /metrics. It is safe to call more than once.
func RegisterMetrics() {
	registerOnce.Do(func() {
		legacyregistry.MustRegister(requestsTotal, requestDuration, loginsTotal, inventoryObjects, inventoryLastContact, inventoryResyncs)
	})
}

// methodName is the SOAP method of a request body, such as WaitForUpdatesEx.
func methodName(req any) string {
	t := reflect.TypeOf(req)
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil {
		return "unknown"
	}
	return strings.TrimSuffix(t.Name(), "Body")
}

func observeRequest(method string, start time.Time, err error, fault bool) {
	result := "ok"
	switch {
	case fault:
		result = "fault"
	case err != nil:
		result = "error"
	}
	requestsTotal.WithLabelValues(method, result).Inc()
	requestDuration.WithLabelValues(method).Observe(time.Since(start).Seconds())
}
