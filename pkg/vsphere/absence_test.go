package vsphere

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/vsphere-cloud/provider/hack/vcsim/strict"
	"github.com/vsphere-cloud/provider/pkg/vsphere/config"
)

// neverNotFound fails the test if, over d, FindNodeVM answers ErrNotFound for q: the
// promise is that absence needs proof, so no moment may show "gone".
func neverNotFound(t *testing.T, m *Manager, q NodeQuery, d time.Duration) error {
	t.Helper()
	var last error
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		_, last = m.FindNodeVM(context.Background(), q)
		if errors.Is(last, ErrNotFound) {
			t.Fatalf("FindNodeVM(%+v) = %v: a VM that still exists reads as gone", q, last)
		}
	}
	return last
}

// startVisibilitySim is a VPX simulator with hidden and inaccessible VMs (installed before
// any session exists: each session keeps its own copy of the property collector).
func startVisibilitySim(t *testing.T) (*simEnv, *strict.Visibility) {
	t.Helper()
	model := simulator.VPX()
	if err := model.Create(); err != nil {
		t.Fatal(err)
	}
	vis := strict.InstallVisibility(model)
	return serveSim(t, model, nil), vis
}

// restart is a second Manager on the same simulator, as after a cloud-controller restart.
func (e *simEnv) restart(t *testing.T) *Manager {
	t.Helper()
	pw, _ := e.server.URL.User.Password()
	m := NewManager(e.cfg, staticCreds{Username: e.server.URL.User.Username(), Password: pw})
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	m.Start(ctx)
	if err := m.WaitSynced(ctx); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestInaccessibleVMIsNotGone(t *testing.T) {
	e, vis := startVisibilitySim(t)
	ctx := context.Background()
	uuid := simVM(t, simClient(t, e), "/DC0/vm/DC0_H0_VM0").UUID(ctx)
	q := NodeQuery{ProviderUUID: uuid, Name: "DC0_H0_VM0"}

	if err := vis.SetInaccessible("DC0_H0_VM0", true); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, func() bool {
		vm, err := e.mgr.FindNodeVM(ctx, q)
		if errors.Is(err, ErrNotFound) {
			t.Fatalf("inaccessible VM reads as gone: %v", err)
		}
		return err == nil && vm.ConfigUnreadable && vm.ConnectionState == "inaccessible"
	})

	// After a restart the UUID was never readable: no UUID lookup may prove absence while
	// such a VM exists.
	m2 := e.restart(t)
	err := neverNotFound(t, m2, q, time.Second)
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "configuration cannot be read") {
		t.Errorf("after restart = %v, want ErrUnavailable naming the unreadable VM", err)
	}

	if err := vis.SetInaccessible("DC0_H0_VM0", false); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, func() bool {
		vm, err := m2.FindNodeVM(ctx, q)
		return err == nil && !vm.ConfigUnreadable && vm.ConnectionState == "connected"
	})
}

func TestHiddenVMIsNotGone(t *testing.T) {
	e, vis := startVisibilitySim(t)
	ctx := context.Background()
	vm := simVM(t, simClient(t, e), "/DC0/vm/DC0_H0_VM0")
	uuid := vm.UUID(ctx)
	q := NodeQuery{ProviderUUID: uuid, Name: "DC0_H0_VM0"}

	if err := vis.Hide("DC0_H0_VM0"); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, func() bool {
		_, err := e.mgr.FindNodeVM(ctx, q)
		return err != nil
	})
	err := neverNotFound(t, e.mgr, q, 2*time.Second)
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "NoPermission") {
		t.Errorf("hidden VM = %v, want ErrUnavailable saying it is hidden", err)
	}

	// After a restart, the cluster's memory (NodeVM status) names the VM: still hidden.
	m2 := e.restart(t)
	m2.SetMemory(func(context.Context, string) []VMRef {
		return []VMRef{{VCenter: "sim", Ref: vm.Reference().Value, UUID: uuid}}
	})
	if err := neverNotFound(t, m2, q, time.Second); !errors.Is(err, ErrUnavailable) {
		t.Errorf("hidden VM after restart = %v, want ErrUnavailable", err)
	}

	vis.Show()
	eventually(t, 5*time.Second, func() bool {
		_, err := e.mgr.FindNodeVM(ctx, q)
		return err == nil
	})
}

func TestDestroyedVMIsProvenGone(t *testing.T) {
	e := startSim(t, simulator.VPX(), nil)
	ctx := context.Background()
	c := simClient(t, e)
	vm := simVM(t, c, "/DC0/vm/DC0_H0_VM1")
	uuid := vm.UUID(ctx)
	ref := vm.Reference().Value
	q := NodeQuery{ProviderUUID: uuid, Name: "DC0_H0_VM1"}

	// A restarted Manager that never saw the VM: with no memory of it, unknown.
	m2 := e.restart(t)
	if task, err := vm.PowerOff(ctx); err == nil {
		_ = task.Wait(ctx)
	}
	task, err := vm.Destroy(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := task.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	// The Manager that watched the VM leave proves it gone by asking vCenter.
	var last error
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("last answer: %v", last)
		}
	})
	eventually(t, 10*time.Second, func() bool {
		_, last = e.mgr.FindNodeVM(ctx, q)
		return errors.Is(last, ErrNotFound)
	})

	m3 := e.restart(t)
	if err := neverNotFound(t, m3, q, 500*time.Millisecond); !errors.Is(err, ErrUnavailable) {
		t.Errorf("no memory of the VM = %v, want ErrUnavailable", err)
	}
	m3.SetMemory(func(context.Context, string) []VMRef { return []VMRef{{VCenter: "sim", Ref: ref, UUID: uuid}} })
	eventually(t, 5*time.Second, func() bool {
		_, err := m3.FindNodeVM(ctx, q)
		return errors.Is(err, ErrNotFound)
	})
	_ = m2
}

func TestMalformedProviderIDIsNotGone(t *testing.T) {
	e := startSim(t, simulator.VPX(), nil)
	_, err := e.mgr.FindNodeVM(context.Background(), NodeQuery{ProviderUUID: "vm-42", Name: "n1"})
	if err == nil || errors.Is(err, ErrNotFound) {
		t.Errorf("providerID vsphere://vm-42 = %v, want an error that is not ErrNotFound", err)
	}
}

func TestMissingDatacenterIsNotProofOfAbsence(t *testing.T) {
	e := startSim(t, simulator.VPX(), nil)
	cfg := *e.cfg
	cfg.VCenters = []config.VCenterConfig{e.cfg.VCenters[0]}
	cfg.VCenters[0].Datacenters = []string{"DC0", "DC-renamed"}
	pw, _ := e.server.URL.User.Password()
	m := NewManager(&cfg, staticCreds{Username: e.server.URL.User.Username(), Password: pw})
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	m.Start(ctx)
	eventually(t, 5*time.Second, func() bool { return m.Status()[0].LastError != nil })
	q := NodeQuery{ProviderUUID: "4206a3bb-0000-0000-0000-000000000001", Name: "n1"}
	if err := neverNotFound(t, m, q, 300*time.Millisecond); !errors.Is(err, ErrUnavailable) {
		t.Errorf("with a configured datacenter missing = %v, want ErrUnavailable", err)
	}
}

// TestDestroyedCloneDoesNotProveTheNodesVMGone: a clone with the node VM's BIOS UUID is
// destroyed (its departure is proven) while the node's own VM, which the cluster remembers,
// is hidden: the remembered VM must still be asked about, and it answers NoPermission.
func TestDestroyedCloneDoesNotProveTheNodesVMGone(t *testing.T) {
	e, vis := startVisibilitySim(t)
	ctx := context.Background()
	c := simClient(t, e)
	node := simVM(t, c, "/DC0/vm/DC0_H0_VM0")
	uuid := node.UUID(ctx)
	clone := simVM(t, c, "/DC0/vm/DC0_H0_VM1")
	sctx := e.model.Service.Context
	cloneObj := sctx.Map.Get(clone.Reference())
	sctx.WithLock(cloneObj, func() {
		sctx.Map.Update(sctx, cloneObj, []types.PropertyChange{{Name: "config.uuid", Val: uuid}})
	})
	if err := vis.Hide("DC0_H0_VM0"); err != nil {
		t.Fatal(err)
	}
	m := e.restart(t) // never saw the node's VM
	m.SetMemory(func(context.Context, string) []VMRef {
		return []VMRef{{VCenter: "sim", Ref: node.Reference().Value, UUID: uuid}}
	})
	if task, err := clone.PowerOff(ctx); err == nil {
		_ = task.Wait(ctx)
	}
	task, err := clone.Destroy(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := task.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	q := NodeQuery{ProviderUUID: uuid, Name: "DC0_H0_VM0"}
	if err := neverNotFound(t, m, q, 3*time.Second); !errors.Is(err, ErrUnavailable) {
		t.Errorf("= %v, want ErrUnavailable", err)
	}
}

func TestDeparturesArePruned(t *testing.T) {
	d := newDepartures()
	d.add("u1", "vm-1")
	d.byUUID["u1"]["vm-1"].added = time.Now().Add(-departureTTL - time.Minute)
	d.add("u2", "vm-2")
	d.pruneLocked(time.Now())
	if _, ok := d.byUUID["u1"]; ok {
		t.Error("an old departure was kept")
	}
	if _, ok := d.byUUID["u2"]; !ok {
		t.Error("a recent departure was dropped")
	}
}

// A question vCenter did not answer (the connection was lost) is asked again soon, so
// that the proof follows an outage within seconds; an answer that the VM is still there
// stands for the recheck period.
func TestUnansweredDepartureIsAskedAgainSoon(t *testing.T) {
	d := newDepartures()
	d.add("u1", "vm-1")
	d.add("u2", "vm-2")
	var mu sync.Mutex
	asked := map[string]int{}
	check := func(_ context.Context, ref string) error {
		mu.Lock()
		defer mu.Unlock()
		asked[ref]++
		if ref == "vm-2" {
			return fmt.Errorf("%w: %w: hidden", ErrUnavailable, errVMAnswered)
		}
		if asked[ref] == 1 {
			return fmt.Errorf("%w: asking about %s: EOF", ErrUnavailable, ref)
		}
		return nil
	}
	ctx := context.Background()
	verdict := func(uuid string) error {
		_, err := d.verdict(ctx, uuid, nil, check)
		return err
	}
	_, _ = verdict("u1"), verdict("u2")
	deadline := time.Now().Add(5 * time.Second)
	for verdict("u1") != nil {
		if time.Now().After(deadline) {
			t.Fatalf("the VM was not proven gone 5s after an unanswered question")
		}
		time.Sleep(50 * time.Millisecond)
	}
	_ = verdict("u2")
	mu.Lock()
	defer mu.Unlock()
	if asked["vm-2"] != 1 {
		t.Errorf("vCenter was asked %d times about a hidden VM within seconds, want once (its answer stands for %s)", asked["vm-2"], d.recheck)
	}
}
