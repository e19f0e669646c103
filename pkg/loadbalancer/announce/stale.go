package announce

import (
	"context"
	"net"
	"net/netip"
	"strings"

	"k8s.io/klog/v2"

	"github.com/vsphere-cloud/provider/api/v1alpha1"
	"github.com/vsphere-cloud/provider/pkg/loadbalancer"
)

// sweep removes, from every interface that can carry VIPs, the single addresses (/32,
// /128) that lie in a VIP pool but whose Lease this node does not hold: a run that was
// killed could not remove them, and a later allocation of the address would be answered
// by two nodes. It runs every round, so the first round after a start cleans up before
// anything is announced, and a removal that failed is tried again. Interfaces that are
// not the VM's NICs (kube-proxy's kube-ipvs0 carries every Service address in IPVS mode)
// are never touched.
func (a *Agent) sweep(ctx context.Context, pools []v1alpha1.VIPPool, nvm *v1alpha1.NodeVM) {
	var ranges []loadbalancer.Range
	for _, p := range pools {
		for _, s := range p.Spec.Addresses {
			if r, err := loadbalancer.ParseRange(s); err == nil {
				ranges = append(ranges, r)
			}
		}
	}
	if len(ranges) == 0 {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, ifname := range a.vipInterfaces(nvm) {
		addrs, err := a.cfg.Dataplane.Addresses(ifname)
		if err != nil {
			klog.FromContext(ctx).V(2).Info("Cannot list addresses", "interface", ifname, "err", err)
			continue
		}
		for _, p := range addrs {
			ip := p.Addr().Unmap()
			if p.Bits() != ip.BitLen() || !inRanges(ranges, ip) {
				continue
			}
			if h, ok := a.held[ip]; ok && h.ifname == ifname {
				continue
			}
			if err := a.cfg.Dataplane.Remove(ifname, ip); err != nil {
				klog.FromContext(ctx).Error(err, "Cannot remove stale VIP", "vip", ip, "interface", ifname)
				continue
			}
			vipStaleRemoved.Inc()
			klog.FromContext(ctx).Info("Removed VIP this node does not hold", "vip", ip, "interface", ifname)
		}
	}
}

func inRanges(rs []loadbalancer.Range, ip netip.Addr) bool {
	for _, r := range rs {
		if r.Contains(ip) {
			return true
		}
	}
	return false
}

// vipInterfaces are the interfaces that may carry VIPs: the configured one, or those
// whose MAC is one of the VM's NICs.
func (a *Agent) vipInterfaces(nvm *v1alpha1.NodeVM) []string {
	if a.cfg.Interface != "" {
		return []string{a.cfg.Interface}
	}
	nics := vmNICs(nvm)
	if len(nics) == 0 {
		return nil
	}
	ifs, err := net.Interfaces()
	if err != nil {
		return nil
	}
	var out []string
	for _, ifi := range ifs {
		for _, nic := range nics {
			if strings.EqualFold(ifi.HardwareAddr.String(), nic.MAC) {
				out = append(out, ifi.Name)
				break
			}
		}
	}
	return out
}
