package vsphere

import (
	"cmp"
	"context"
	"fmt"
	"reflect"
	"slices"
	"time"

	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/types"
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
	// Time is the event's createdTime, on vCenter's clock.
	Time time.Time
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

// watchedEvents are the only types the event collector asks vCenter for: its filter's
// eventTypeId matches an EventEx by its eventTypeId and any other event by its type.
var watchedEvents = []string{
	EventVMMigrated, EventDrsVMMigrated, EventEnteringMaintenance, EventEnteredMaintenance,
	EventExitMaintenance, EventHostConnectionLost, EventHARestart,
}

// eventPage is how many events one ReadNextEvents call may return.
const eventPage = 100

// eventCursor is where the event watch of one vCenter stands, kept across reconnects:
// the createdTime (vCenter's clock) and key of the last event delivered. Event keys
// grow with age ("the oldest event is the one with the smallest key").
type eventCursor struct {
	since   time.Time
	lastKey int32
	started bool
}

// WatchEvents calls f for every new event of the followed types from every vCenter until
// ctx ends, reconnecting with backoff. Events come oldest first, each once, from the
// moment the watch started on vCenter's clock: a reconnect resumes after the last event
// delivered. Each vCenter adds one event history collector and one long-poll bounded by
// inventory.maxWait, whatever the number of Nodes. Events about hosts entering
// maintenance also mark the host for lookups (VM.HostEnteringMaintenance; see
// maintenance.go).
func (m *Manager) WatchEvents(ctx context.Context, f func(Event)) {
	for _, c := range m.vcenters {
		go c.events.run(ctx, f)
	}
}

// start sets the cursor, the first time only, to vCenter's clock now: history is not
// replayed after a restart, and a vCenter clock ahead or behind ours changes nothing.
func (cur *eventCursor) start(ctx context.Context, client *vim25.Client) error {
	if cur.started {
		return nil
	}
	now, err := currentTime(ctx, client)
	if err != nil {
		return err
	}
	cur.since, cur.started = now, true
	return nil
}

// advance returns the events of evs that come after the cursor, oldest first, as
// Events, and moves the cursor past them. vCenter returns a collector's pages oldest
// to newest, but the events within a latestPage are unordered, so order by key anyway.
func (cur *eventCursor) advance(evs []types.BaseEvent) []Event {
	sorted := make([]types.BaseEvent, 0, len(evs))
	for _, be := range evs {
		if be.GetEvent().Key > cur.lastKey {
			sorted = append(sorted, be)
		}
	}
	slices.SortStableFunc(sorted, func(a, b types.BaseEvent) int { return cmp.Compare(a.GetEvent().Key, b.GetEvent().Key) })
	out := make([]Event, 0, len(sorted))
	for _, be := range sorted {
		e := be.GetEvent()
		cur.lastKey, cur.since = e.Key, e.CreatedTime
		out = append(out, toEvent(be))
	}
	return out
}

// currentTime is vCenter's clock.
func currentTime(ctx context.Context, client *vim25.Client) (time.Time, error) {
	now, err := methods.GetCurrentTime(ctx, client)
	if err != nil {
		return time.Time{}, fmt.Errorf("reading vCenter's time: %w", classify(err))
	}
	return *now, nil
}

// toEvent is the Event of a vCenter event (VCenter left unset).
func toEvent(be types.BaseEvent) Event {
	e := be.GetEvent()
	ev := Event{Type: reflect.TypeOf(be).Elem().Name(), Message: e.FullFormattedMessage, Time: e.CreatedTime}
	if ex, ok := be.(*types.EventEx); ok {
		ev.Type = ex.EventTypeId
	}
	if e.Vm != nil {
		ev.VMRef, ev.VMName = e.Vm.Vm.Value, e.Vm.Name
	}
	if e.Host != nil {
		ev.HostRef, ev.HostName = e.Host.Host.Value, e.Host.Name
	}
	return ev
}
