package vsphere

import (
	"context"
	"fmt"
	"sync"

	"github.com/vmware/govmomi/fault"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/types"
)

// NodeMarkField is the VM custom attribute that tells vSphere administrators which VMs are
// Kubernetes nodes: its value is "<cluster name>/<node name>".
const NodeMarkField = "kubernetes.io/node"

// nodeMarks is what this process knows of the NodeMarkField attribute in one vCenter: the
// attribute's key once known (keys can be 0), and the marks it set, by VM ref. The zero
// value knows nothing.
type nodeMarks struct {
	mu     sync.Mutex
	key    int32
	known  bool
	marked map[string]string
}

// fieldKey returns the attribute's key; known is false until it has been looked up.
func (n *nodeMarks) fieldKey() (key int32, known bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.key, n.known
}

// setFieldKey records the attribute's key.
func (n *nodeMarks) setFieldKey(key int32) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.key, n.known = key, true
}

// setBy is the mark this process last set on the VM ref, empty when none.
func (n *nodeMarks) setBy(ref string) string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.marked[ref]
}

// record remembers that this process set the VM ref's mark to value.
func (n *nodeMarks) record(ref, value string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.marked == nil {
		n.marked = map[string]string{}
	}
	n.marked[ref] = value
}

// MarkNodeVM sets the NodeMarkField attribute of a VM, creating the attribute definition
// the first time. It is idempotent; callers compare with VM.NodeMark first so that an
// unchanged mark costs no call. Needs the Global.SetCustomField privilege (and
// Global.ManageCustomFields once, to create the attribute).
func (m *Manager) MarkNodeVM(ctx context.Context, vcenter, vmRef, value string) error {
	c, client, err := m.sessionFor(ctx, vcenter)
	if err != nil {
		return err
	}
	cfm, err := object.GetCustomFieldsManager(client)
	if err != nil {
		return fmt.Errorf("vCenter %s has no custom fields manager: %w", vcenter, classify(err))
	}
	key, known := c.marks.fieldKey()
	if !known {
		if key, err = ensureField(ctx, cfm); err != nil {
			return fmt.Errorf("vCenter %s: custom attribute %s: %w", vcenter, NodeMarkField, err)
		}
		c.marks.setFieldKey(key)
	}
	if c.markOf(vmRef) == value {
		return nil // already marked (known now that the key is)
	}
	vm := types.ManagedObjectReference{Type: "VirtualMachine", Value: vmRef}
	if err := cfm.Set(ctx, vm, key, value); err != nil {
		return fmt.Errorf("vCenter %s: marking VM %s: %w", vcenter, vmRef, classify(err))
	}
	c.marks.record(vmRef, value)
	return nil
}

// ensureField returns the key of the NodeMarkField attribute, creating it when missing.
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
