package vsphere

import (
	"context"
	"testing"
	"time"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/types"

	"k8s.io/component-base/metrics/legacyregistry"

	"github.com/vsphere-cloud/provider/pkg/vsphere/config"
)

// shortCalls makes every vCenter call time out after one second, so a wait without a
// server-side limit would be cut at once.
func shortCalls(cfg *config.Config) {
	cfg.Inventory.MaxWait, cfg.Inventory.CallTimeout = time.Second, time.Second
}

func simHost(t *testing.T, e *simEnv, name string) *simulator.HostSystem {
	t.Helper()
	for _, ref := range e.model.Map().AllReference("HostSystem") {
		if h, ok := ref.(*simulator.HostSystem); ok && h.Name == name {
			return h
		}
	}
	t.Fatalf("no host %s", name)
	return nil
}

func waitEvents(t *testing.T, l *eventLog, n int, d time.Duration) []Event {
	t.Helper()
	deadline := time.Now().Add(d)
	for len(l.get()) < n && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	got := l.get()
	if len(got) < n {
		t.Fatalf("got %d events within %s, want %d: %+v", len(got), d, n, got)
	}
	return got
}

// collectorsCreated is how many event collectors all Managers of this process created.
func collectorsCreated(t *testing.T) float64 {
	t.Helper()
	families, err := legacyregistry.DefaultGatherer.Gather()
	if err != nil {
		t.Fatal(err)
	}
	n := 0.0
	for _, f := range families {
		if f.GetName() != "vsphere_cloud_vcenter_requests_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "method" && l.GetValue() == "CreateCollectorForEvents" {
					n += m.GetCounter().GetValue()
				}
			}
		}
	}
	return n
}

func TestEventsAfterQuietPeriodLongerThanCallDeadline(t *testing.T) {
	e := startSim(t, simulator.VPX(), shortCalls)
	c := simClient(t, e)
	h := simHost(t, e, "DC0_H0")
	l := watch(t, e)
	eventually(t, 5*time.Second, func() bool { return collectorsCreated(t) > 0 })
	created := collectorsCreated(t)
	for i := range 2 {
		time.Sleep(4 * time.Second) // four call deadlines without an event
		postHostEvent(t, e, c, h, &types.HostConnectionLostEvent{})
		waitEvents(t, l, i+1, 3*time.Second)
	}
	time.Sleep(2 * time.Second) // a few more waits: no duplicate
	if got := l.get(); len(got) != 2 || got[0].Type != EventHostConnectionLost || got[0].HostRef != h.Self.Value {
		t.Errorf("events = %+v, want two %s", got, EventHostConnectionLost)
	}
	if n := collectorsCreated(t) - created; n != 0 {
		t.Errorf("the event watch restarted %v times during quiet periods", n)
	}
}

func TestEventsWithVCenterClockBehind(t *testing.T) {
	e := startSim(t, simulator.VPX(), shortCalls)
	skewClock(e, -10*time.Minute)
	c := simClient(t, e)
	h := simHost(t, e, "DC0_H0")
	l := watch(t, e)
	time.Sleep(500 * time.Millisecond)
	postHostEvent(t, e, c, h, &types.HostConnectionLostEvent{})
	got := waitEvents(t, l, 1, 3*time.Second)
	if lag := time.Since(got[0].Time); lag < 9*time.Minute {
		t.Errorf("event time %s is not on the simulated vCenter clock (lag %s)", got[0].Time, lag)
	}
}

func TestEventsWithVCenterClockAheadDoNotReplayHistory(t *testing.T) {
	e := startSim(t, simulator.VPX(), shortCalls)
	skewClock(e, 10*time.Minute)
	c := simClient(t, e)
	h := simHost(t, e, "DC0_H0")
	postHostEvent(t, e, c, h, &types.ExitMaintenanceModeEvent{}) // before the watch: history
	time.Sleep(100 * time.Millisecond)
	l := watch(t, e)
	time.Sleep(time.Second)
	postHostEvent(t, e, c, h, &types.HostConnectionLostEvent{})
	waitEvents(t, l, 1, 3*time.Second)
	time.Sleep(time.Second)
	if got := l.get(); len(got) != 1 || got[0].Type != EventHostConnectionLost {
		t.Errorf("events = %+v, want only the %s posted after the watch started", got, EventHostConnectionLost)
	}
}

func TestEventsInOneBatchOldestFirst(t *testing.T) {
	model := simulator.VPX()
	// The collector is created 1.5s after the watch asks for it; both events are posted
	// meanwhile, so they reach the watch together, as vCenter's property collector
	// reports several events in one latestPage change.
	model.DelayConfig.MethodDelay = map[string]int{"CreateCollectorForEvents": 1500}
	e := startSim(t, model, nil)
	c := simClient(t, e)
	h := simHost(t, e, "DC0_H0")
	l := watch(t, e)
	time.Sleep(500 * time.Millisecond)
	postHostEvent(t, e, c, h, &types.HostConnectionLostEvent{})
	postHostEvent(t, e, c, h, &types.ExitMaintenanceModeEvent{})
	got := waitEvents(t, l, 2, 5*time.Second)
	if got[0].Type != EventHostConnectionLost || got[1].Type != EventExitMaintenance {
		t.Errorf("events in order %s, %s; want %s, %s", got[0].Type, got[1].Type, EventHostConnectionLost, EventExitMaintenance)
	}
}

// enteringOf reports VM.HostEnteringMaintenance and VM.HostInMaintenance of the VM.
func enteringOf(t *testing.T, e *simEnv, uuid string) (entering, in bool) {
	t.Helper()
	vm, err := e.mgr.FindNodeVM(context.Background(), NodeQuery{SystemUUID: uuid})
	if err != nil {
		t.Fatal(err)
	}
	return vm.HostEnteringMaintenance, vm.HostInMaintenance
}

func maintenanceEnv(t *testing.T) (*simEnv, string, string) {
	t.Helper()
	e := startSim(t, simulator.VPX(), nil) // maxWait 1s: the entering mark is rechecked every second
	c := simClient(t, e)
	uuid := simVM(t, c, "/DC0/vm/DC0_H0_VM0").UUID(context.Background())
	vm, err := e.mgr.FindNodeVM(context.Background(), NodeQuery{SystemUUID: uuid})
	if err != nil {
		t.Fatal(err)
	}
	return e, uuid, vm.HostRef
}

func TestCancelledEnterMaintenanceClearsEnteringMark(t *testing.T) {
	e, uuid, hostRef := maintenanceEnv(t)
	c := simClient(t, e)
	watch(t, e)
	time.Sleep(500 * time.Millisecond)
	task := beginEnterMaintenance(t, e, c, hostRef)
	eventually(t, 3*time.Second, func() bool { on, _ := enteringOf(t, e, uuid); return on })
	// Stays marked while the task runs (evacuation takes time).
	time.Sleep(2500 * time.Millisecond)
	if on, _ := enteringOf(t, e, uuid); !on {
		t.Fatal("entering mark dropped while the enter task is still running")
	}
	if err := object.NewTask(c, task.Self).Cancel(context.Background()); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, func() bool { on, _ := enteringOf(t, e, uuid); return !on })
}

func TestEnterMaintenanceSequence(t *testing.T) {
	e, uuid, hostRef := maintenanceEnv(t)
	c := simClient(t, e)
	l := watch(t, e)
	time.Sleep(500 * time.Millisecond)
	task := beginEnterMaintenance(t, e, c, hostRef)
	eventually(t, 3*time.Second, func() bool { on, _ := enteringOf(t, e, uuid); return on })
	finishEnterMaintenance(t, e, c, task, false)
	eventually(t, 5*time.Second, func() bool { on, in := enteringOf(t, e, uuid); return !on && in })
	got := waitEvents(t, l, 2, 3*time.Second)
	if got[0].Type != EventEnteringMaintenance || got[1].Type != EventEnteredMaintenance {
		t.Errorf("events %s, %s", got[0].Type, got[1].Type)
	}
}

func TestMissedEnteredEventDoesNotMarkHostAfterExit(t *testing.T) {
	e, uuid, hostRef := maintenanceEnv(t)
	c := simClient(t, e)
	watch(t, e)
	time.Sleep(500 * time.Millisecond)
	task := beginEnterMaintenance(t, e, c, hostRef)
	eventually(t, 3*time.Second, func() bool { on, _ := enteringOf(t, e, uuid); return on })
	finishEnterMaintenance(t, e, c, task, true) // EnteredMaintenanceModeEvent lost
	eventually(t, 3*time.Second, func() bool { _, in := enteringOf(t, e, uuid); return in })
	time.Sleep(2 * time.Second)
	h := e.model.Map().Get(types.ManagedObjectReference{Type: "HostSystem", Value: hostRef}).(*simulator.HostSystem)
	setHostMaintenance(e, h, false) // exit, its event lost too
	eventually(t, 3*time.Second, func() bool { _, in := enteringOf(t, e, uuid); return !in })
	time.Sleep(time.Second)
	if on, _ := enteringOf(t, e, uuid); on {
		t.Error("host marked entering maintenance after it entered and left it")
	}
}

func TestWatchStartsWhileHostEntersMaintenance(t *testing.T) {
	e, uuid, hostRef := maintenanceEnv(t)
	c := simClient(t, e)
	beginEnterMaintenance(t, e, c, hostRef) // before the watch: its event is history
	time.Sleep(100 * time.Millisecond)
	watch(t, e)
	eventually(t, 3*time.Second, func() bool { on, _ := enteringOf(t, e, uuid); return on })
}
