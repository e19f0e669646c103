package loadbalancer

import (
	"encoding/hex"
	"net/netip"
	"strings"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
)

// LeaseLabelValue is ip as a label value, which may hold no colons and must start and
// end with a letter or digit: IPv4 as written, IPv6 in full with "-" for each ":"
// (fd00-0000-0000-0000-0000-0000-0000-0007 for fd00::7). A zone, which no VIP has, is
// left out, as in LeaseName.
func LeaseLabelValue(ip netip.Addr) string {
	ip = ip.WithZone("")
	if ip.Is4() {
		return ip.String()
	}
	return strings.ReplaceAll(ip.StringExpanded(), ":", "-")
}

// ParseLeaseLabel reads a LeaseLabelValue back.
func ParseLeaseLabel(v string) (netip.Addr, error) {
	if strings.Contains(v, "-") {
		v = strings.ReplaceAll(v, "-", ":")
	}
	return netip.ParseAddr(v)
}

// LeaseName is the Lease that elects the node announcing ip: vip-10-0-0-7 for IPv4,
// vip6-<32 hex digits> for IPv6.
func LeaseName(ip netip.Addr) string {
	if ip.Is4() {
		return "vip-" + strings.ReplaceAll(ip.String(), ".", "-")
	}
	b := ip.As16()
	return "vip6-" + hex.EncodeToString(b[:])
}

// LeaseHolder returns the node holding a Lease, "" when it is free or expired at now.
func LeaseHolder(l *coordinationv1.Lease, now time.Time) string {
	if l == nil || l.Spec.HolderIdentity == nil || *l.Spec.HolderIdentity == "" || l.Spec.RenewTime == nil || l.Spec.LeaseDurationSeconds == nil {
		return ""
	}
	if now.After(l.Spec.RenewTime.Add(leaseDuration(l))) {
		return ""
	}
	return *l.Spec.HolderIdentity
}

func leaseDuration(l *coordinationv1.Lease) time.Duration {
	if l.Spec.LeaseDurationSeconds == nil {
		return 0
	}
	return time.Duration(*l.Spec.LeaseDurationSeconds) * time.Second
}
