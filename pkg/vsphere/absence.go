package vsphere

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/vmware/govmomi/fault"
	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
	"k8s.io/klog/v2"
)

// VMRef names a VM by its managed object ID in one vCenter: what a caller remembers of a
// node's VM (the NodeVM status keeps it) so that its absence can be proven after a restart.
type VMRef struct {
	// VCenter is the configuration key of the vCenter.
	VCenter string
	// Ref is the managed object ID, such as vm-42.
	Ref string
	// UUID is the BIOS UUID the VM had, lower case.
	UUID string
}

// A VM missing from the inventory is not proof that it is gone: vCenter leaves out VMs the
// account may not see, VMs in datacenters that are not watched, and (while a datastore is
// all-paths-down) the configuration, hence the UUID, of VMs that still exist. The only
// proof is vCenter answering ManagedObjectNotFound for the VM's own managed object ID;
// vCenter never reuses one. The departures type keeps, per vCenter, the IDs of VMs that
// left the inventory by UUID and what vCenter said when asked about each.
type departures struct {
	mu sync.Mutex
	// byUUID: BIOS UUID -> refs of VMs that had it and left the watched inventory.
	byUUID map[string]map[string]*departure
	// recheck is how long vCenter's answer other than "gone" (the VM exists, or is hidden)
	// stands before vCenter is asked again; retry is how long a question vCenter did not
	// answer (connection lost, timeout) waits, so that a proof follows an outage soon.
	recheck, retry time.Duration
	// adds counts add calls, to prune now and then.
	adds int
}

// departureTTL is how long a departure is remembered: long enough for the node lifecycle
// controller (seconds) and for detaches to be retried, short enough that a datacenter
// where thousands of VMs come and go does not grow the map without bound.
const departureTTL = 24 * time.Hour

type departure struct {
	// added is when the VM was seen leaving (or first asked about).
	added time.Time
	// gone is true once vCenter answered ManagedObjectNotFound; it never changes back.
	gone bool
	// asking is true while a check runs; checked is when the last one ended.
	asking  bool
	checked time.Time
	// why is the last answer that was not proof.
	why error
}

func newDepartures() *departures {
	return &departures{byUUID: map[string]map[string]*departure{}, recheck: 30 * time.Second, retry: 2 * time.Second}
}

// add records that the VM ref, which had uuid, is no longer in the watched inventory.
func (d *departures) add(uuid, ref string) {
	if uuid == "" {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	m := d.byUUID[uuid]
	if m == nil {
		m = map[string]*departure{}
		d.byUUID[uuid] = m
	}
	if m[ref] == nil {
		m[ref] = &departure{added: time.Now()}
	}
	d.adds++
	if d.adds%1024 == 0 {
		d.pruneLocked(time.Now())
	}
}

// pruneLocked forgets departures older than departureTTL that no check is running for.
func (d *departures) pruneLocked(now time.Time) {
	for uuid, m := range d.byUUID {
		for ref, dep := range m {
			if !dep.asking && now.Sub(dep.added) > departureTTL {
				delete(m, ref)
			}
		}
		if len(m) == 0 {
			delete(d.byUUID, uuid)
		}
	}
}

// seen forgets a departure: the VM is back in the inventory.
func (d *departures) seen(uuid, ref string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if m := d.byUUID[uuid]; m != nil {
		delete(m, ref)
		if len(m) == 0 {
			delete(d.byUUID, uuid)
		}
	}
}

// verdict says whether every recorded VM with uuid is proven gone (recorded and a nil
// error). known adds managed object IDs to ask about (from the caller's memory). It starts
// the checks that are due through check, in the background, and never waits for vCenter.
func (d *departures) verdict(ctx context.Context, uuid string, known []string, check func(context.Context, string) error) (recorded bool, err error) {
	d.mu.Lock()
	m := d.byUUID[uuid]
	for _, ref := range known {
		if m == nil {
			m = map[string]*departure{}
			d.byUUID[uuid] = m
		}
		if m[ref] == nil {
			m[ref] = &departure{added: time.Now()}
		}
	}
	if len(m) == 0 {
		d.mu.Unlock()
		return false, nil
	}
	var why error
	for ref, dep := range m {
		if dep.gone {
			continue
		}
		switch {
		case dep.asking:
			why = fmt.Errorf("%w: asking vCenter whether VM %s still exists", ErrUnavailable, ref)
		case dep.checked.IsZero() || time.Since(dep.checked) >= d.wait(dep.why):
			dep.asking = true
			go d.ask(context.WithoutCancel(ctx), ref, dep, check)
			why = fmt.Errorf("%w: asking vCenter whether VM %s still exists", ErrUnavailable, ref)
		default:
			why = dep.why
		}
	}
	d.mu.Unlock()
	return true, why
}

// wait is how long the answer why stands before vCenter is asked again.
func (d *departures) wait(why error) time.Duration {
	if errors.Is(why, errVMAnswered) {
		return d.recheck
	}
	return d.retry
}

// errVMAnswered marks vCenter's answers that the VM is still there (outside the watched
// inventory, or hidden from the account).
var errVMAnswered = errors.New("vCenter answered for the VM")

func (d *departures) ask(ctx context.Context, ref string, dep *departure, check func(context.Context, string) error) {
	err := check(ctx, ref)
	d.mu.Lock()
	defer d.mu.Unlock()
	dep.asking = false
	dep.checked = time.Now()
	dep.gone = err == nil
	dep.why = err
	klog.FromContext(ctx).V(2).Info("Asked vCenter about a VM that left the inventory", "vm", ref, "gone", dep.gone, "answer", err)
}

// confirmGone asks vCenter for the VM ref's name. Only ManagedObjectNotFound proves that
// it is gone (nil); a VM that answers is outside the watched inventory, and NoPermission
// means it is hidden from the account: both are errors, as is anything else.
func (c *vCenter) confirmGone(ctx context.Context, ref string) error {
	client, err := c.sess.Client(ctx)
	if err != nil {
		return fmt.Errorf("%w: cannot ask vCenter %s about VM %s: %v", ErrUnavailable, c.vc.Name, ref, err)
	}
	callCtx, cancel := context.WithTimeout(ctx, c.inv.CallTimeout)
	defer cancel()
	var vm mo.VirtualMachine
	obj := types.ManagedObjectReference{Type: "VirtualMachine", Value: ref}
	err = property.DefaultCollector(client).RetrieveOne(callCtx, obj, []string{"name"}, &vm)
	switch {
	case err == nil:
		return fmt.Errorf("%w: %w: VM %s (%s) still exists in vCenter %s but is outside the watched inventory (another datacenter, or moved)", ErrUnavailable, errVMAnswered, vm.Name, ref, c.vc.Name)
	case fault.Is(err, &types.ManagedObjectNotFound{}):
		return nil
	case fault.Is(err, &types.NoPermission{}):
		return fmt.Errorf("%w: %w: VM %s in vCenter %s is hidden from the account (NoPermission); it is not proven gone", ErrUnavailable, errVMAnswered, ref, c.vc.Name)
	default:
		// %v, not %w: a NotFound fault from some other object must not read as proof.
		return fmt.Errorf("%w: asking vCenter %s about VM %s: %v", ErrUnavailable, c.vc.Name, ref, redactURL(err))
	}
}
