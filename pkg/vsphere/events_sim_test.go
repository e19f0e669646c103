package vsphere

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vmware/govmomi/event"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/vsphere-cloud/provider/hack/vcsim/strict"
)

// This file makes the in-process simulator behave like vCenter where the tests of the
// event watch need it (hack/vcsim does the same for end-to-end tests): a vCenter clock
// ahead or behind ours, and the real enter-maintenance sequence with a task.

// skewClock puts the simulator's clock offset ahead of ours (behind when negative) for
// every SOAP client (strict.Clock).
func skewClock(e *simEnv, offset time.Duration) {
	strict.InstallClock(e.model).SetOffset(offset)
}

var taskSeq atomic.Int64

// beginEnterMaintenance does what vCenter does when EnterMaintenanceMode_Task starts on
// a host: a running, cancelable task in the host's recentTask, then
// EnteringMaintenanceModeEvent. vcsim's own EnterMaintenanceMode_Task sets the flag at
// once and posts nothing.
func beginEnterMaintenance(t *testing.T, e *simEnv, c *vim25.Client, hostRef string) *simulator.Task {
	t.Helper()
	h := e.model.Map().Get(types.ManagedObjectReference{Type: "HostSystem", Value: hostRef}).(*simulator.HostSystem)
	task := simulator.CreateTask(h, "enterMaintenanceModeTask", nil)
	task.Self = types.ManagedObjectReference{Type: "Task", Value: fmt.Sprintf("task-mm%d", taskSeq.Add(1))}
	task.Info.Key, task.Info.Task, task.Info.Cancelable = task.Self.Value, task.Self, true
	task.Info.State, task.Info.StartTime = types.TaskInfoStateRunning, types.NewTime(time.Now())
	e.model.Map().Put(task)
	postHostEvent(t, e, c, h, &types.EnteringMaintenanceModeEvent{})
	return task
}

// finishEnterMaintenance completes an enter as vCenter does once the host is evacuated:
// the flag (published), EnteredMaintenanceModeEvent unless lost is set, task success.
func finishEnterMaintenance(t *testing.T, e *simEnv, c *vim25.Client, task *simulator.Task, lost bool) {
	t.Helper()
	h := e.model.Map().Get(*task.Info.Entity).(*simulator.HostSystem)
	setHostMaintenance(e, h, true)
	if !lost {
		postHostEvent(t, e, c, h, &types.EnteredMaintenanceModeEvent{})
	}
	e.model.Map().AtomicUpdate(e.model.Service.Context, task, []types.PropertyChange{
		{Name: "info.state", Val: types.TaskInfoStateSuccess},
		{Name: "info.completeTime", Val: time.Now()},
	})
}

func setHostMaintenance(e *simEnv, h *simulator.HostSystem, on bool) {
	e.model.Map().AtomicUpdate(e.model.Service.Context, h, []types.PropertyChange{{Name: "runtime.inMaintenanceMode", Val: on}})
}

func postHostEvent(t *testing.T, e *simEnv, c *vim25.Client, h *simulator.HostSystem, ev types.BaseEvent) {
	t.Helper()
	be := ev.GetEvent()
	be.Host = &types.HostEventArgument{EntityEventArgument: types.EntityEventArgument{Name: h.Name}, Host: h.Self}
	be.Datacenter = datacenterOf(e.model.Map(), h)
	be.FullFormattedMessage = fmt.Sprintf("%T on %s", ev, h.Name)
	if err := event.NewManager(c).PostEvent(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
}

// eventLog collects the events a watch delivers.
type eventLog struct {
	mu  sync.Mutex
	evs []Event
}

func (l *eventLog) add(ev Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.evs = append(l.evs, ev)
}

func (l *eventLog) get() []Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Event(nil), l.evs...)
}

// watch starts the Manager's event watch and returns what it delivers.
func watch(t *testing.T, e *simEnv) *eventLog {
	t.Helper()
	l := &eventLog{}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	e.mgr.WatchEvents(ctx, l.add)
	return l
}

func (l *eventLog) messages() []string {
	var out []string
	for _, ev := range l.get() {
		out = append(out, ev.Message)
	}
	return out
}

// datacenterOf is the event argument for the datacenter of the host, as vCenter sets it
// (vcsim formats the message of a host event with it).
func datacenterOf(r *simulator.Registry, h *simulator.HostSystem) *types.DatacenterEventArgument {
	for ref := h.Parent; ref != nil; {
		obj := r.Get(*ref)
		if dc, ok := obj.(*simulator.Datacenter); ok {
			return &types.DatacenterEventArgument{EntityEventArgument: types.EntityEventArgument{Name: dc.Name}, Datacenter: dc.Self}
		}
		ent, ok := obj.(mo.Entity)
		if !ok {
			break
		}
		ref = ent.Entity().Parent
	}
	return nil
}
