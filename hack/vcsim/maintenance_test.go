package main

import (
	"context"
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/vmware/govmomi/event"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/session"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

func startModel(t *testing.T) (*simulator.Model, http.HandlerFunc, *vim25.Client) {
	t.Helper()
	m := simulator.VPX()
	if err := m.Create(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Remove)
	m.Service.TLS = new(tls.Config)
	s := m.Service.NewServer()
	t.Cleanup(s.Close)
	h := controlHandler(m)
	ctx := context.Background()
	c, err := vim25.NewClient(ctx, soap.NewClient(s.URL, true))
	if err != nil {
		t.Fatal(err)
	}
	if err := session.NewManager(c).Login(ctx, s.URL.User); err != nil {
		t.Fatal(err)
	}
	return m, h, c
}

func control(t *testing.T, h http.HandlerFunc, query string) string {
	t.Helper()
	rec := httptest.NewRecorder()
	h(rec, httptest.NewRequest(http.MethodPost, "/vcsim/host-maintenance?"+query, nil))
	if rec.Code >= 300 {
		t.Fatalf("%s: %d %s", query, rec.Code, rec.Body)
	}
	return rec.Body.String()
}

func hostState(t *testing.T, c *vim25.Client, task types.ManagedObjectReference) (inMaintenance bool, state types.TaskInfoState, evs []string) {
	t.Helper()
	ctx := context.Background()
	host, err := object.NewSearchIndex(c).FindByInventoryPath(ctx, "/DC0/host/DC0_H0/DC0_H0")
	if err != nil || host == nil {
		t.Fatalf("host: %v", err)
	}
	var h mo.HostSystem
	if err := object.NewCommon(c, host.Reference()).Properties(ctx, host.Reference(), []string{"runtime.inMaintenanceMode", "recentTask"}, &h); err != nil {
		t.Fatal(err)
	}
	var tk mo.Task
	if err := object.NewCommon(c, task).Properties(ctx, task, []string{"info"}, &tk); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range h.RecentTask {
		found = found || r == task
	}
	if !found {
		t.Errorf("task %s not in the host's recentTask %v", task, h.RecentTask)
	}
	all, err := event.NewManager(c).QueryEvents(ctx, types.EventFilterSpec{EventTypeId: []string{"EnteringMaintenanceModeEvent", "EnteredMaintenanceModeEvent"}})
	if err != nil {
		t.Fatal(err)
	}
	for i := len(all) - 1; i >= 0; i-- { // oldest first
		evs = append(evs, strings.TrimSuffix(typeName(all[i]), "ModeEvent"))
	}
	if tk.Info.DescriptionId != "HostSystem.enterMaintenanceMode" {
		t.Errorf("task descriptionId %q", tk.Info.DescriptionId)
	}
	return h.Runtime.InMaintenanceMode, tk.Info.State, evs
}

func typeName(e types.BaseEvent) string {
	switch e.(type) {
	case *types.EnteringMaintenanceModeEvent:
		return "EnteringMaintenanceModeEvent"
	case *types.EnteredMaintenanceModeEvent:
		return "EnteredMaintenanceModeEvent"
	}
	return "other"
}

func TestEnterSequence(t *testing.T) {
	_, h, c := startModel(t)
	ref := types.ManagedObjectReference{Type: "Task", Value: control(t, h, "host=DC0_H0&on=true&events=true&evacuation=1500ms")}
	in, state, evs := hostState(t, c, ref)
	if in || state != types.TaskInfoStateRunning || strings.Join(evs, ",") != "EnteringMaintenance" {
		t.Fatalf("while evacuating: inMaintenance %v task %s events %v", in, state, evs)
	}
	time.Sleep(2500 * time.Millisecond)
	in, state, evs = hostState(t, c, ref)
	if !in || state != types.TaskInfoStateSuccess || strings.Join(evs, ",") != "EnteringMaintenance,EnteredMaintenance" {
		t.Fatalf("after evacuation: inMaintenance %v task %s events %v", in, state, evs)
	}
}

func TestCancelledEnter(t *testing.T) {
	_, h, c := startModel(t)
	ref := types.ManagedObjectReference{Type: "Task", Value: control(t, h, "host=DC0_H0&on=true&events=true&evacuation=2s")}
	if err := object.NewTask(c, ref).Cancel(context.Background()); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second)
	in, state, evs := hostState(t, c, ref)
	if in || state != types.TaskInfoStateError || strings.Join(evs, ",") != "EnteringMaintenance" {
		t.Fatalf("after cancel: inMaintenance %v task %s events %v", in, state, evs)
	}
}

func TestClockOffset(t *testing.T) {
	m, _, c := startModel(t)
	rec := httptest.NewRecorder()
	m.Service.ServeMux.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/vcsim/clock?offset=-10m", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("clock: %d", rec.Code)
	}
	now, err := methods.GetCurrentTime(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if lag := time.Since(*now); lag < 9*time.Minute || lag > 11*time.Minute {
		t.Errorf("vCenter time %s is %s behind, want 10m", now, lag)
	}
}
