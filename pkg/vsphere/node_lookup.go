package vsphere

import (
	"context"
	"fmt"
	"strings"

	"k8s.io/klog/v2"

	"github.com/vsphere-cloud/provider/pkg/biosuuid"
)

// FindNodeVM returns the VM of a node.
//
// Errors: ErrNotFound only when every vCenter's cache is synced and fresh and none holds
// a match, and, for a ProviderUUID, vCenter proves the VM gone (see proveGone; the proof
// is asked for in the background, so the first calls answer ErrUnavailable);
// ErrUnavailable when no match was found but some cache cannot prove absence;
// ErrAmbiguous when several VMs match the strongest key that matched at all (for example
// two VMs cloned with one BIOS UUID, or one VM name in two datacenters without UUIDs to
// tell them apart).
func (m *Manager) FindNodeVM(ctx context.Context, q NodeQuery) (VM, error) {
	keys, err := q.keys()
	if err != nil {
		return VM{}, err
	}
	var stale []error
	statuses := make([]CacheStatus, len(m.vcenters))
	for _, k := range keys {
		var found []VM
		for i, c := range m.vcenters {
			vms, st := c.lookup(k)
			statuses[i] = st
			found = append(found, vms...)
		}
		switch len(found) {
		case 0:
			continue
		case 1:
			return found[0], nil
		default:
			refs := make([]string, 0, len(found))
			for _, vm := range found {
				refs = append(refs, vm.VCenter+"/"+vm.Datacenter+"/"+vm.Ref)
			}
			return VM{}, fmt.Errorf("%w: %d VMs match %s %q: %s", ErrAmbiguous, len(found), k.kind, k.value, strings.Join(refs, ", "))
		}
	}
	for _, st := range statuses {
		if !st.Fresh {
			stale = append(stale, st.errStale())
		}
	}
	if len(stale) > 0 {
		return VM{}, fmt.Errorf("no VM found for node %q, and absence cannot be proven: %w", q.Name, stale[0])
	}
	if q.ProviderUUID != "" {
		if err := m.proveGone(ctx, keys[0].value, q.Known); err != nil {
			return VM{}, fmt.Errorf("%w: node %q's UUID %s, and its absence is not proven: %w", ErrNoMatch, q.Name, keys[0].value, err)
		}
		klog.FromContext(ctx).V(2).Info("Node's VM is proven gone", "node", q.Name, "vmUUID", keys[0].value)
		return VM{}, fmt.Errorf("%w: the VM with node %q's UUID %s is gone (vCenter: ManagedObjectNotFound)", ErrNotFound, q.Name, keys[0].value)
	}
	klog.FromContext(ctx).V(4).Info("No VM matches node", "node", q.Name)
	return VM{}, fmt.Errorf("%w: no VM in any vCenter matches node %q", ErrNotFound, q.Name)
}

// keys are the lookup keys of q, strongest first.
func (q NodeQuery) keys() ([]lookupKey, error) {
	var keys []lookupKey
	switch {
	case q.ProviderUUID != "":
		u, err := biosuuid.Normalize(q.ProviderUUID)
		if err != nil {
			// Ours in form but no UUID (vsphere://vm-42): nothing can be looked up, so
			// nothing is proven; never ErrNotFound.
			return nil, fmt.Errorf("%w: providerID of node %q: %w; the node is kept and never matched", ErrNoMatch, q.Name, err)
		}
		keys = append(keys, lookupKey{kind: keyUUID, value: u})
	default:
		if u, err := biosuuid.Normalize(q.SystemUUID); err == nil {
			sw, _ := biosuuid.SwapByteOrder(u)
			keys = append(keys, lookupKey{kind: keyUUID, value: u}, lookupKey{kind: keyUUID, value: sw})
		}
		if n := strings.ToLower(strings.TrimSpace(q.Name)); n != "" {
			keys = append(keys, lookupKey{kind: keyName, value: n}, lookupKey{kind: keyHostname, value: n})
		}
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("%w: node has no providerID, SystemUUID or name", ErrNotFound)
	}
	return keys, nil
}

// proveGone returns nil only when vCenter proves that the VM with uuid is gone: no
// vCenter holds a VM whose configuration it cannot read (which could be it), and every VM
// known to have had the UUID (seen leaving the inventory, or named by known) is answered
// ManagedObjectNotFound by its vCenter.
func (m *Manager) proveGone(ctx context.Context, uuid string, known []VMRef) error {
	if m.memory != nil {
		// Always: a departure of another VM that had the UUID (a destroyed clone) must not
		// stand in for the Node's own VM, which the cluster remembers.
		known = append(known, m.memory(ctx, uuid)...)
	}
	recorded := false
	for _, c := range m.vcenters {
		if unknown, example := c.inventory.unidentified(); unknown > 0 {
			return fmt.Errorf("%w: vCenter %s holds %d VMs whose configuration cannot be read (such as %s); any of them may be this one", ErrUnavailable, c.vc.Name, unknown, example)
		}
		var refs []string
		for _, k := range known {
			if k.VCenter == c.vc.Name && k.Ref != "" && (k.UUID == "" || strings.EqualFold(k.UUID, uuid)) {
				refs = append(refs, k.Ref)
			}
		}
		rec, err := c.gone.verdict(ctx, uuid, refs, c.confirmGone)
		if err != nil {
			return err
		}
		recorded = recorded || rec
	}
	if !recorded {
		return fmt.Errorf("%w: no VM with this UUID was seen leaving the inventory since cloud-controller started, and no managed object ID of it is known to ask vCenter about", ErrUnavailable)
	}
	return nil
}

// VMsByIP returns the VMs whose guest reports ip, from the caches. It fails with
// ErrUnavailable while a vCenter's inventory has never been read: "no VM" is then not
// known (a stale cache still knows the addresses it last saw).
func (m *Manager) VMsByIP(ip string) ([]VM, error) {
	var out []VM
	for _, c := range m.vcenters {
		vms, st := c.lookup(lookupKey{kind: keyIP, value: ip})
		if !st.Synced {
			return nil, fmt.Errorf("%w: the inventory of vCenter %s has not been read yet", ErrUnavailable, c.vc.Name)
		}
		out = append(out, vms...)
	}
	return out, nil
}

// keyKind names what a lookup key matches.
type keyKind string

const (
	keyUUID     keyKind = "BIOS UUID"
	keyName     keyKind = "VM name"
	keyHostname keyKind = "guest hostname"
	keyIP       keyKind = "guest IP"
)

// lookupKey is one value to look VMs up by (see inventoryIndex.find).
type lookupKey struct {
	kind  keyKind
	value string
}
