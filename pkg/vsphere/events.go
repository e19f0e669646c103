package vsphere

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"time"

	"github.com/vmware/govmomi/event"
	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/methods"
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
// maintenance also mark the host in the inventory (see maintenance.go).
func (m *Manager) WatchEvents(ctx context.Context, f func(Event)) {
	for _, c := range m.caches {
		go c.watchEvents(ctx, f)
	}
}

func (c *cache) watchEvents(ctx context.Context, f func(Event)) {
	log := klog.FromContext(ctx).WithValues("vcenter", c.vc.Name)
	cur := &eventCursor{}
	retryForever(klog.NewContext(ctx, log), "Event watch failed; retrying", func(ctx context.Context) error {
		if err := c.followEvents(ctx, cur, f); err != nil || ctx.Err() != nil {
			return err
		}
		return errors.New("event watch ended unexpectedly") // back off rather than spin
	})
}

// followEvents reads the events after cur from a collector filtered on the followed
// types and on createdTime, paging with ReadNextEvents (oldest to newest), and waits for
// more with WaitForUpdatesEx on the collector's latestPage, a server-side wait that ends
// well within the call deadline, so a quiet vCenter does not break the watch.
func (c *cache) followEvents(ctx context.Context, cur *eventCursor, f func(Event)) error {
	client, err := c.sess.Client(ctx)
	if err != nil {
		return err
	}
	if !cur.started {
		// Only events posted from now on, by vCenter's clock: history is not replayed
		// after a restart, and a vCenter clock ahead or behind ours changes nothing.
		now, err := currentTime(ctx, client)
		if err != nil {
			return err
		}
		cur.since, cur.started = now, true
	}
	bg := context.WithoutCancel(ctx)
	mgr := event.NewManager(client)
	hc, err := mgr.CreateCollectorForEvents(ctx, types.EventFilterSpec{
		Entity:      &types.EventFilterSpecByEntity{Entity: client.ServiceContent.RootFolder, Recursion: types.EventFilterSpecRecursionOptionAll},
		EventTypeId: watchedEvents,
		Time:        &types.EventFilterSpecByTime{BeginTime: types.NewTime(cur.since)},
	})
	if err != nil {
		return fmt.Errorf("creating event collector: %w", classify(err))
	}
	defer func() { _ = hc.Destroy(bg) }()
	pc, err := property.DefaultCollector(client).Create(ctx)
	if err != nil {
		return fmt.Errorf("creating property collector for events: %w", classify(err))
	}
	defer func() { _ = pc.Destroy(bg) }()
	if _, err := pc.CreateFilter(ctx, types.CreateFilter{Spec: types.PropertyFilterSpec{
		ObjectSet: []types.ObjectSpec{{Obj: hc.Reference()}},
		PropSet:   []types.PropertySpec{{Type: hc.Reference().Type, PathSet: []string{"latestPage"}}},
	}}); err != nil {
		return fmt.Errorf("creating property filter for events: %w", classify(err))
	}
	if err := c.seedEntering(ctx, client); err != nil {
		return err
	}
	recheck := min(c.inv.MaxWait, maxEnteringRecheck)
	nextRecheck := c.now().Add(recheck)
	version := ""
	for {
		for {
			evs, err := hc.ReadNextEvents(ctx, eventPage)
			if err != nil {
				return fmt.Errorf("reading events: %w", classify(err))
			}
			for _, ev := range cur.advance(evs) {
				ev.VCenter = c.vc.Name
				c.noteHostEvent(ev)
				f(ev)
			}
			if len(evs) < eventPage {
				break
			}
		}
		wait := c.inv.MaxWait
		if c.anyEntering() {
			if now := c.now(); !now.Before(nextRecheck) {
				if err := c.reconcileEntering(ctx, client); err != nil {
					return err
				}
				nextRecheck = now.Add(recheck)
			}
			wait = max(min(wait, time.Until(nextRecheck)), time.Second)
		}
		set, err := waitForUpdates(ctx, client, pc.Reference(), version, wait, c.inv.CallTimeout)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("waiting for events: %w", err)
		}
		if set != nil {
			version = set.Version
		}
	}
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
