package announce

import (
	"github.com/prometheus/client_golang/prometheus"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
)

var vipChanges = prometheus.NewCounterVec(prometheus.CounterOpts{
	Namespace: "vsphere_cloud", Subsystem: "vip", Name: "ownership_changes_total",
	Help: "VIPs this node started (acquired) or stopped (released) announcing.",
}, []string{"change"})

func init() { crmetrics.Registry.MustRegister(vipChanges) }
