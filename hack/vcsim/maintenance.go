package main

import (
	"context"
	"fmt"
	"log"
	"sync/atomic"
	"time"

	"github.com/vmware/govmomi/event"
	"github.com/vmware/govmomi/session"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// vCenter enters maintenance mode in steps: EnterMaintenanceMode_Task starts (a running,
// cancelable task in the host's recentTask), EnteringMaintenanceModeEvent is posted, DRS
// evacuates the host (minutes on a real cluster), then runtime.inMaintenanceMode is set
// and EnteredMaintenanceModeEvent posted, and the task succeeds. When the task is
// cancelled during evacuation the flag is never set and no Entered event comes; the task
// ends in error with RequestCanceled. vcsim's EnterMaintenanceMode_Task sets the flag at
// once, publishes nothing and posts no event. sequencer plays vCenter's steps.

// sequencer runs maintenance sequences on the simulator.
type sequencer struct {
	m   *simulator.Model
	seq atomic.Int64
}

// enter starts the enter sequence on host and returns its task; the flag is set after
// evacuation unless the task is cancelled first.
func (s *sequencer) enter(host *simulator.HostSystem, evacuation time.Duration) (types.ManagedObjectReference, error) {
	ctx := context.Background()
	c, err := s.client(ctx)
	if err != nil {
		return types.ManagedObjectReference{}, err
	}
	task := simulator.CreateTask(host, "enterMaintenanceModeTask", nil)
	task.Self = types.ManagedObjectReference{Type: "Task", Value: fmt.Sprintf("task-mm%d", s.seq.Add(1))}
	task.Info.Key, task.Info.Task, task.Info.Cancelable = task.Self.Value, task.Self, true
	task.Info.State, task.Info.StartTime = types.TaskInfoStateRunning, types.NewTime(time.Now())
	s.m.Map().Put(task) // the TaskManager adds it to the host's and its own recentTask
	if err := s.post(ctx, c, host, &types.EnteringMaintenanceModeEvent{}, "is entering maintenance mode"); err != nil {
		return types.ManagedObjectReference{}, err
	}
	go func() {
		defer func() { _ = session.NewManager(c).Logout(context.Background()) }()
		deadline := time.Now().Add(evacuation)
		for time.Now().Before(deadline) {
			if s.taskDone(task) { // cancelled through CancelTask: no flag, no Entered event
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
		if s.taskDone(task) {
			return
		}
		s.m.Map().AtomicUpdate(s.m.Service.Context, host, []types.PropertyChange{{Name: "runtime.inMaintenanceMode", Val: true}})
		if err := s.post(ctx, c, host, &types.EnteredMaintenanceModeEvent{}, "has entered maintenance mode"); err != nil {
			log.Printf("vcsim: posting EnteredMaintenanceModeEvent: %v", err)
		}
		s.m.Map().AtomicUpdate(s.m.Service.Context, task, []types.PropertyChange{
			{Name: "info.state", Val: types.TaskInfoStateSuccess},
			{Name: "info.completeTime", Val: time.Now()},
		})
	}()
	return task.Self, nil
}

// exit leaves maintenance mode as vCenter reports it: the flag, then ExitMaintenanceModeEvent.
func (s *sequencer) exit(host *simulator.HostSystem) error {
	ctx := context.Background()
	c, err := s.client(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = session.NewManager(c).Logout(ctx) }()
	s.m.Map().AtomicUpdate(s.m.Service.Context, host, []types.PropertyChange{{Name: "runtime.inMaintenanceMode", Val: false}})
	return s.post(ctx, c, host, &types.ExitMaintenanceModeEvent{}, "has exited maintenance mode")
}

func (s *sequencer) taskDone(task *simulator.Task) bool {
	done := false
	s.m.Map().WithLock(&simulator.Context{}, task, func() {
		done = task.Info.State == types.TaskInfoStateSuccess || task.Info.State == types.TaskInfoStateError
	})
	return done
}

// client logs in to the simulator itself: events are posted through the API, as vCenter's
// own services post theirs, so they reach every event collector.
func (s *sequencer) client(ctx context.Context) (*vim25.Client, error) {
	u := *s.m.Service.Listen
	c, err := vim25.NewClient(ctx, soap.NewClient(&u, true))
	if err != nil {
		return nil, err
	}
	if err := session.NewManager(c).Login(ctx, u.User); err != nil {
		return nil, err
	}
	return c, nil
}

func (s *sequencer) post(ctx context.Context, c *vim25.Client, host *simulator.HostSystem, ev types.BaseEvent, what string) error {
	e := ev.GetEvent()
	e.Host = &types.HostEventArgument{EntityEventArgument: types.EntityEventArgument{Name: host.Name}, Host: host.Self}
	e.FullFormattedMessage = "Host " + host.Name + " " + what
	for ref := host.Parent; ref != nil; { // vCenter names the datacenter in host events
		obj := s.m.Map().Get(*ref)
		if dc, ok := obj.(*simulator.Datacenter); ok {
			e.Datacenter = &types.DatacenterEventArgument{EntityEventArgument: types.EntityEventArgument{Name: dc.Name}, Datacenter: dc.Self}
			break
		}
		ent, ok := obj.(mo.Entity)
		if !ok {
			break
		}
		ref = ent.Entity().Parent
	}
	return event.NewManager(c).PostEvent(ctx, ev)
}
