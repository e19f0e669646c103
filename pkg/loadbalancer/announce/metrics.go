package announce

import (
	"github.com/prometheus/client_golang/prometheus"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
)

var (
	vipChanges = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "vsphere_cloud", Subsystem: "vip", Name: "ownership_changes_total",
		Help: "VIPs this node started (acquired) or stopped (released) announcing.",
	}, []string{"change"})
	vipFenced = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "vsphere_cloud", Subsystem: "vip", Name: "fenced_total",
		Help: "VIPs this node removed because it could not renew their Lease before its deadline.",
	})
	vipStaleRemoved = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "vsphere_cloud", Subsystem: "vip", Name: "stale_addresses_removed_total",
		Help: "Addresses of a VIP pool found on this node's interfaces without this node holding their Lease, and removed.",
	})
)

func init() { crmetrics.Registry.MustRegister(vipChanges, vipFenced, vipStaleRemoved) }
