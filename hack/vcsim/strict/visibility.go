package strict

import (
	"fmt"
	"sync"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// Visibility makes VMs hidden from the account and VMs whose files are inaccessible, two
// states a real vCenter has and the simulator lacks:
//
//   - Hidden (a "No access" permission on the VM or its folder): vCenter leaves the VM
//     out of every view and property collector result (the collector reports it leaving),
//     and reading it by its managed object ID fails with NoPermission. The VM still
//     exists. The simulator has no permissions, so Hide takes the VM out of the inventory
//     (property collectors see it leave) and the service's property collector answers
//     NoPermission for it until Show puts it back.
//   - Inaccessible (its datastore is all-paths-down or gone): vCenter keeps the VM in the
//     inventory with runtime.connectionState "inaccessible" and config unset, so config.uuid
//     cannot be read. SetInaccessible publishes exactly that.
type Visibility struct {
	model *simulator.Model

	mu     sync.Mutex
	hidden map[types.ManagedObjectReference]mo.Reference
	// configs keeps the configuration of inaccessible VMs, to restore it.
	configs map[types.ManagedObjectReference]*types.VirtualMachineConfigInfo
}

// InstallVisibility installs the behaviours on a created model.
func InstallVisibility(m *simulator.Model) *Visibility {
	v := &Visibility{model: m, hidden: map[types.ManagedObjectReference]mo.Reference{}, configs: map[types.ManagedObjectReference]*types.VirtualMachineConfigInfo{}}
	r := m.Map()
	visibilities.Store(r, v)
	if pc, ok := r.Get(r.Get(vim25.ServiceInstance).(*simulator.ServiceInstance).Content.PropertyCollector).(*simulator.PropertyCollector); ok {
		c := &visibleCollector{}
		c.Self = pc.Self
		r.Put(c)
	}
	return v
}

// visibilities maps a model's registry to its Visibility: the simulator gives each session
// a zero copy of the service's property collector (of the wrapper's type), so the
// wrapper finds its Visibility through the request's registry.
var visibilities sync.Map

// vm finds a VM by name.
func (v *Visibility) vm(name string) (*simulator.VirtualMachine, error) {
	for _, ref := range v.model.Map().AllReference("VirtualMachine") {
		if vm, ok := ref.(*simulator.VirtualMachine); ok && vm.Name == name {
			return vm, nil
		}
	}
	return nil, fmt.Errorf("no VM named %q", name)
}

// Hide hides the VM named name from the account.
func (v *Visibility) Hide(name string) error {
	vm, err := v.vm(name)
	if err != nil {
		return err
	}
	v.mu.Lock()
	v.hidden[vm.Self] = vm
	v.mu.Unlock()
	ctx := v.model.Service.Context
	ctx.Map.Remove(ctx, vm.Self)
	return nil
}

// Show makes every hidden VM visible again.
func (v *Visibility) Show() {
	v.mu.Lock()
	hidden := v.hidden
	v.hidden = map[types.ManagedObjectReference]mo.Reference{}
	v.mu.Unlock()
	ctx := v.model.Service.Context
	for _, obj := range hidden {
		ctx.Map.Put(obj)
	}
}

// isHidden tells whether ref is hidden.
func (v *Visibility) isHidden(ref types.ManagedObjectReference) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	_, ok := v.hidden[ref]
	return ok
}

// configPaths are the configuration properties vCenter reports removed (op
// indirectRemove: "the property value was removed because a containing object was
// removed") when it unsets a VM's config.
var configPaths = []string{"config.uuid", "config.template", "config.guestId", "config.hardware.numCPU", "config.hardware.memoryMB", "config.hardware.device"}

// SetInaccessible makes the VM named name inaccessible (on) or accessible again (off).
func (v *Visibility) SetInaccessible(name string, on bool) error {
	vm, err := v.vm(name)
	if err != nil {
		return err
	}
	ctx := v.model.Service.Context
	v.mu.Lock()
	defer v.mu.Unlock()
	if on {
		if _, done := v.configs[vm.Self]; done {
			return nil
		}
		v.configs[vm.Self] = vm.Config
		changes := []types.PropertyChange{{Name: "runtime.connectionState", Val: types.VirtualMachineConnectionStateInaccessible}}
		for _, p := range configPaths {
			changes = append(changes, types.PropertyChange{Name: p, Op: types.PropertyChangeOpIndirectRemove})
		}
		ctx.WithLock(vm, func() {
			// Applying the removals would zero the kept configuration in place: apply them
			// to a throw-away one (publishing them per path), then leave config unset.
			vm.Config = nil
			ctx.Map.Update(ctx, vm, changes)
			vm.Config = nil
		})
		return nil
	}
	cfg, ok := v.configs[vm.Self]
	if !ok {
		return nil
	}
	delete(v.configs, vm.Self)
	ctx.WithLock(vm, func() {
		vm.Config = cfg
		ctx.Map.Update(ctx, vm, []types.PropertyChange{
			{Name: "runtime.connectionState", Val: types.VirtualMachineConnectionStateConnected},
			{Name: "config.uuid", Val: cfg.Uuid}, {Name: "config.template", Val: cfg.Template},
			{Name: "config.guestId", Val: cfg.GuestId}, {Name: "config.hardware.numCPU", Val: cfg.Hardware.NumCPU},
			{Name: "config.hardware.memoryMB", Val: cfg.Hardware.MemoryMB},
			{Name: "config.hardware.device", Val: cfg.Hardware.Device},
		})
	})
	return nil
}

// visibleCollector is the service's property collector with hidden VMs refused. It embeds
// the collector by value, as the simulator's per-session copies require.
type visibleCollector struct {
	simulator.PropertyCollector
}

func (c *visibleCollector) denied(ctx *simulator.Context, specs []types.PropertyFilterSpec) *soap.Fault {
	vv, ok := visibilities.Load(ctx.Map)
	if !ok {
		return nil
	}
	v := vv.(*Visibility)
	for _, spec := range specs {
		for _, o := range spec.ObjectSet {
			if v.isHidden(o.Obj) {
				return simulator.Fault("", &types.NoPermission{Object: &o.Obj, PrivilegeId: "System.Read"})
			}
		}
	}
	return nil
}

// RetrievePropertiesEx refuses hidden VMs with NoPermission, as vCenter does.
func (c *visibleCollector) RetrievePropertiesEx(ctx *simulator.Context, r *types.RetrievePropertiesEx) soap.HasFault {
	if f := c.denied(ctx, r.SpecSet); f != nil {
		return &methods.RetrievePropertiesExBody{Fault_: f}
	}
	return c.PropertyCollector.RetrievePropertiesEx(ctx, r)
}

// RetrieveProperties refuses hidden VMs with NoPermission, as vCenter does.
func (c *visibleCollector) RetrieveProperties(ctx *simulator.Context, r *types.RetrieveProperties) soap.HasFault {
	if f := c.denied(ctx, r.SpecSet); f != nil {
		return &methods.RetrievePropertiesBody{Fault_: f}
	}
	return c.PropertyCollector.RetrieveProperties(ctx, r)
}
