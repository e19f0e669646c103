package vsphere

import (
	"context"
	"fmt"

	"github.com/vmware/govmomi/fault"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/types"
)

// NodeMarkField is the VM custom attribute that tells vSphere administrators which VMs are
// Kubernetes nodes: its value is "<cluster name>/<node name>".
const NodeMarkField = "kubernetes.io/node"

// MarkNodeVM sets the NodeMarkField attribute of a VM, creating the attribute definition
// the first time. It is idempotent; callers compare with VM.NodeMark first so that an
// unchanged mark costs no call. Needs the Global.SetCustomField privilege (and
// Global.ManageCustomFields once, to create the attribute).
func (m *Manager) MarkNodeVM(ctx context.Context, vcenter, vmRef, value string) error {
	c, err := m.cacheFor(vcenter)
	if err != nil {
		return err
	}
	client, err := c.sess.Client(ctx)
	if err != nil {
		return err
	}
	cfm, err := object.GetCustomFieldsManager(client)
	if err != nil {
		return fmt.Errorf("vCenter %s has no custom fields manager: %w", vcenter, classify(err))
	}
	c.mu.RLock()
	key, known := c.markKey, c.markKnown
	c.mu.RUnlock()
	if !known {
		if key, err = ensureField(ctx, cfm); err != nil {
			return fmt.Errorf("vCenter %s: custom attribute %s: %w", vcenter, NodeMarkField, err)
		}
		c.mu.Lock()
		c.markKey, c.markKnown = key, true
		c.mu.Unlock()
	}
	c.mu.RLock()
	current := c.markOf(vmRef)
	c.mu.RUnlock()
	if current == value {
		return nil // already marked (known now that the key is)
	}
	vm := types.ManagedObjectReference{Type: "VirtualMachine", Value: vmRef}
	if err := cfm.Set(ctx, vm, key, value); err != nil {
		return fmt.Errorf("vCenter %s: marking VM %s: %w", vcenter, vmRef, classify(err))
	}
	c.mu.Lock()
	if c.marked == nil {
		c.marked = map[string]string{}
	}
	c.marked[vmRef] = value
	c.mu.Unlock()
	return nil
}

// markOf is the VM's node mark: from the property stream when it carries the attribute,
// else the last value this process set (the simulator does not publish SetField; vCenter
// does, and then the stream wins). Callers hold c.mu.
func (c *cache) markOf(vmRef string) string {
	if !c.markKnown || c.snap == nil {
		return ""
	}
	if r := c.snap.vms[vmRef]; r != nil {
		if v, ok := r.custom[c.markKey]; ok {
			return v
		}
	}
	return c.marked[vmRef]
}

func ensureField(ctx context.Context, cfm *object.CustomFieldsManager) (int32, error) {
	key, err := cfm.FindKey(ctx, NodeMarkField)
	if err == nil {
		return key, nil
	}
	def, err := cfm.Add(ctx, NodeMarkField, "VirtualMachine", nil, nil)
	if err != nil {
		if fault.Is(err, &types.DuplicateName{}) { // created concurrently
			return cfm.FindKey(ctx, NodeMarkField)
		}
		return 0, classify(err)
	}
	return def.Key, nil
}
