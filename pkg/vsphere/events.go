package vsphere

import (
	"context"
	"errors"
	"reflect"
	"time"

	"github.com/vmware/govmomi/event"
	"github.com/vmware/govmomi/vim25/types"
	"k8s.io/klog/v2"
)

// Event is a vCenter event about a VM or an ESXi host that matters to Nodes.
type Event struct {
	VCenter string
	// Type is the event's type name (VmMigratedEvent, EnteredMaintenanceModeEvent, ...)
	// or, for an EventEx, its event type ID (com.vmware.vc.ha.VmRestartedByHAEvent).
	Type     string
	VMRef    string
	VMName   string
	HostRef  string
	HostName string
	Message  string
	Time     time.Time
}

// Event types the inventory follows.
const (
	EventVMMigrated          = "VmMigratedEvent"
	EventDrsVMMigrated       = "DrsVmMigratedEvent"
	EventEnteringMaintenance = "EnteringMaintenanceModeEvent"
	EventEnteredMaintenance  = "EnteredMaintenanceModeEvent"
	EventExitMaintenance     = "ExitMaintenanceModeEvent"
	EventHostConnectionLost  = "HostConnectionLostEvent"
	EventHARestart           = "com.vmware.vc.ha.VmRestartedByHAEvent"
)

var watchedEvents = map[string]bool{
	EventVMMigrated: true, EventDrsVMMigrated: true, EventEnteringMaintenance: true, EventEnteredMaintenance: true,
	EventExitMaintenance: true, EventHostConnectionLost: true, EventHARestart: true,
}

// WatchEvents calls f for every new event of the followed types from every vCenter until
// ctx ends, reconnecting with backoff. Each vCenter adds one long-poll on an event
// history collector, whatever the number of Nodes. Events about hosts entering
// maintenance also mark the host in the inventory, since vSphere has no property for it.
func (m *Manager) WatchEvents(ctx context.Context, f func(Event)) {
	for _, c := range m.caches {
		go c.watchEvents(ctx, f)
	}
}

func (c *cache) watchEvents(ctx context.Context, f func(Event)) {
	log := klog.FromContext(ctx).WithValues("vcenter", c.vc.Name)
	retryForever(klog.NewContext(ctx, log), "Event watch failed; retrying", func(ctx context.Context) error {
		if err := c.followEvents(ctx, f); err != nil || ctx.Err() != nil {
			return err
		}
		return errors.New("event watch ended unexpectedly") // back off rather than spin
	})
}

func (c *cache) followEvents(ctx context.Context, f func(Event)) error {
	client, err := c.sess.Client(ctx)
	if err != nil {
		return err
	}
	// Only events posted from now on: history is not replayed after a restart.
	since := time.Now()
	mgr := event.NewManager(client)
	root := client.ServiceContent.RootFolder
	err = mgr.Events(ctx, []types.ManagedObjectReference{root}, 50, true, true,
		func(_ types.ManagedObjectReference, events []types.BaseEvent) error {
			for _, be := range events {
				e := be.GetEvent()
				if e.CreatedTime.Before(since) {
					continue
				}
				ev := Event{VCenter: c.vc.Name, Type: reflect.TypeOf(be).Elem().Name(), Message: e.FullFormattedMessage, Time: e.CreatedTime}
				if ex, ok := be.(*types.EventEx); ok {
					ev.Type = ex.EventTypeId
				}
				if !watchedEvents[ev.Type] {
					continue
				}
				if e.Vm != nil {
					ev.VMRef, ev.VMName = e.Vm.Vm.Value, e.Vm.Name
				}
				if e.Host != nil {
					ev.HostRef, ev.HostName = e.Host.Host.Value, e.Host.Name
				}
				c.noteHostEvent(ev)
				f(ev)
			}
			return nil
		})
	if err != nil {
		return classify(err)
	}
	return nil
}

// noteHostEvent keeps the "entering maintenance" state that no host property carries.
func (c *cache) noteHostEvent(ev Event) {
	if ev.HostRef == "" {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entering == nil {
		c.entering = map[string]bool{}
	}
	changed := false
	switch ev.Type {
	case EventEnteringMaintenance:
		changed = !c.entering[ev.HostRef]
		c.entering[ev.HostRef] = true
	case EventEnteredMaintenance, EventExitMaintenance:
		changed = c.entering[ev.HostRef]
		delete(c.entering, ev.HostRef)
	}
	if notify := c.onChange; changed && notify != nil {
		go notify(Change{VCenter: c.vc.Name, Hosts: []string{ev.HostRef}})
	}
}
