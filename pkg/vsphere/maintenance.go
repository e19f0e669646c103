package vsphere

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/types"
	"k8s.io/klog/v2"
)

// A host is "entering maintenance mode" while its EnterMaintenanceMode task runs:
// vSphere sets runtime.inMaintenanceMode only once the host has entered ("it is not set
// during the entering phase"), so the state between is read from the task, the way the
// API reference says a ManagedEntity's recentTask deduces intermediate states.
// EnteringMaintenanceModeEvent marks a host at once; the mark is then checked against
// vCenter every recheck period while any host is marked, and dropped when the host is in
// maintenance mode or when no enter task is queued or running on it any more (entered,
// failed, timed out or cancelled), whatever events were or were not seen.

// taskEnterMaintenance is the descriptionId of HostSystem.EnterMaintenanceMode_Task.
const taskEnterMaintenance = "HostSystem.enterMaintenanceMode"

// maxEnteringRecheck bounds how long a mark may outlive its task; the recheck period is
// inventory.maxWait when that is shorter.
const maxEnteringRecheck = 10 * time.Second

// enteringHosts are the marks of the hosts (by ref) entering maintenance mode: set by
// EnteringMaintenanceModeEvent or a running enter task, cleared by the Entered or Exit
// event and by reconcileEntering. The event watch writes them; lookups read them. The zero
// value has no marks.
type enteringHosts struct {
	mu    sync.RWMutex
	hosts map[string]bool
}

// set sets or clears the marks of the given hosts and returns the hosts whose mark
// changed.
func (e *enteringHosts) set(marks map[string]bool) []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var changed []string
	for ref, on := range marks {
		if ref == "" || e.hosts[ref] == on {
			continue
		}
		if on {
			if e.hosts == nil {
				e.hosts = map[string]bool{}
			}
			e.hosts[ref] = true
		} else {
			delete(e.hosts, ref)
		}
		changed = append(changed, ref)
	}
	return changed
}

// has reports whether the host ref is marked.
func (e *enteringHosts) has(ref string) bool {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.hosts[ref]
}

// any reports whether some host is marked.
func (e *enteringHosts) any() bool {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return len(e.hosts) > 0
}

// list returns the marked hosts.
func (e *enteringHosts) list() []string {
	e.mu.RLock()
	defer e.mu.RUnlock()
	hosts := make([]string, 0, len(e.hosts))
	for ref := range e.hosts {
		hosts = append(hosts, ref)
	}
	return hosts
}

// noteHostEvent applies an event to the "entering maintenance" marks.
func (w *eventWatch) noteHostEvent(ev Event) {
	switch ev.Type {
	case EventEnteringMaintenance:
		w.setEntering(map[string]bool{ev.HostRef: true})
	case EventEnteredMaintenance, EventExitMaintenance:
		w.setEntering(map[string]bool{ev.HostRef: false})
	}
}

// setEntering sets or clears the marks of the given hosts and tells the change listener
// about the hosts whose mark changed.
func (w *eventWatch) setEntering(marks map[string]bool) {
	changed := w.entering.set(marks)
	if notify := w.changes.get(); len(changed) > 0 && notify != nil {
		go notify(Change{VCenter: w.vcenter, Hosts: changed})
	}
}

// seedEntering marks the hosts that have an enter-maintenance task queued or running,
// from TaskManager.recentTask: after a restart or a reconnect, a host already entering
// maintenance is known without its EnteringMaintenanceModeEvent.
func (w *eventWatch) seedEntering(ctx context.Context, client *vim25.Client) error {
	if client.ServiceContent.TaskManager == nil {
		return nil
	}
	tasks, err := enterTasks(ctx, client, *client.ServiceContent.TaskManager, "TaskManager")
	if err != nil {
		return err
	}
	marks := map[string]bool{}
	for _, t := range tasks {
		if t.running {
			marks[t.host] = true
		}
	}
	w.setEntering(marks)
	return nil
}

// reconcileEntering checks every marked host against vCenter and drops the marks of
// hosts that are in maintenance mode, gone, or have no enter task queued or running.
func (w *eventWatch) reconcileEntering(ctx context.Context, client *vim25.Client) error {
	log := klog.FromContext(ctx)
	marks := map[string]bool{}
	for _, ref := range w.entering.list() {
		entering, err := hostEntering(ctx, client, types.ManagedObjectReference{Type: "HostSystem", Value: ref})
		if err != nil {
			return err
		}
		if !entering {
			log.V(2).Info("Host is no longer entering maintenance mode", "host", ref)
			marks[ref] = false
		}
	}
	w.setEntering(marks)
	return nil
}

// hostEntering reports whether host is out of maintenance mode with an enter task
// queued or running. A host that no longer exists is not entering.
func hostEntering(ctx context.Context, client *vim25.Client, host types.ManagedObjectReference) (bool, error) {
	res, err := property.DefaultCollector(client).RetrieveProperties(ctx, types.RetrieveProperties{SpecSet: []types.PropertyFilterSpec{{
		ObjectSet: []types.ObjectSpec{{Obj: host}},
		PropSet:   []types.PropertySpec{{Type: "HostSystem", PathSet: []string{"runtime.inMaintenanceMode"}}},
	}}})
	if err != nil {
		if err = classify(err); errors.Is(err, ErrNotFound) {
			return false, nil
		}
		return false, fmt.Errorf("reading maintenance mode of host %s: %w", host.Value, err)
	}
	for _, oc := range res.Returnval {
		for _, p := range oc.PropSet {
			if in, _ := p.Val.(bool); p.Name == "runtime.inMaintenanceMode" && in {
				return false, nil
			}
		}
	}
	tasks, err := enterTasks(ctx, client, host, "HostSystem")
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return false, nil
		}
		return false, err
	}
	for _, t := range tasks {
		if t.running && t.host == host.Value {
			return true, nil
		}
	}
	return false, nil
}

type enterTask struct {
	host    string
	running bool
}

// enterTasks reads the enter-maintenance tasks among the recentTask of obj (a host or
// the TaskManager). recentTask is read with RetrieveProperties rather than watched: the
// API reference warns that vCenter may not publish updates of it.
func enterTasks(ctx context.Context, client *vim25.Client, obj types.ManagedObjectReference, typ string) ([]enterTask, error) {
	res, err := property.DefaultCollector(client).RetrieveProperties(ctx, types.RetrieveProperties{SpecSet: []types.PropertyFilterSpec{{
		ObjectSet: []types.ObjectSpec{{Obj: obj, Skip: types.NewBool(true), SelectSet: []types.BaseSelectionSpec{
			&types.TraversalSpec{Type: typ, Path: "recentTask", Skip: types.NewBool(false)},
		}}},
		PropSet: []types.PropertySpec{{Type: "Task", PathSet: []string{"info.descriptionId", "info.state", "info.entity"}}},
	}}})
	if err != nil {
		return nil, fmt.Errorf("reading recent tasks of %s %s: %w", typ, obj.Value, classify(err))
	}
	var out []enterTask
	for _, oc := range res.Returnval {
		var t enterTask
		enter := false
		for _, p := range oc.PropSet {
			switch v := p.Val.(type) {
			case string:
				enter = enter || (p.Name == "info.descriptionId" && v == taskEnterMaintenance)
			case types.TaskInfoState:
				t.running = v == types.TaskInfoStateQueued || v == types.TaskInfoStateRunning
			case types.ManagedObjectReference:
				if v.Type == "HostSystem" {
					t.host = v.Value
				}
			}
		}
		if enter && t.host != "" {
			out = append(out, t)
		}
	}
	return out, nil
}
