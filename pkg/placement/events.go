package placement

import (
	corev1 "k8s.io/api/core/v1"

	"github.com/vsphere-cloud/provider/pkg/vsphere"
)

// Event reasons recorded on Nodes for vCenter events.
const (
	ReasonVMotion            = "VSphereVMotion"
	ReasonHARestart          = "VSphereHARestart"
	ReasonHostMaintenance    = "VSphereHostMaintenance"
	ReasonHostConnectionLost = "VSphereHostConnectionLost"
)

// onEvent records a vCenter event on every Node it concerns: the Nodes of the VM, or the
// Nodes whose VMs run on the host.
func (c *Controller) onEvent(ev vsphere.Event) {
	reason, typ := "", corev1.EventTypeNormal
	switch ev.Type {
	case vsphere.EventVMMigrated, vsphere.EventDrsVMMigrated:
		reason = ReasonVMotion
	case vsphere.EventHARestart:
		reason, typ = ReasonHARestart, corev1.EventTypeWarning
	case vsphere.EventEnteringMaintenance:
		reason, typ = ReasonHostMaintenance, corev1.EventTypeWarning
	case vsphere.EventEnteredMaintenance, vsphere.EventExitMaintenance:
		reason = ReasonHostMaintenance
	case vsphere.EventHostConnectionLost:
		reason, typ = ReasonHostConnectionLost, corev1.EventTypeWarning
	default:
		return
	}
	for _, name := range c.nodesFor(ev) {
		node, err := c.nodes.Get(name)
		if err != nil {
			continue
		}
		c.events.Eventf(node, typ, reason, "vCenter %s: %s", ev.VCenter, ev.Message)
		c.queue.Add(name)
	}
}

func (c *Controller) nodesFor(ev vsphere.Event) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	if ev.VMRef != "" {
		for n := range c.claims[ev.VCenter+"/"+ev.VMRef] {
			out = append(out, n)
		}
		if len(out) > 0 || ev.HostRef == "" {
			return out
		}
	}
	host := ev.VCenter + "/" + ev.HostRef
	for n, h := range c.hostOf {
		if h == host {
			out = append(out, n)
		}
	}
	return out
}

// compile-time check that the Manager satisfies Inventory.
var _ Inventory = (*vsphere.Manager)(nil)

// onChange re-queues only the Nodes an inventory change concerns: those whose VM or host
// changed, and those whose VM is still unknown. A vMotion thus reconciles one Node, not
// all of them.
func (c *Controller) onChange(ch vsphere.Change) {
	if ch.All {
		c.enqueueAll()
		return
	}
	c.mu.Lock()
	var names []string
	for _, vm := range ch.VMs {
		for n := range c.claims[ch.VCenter+"/"+vm] {
			names = append(names, n)
		}
	}
	if len(ch.Hosts) > 0 {
		hosts := map[string]bool{}
		for _, h := range ch.Hosts {
			hosts[ch.VCenter+"/"+h] = true
		}
		for n, h := range c.hostOf {
			if hosts[h] {
				names = append(names, n)
			}
		}
	}
	if len(ch.VMs) > 0 {
		for n := range c.unresolved {
			names = append(names, n)
		}
	}
	c.mu.Unlock()
	for _, n := range names {
		c.queue.Add(n)
	}
}
