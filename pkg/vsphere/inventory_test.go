package vsphere

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/vsphere-cloud/provider/pkg/biosuuid"

	"github.com/vmware/govmomi/simulator"

	"github.com/vsphere-cloud/provider/pkg/vsphere/config"
)

func TestFindNodeVMFollowsChanges(t *testing.T) {
	e := startSim(t, simulator.VPX(), nil)
	ctx := context.Background()
	c := simClient(t, e)
	vm := simVM(t, c, "/DC0/vm/DC0_H0_VM0")
	var uuid string
	uuid = vm.UUID(ctx)

	got, err := e.mgr.FindNodeVM(ctx, NodeQuery{SystemUUID: uuid})
	if err != nil {
		t.Fatalf("by UUID: %v", err)
	}
	if got.Name != "DC0_H0_VM0" || got.Datacenter != "DC0" || got.PowerState != PoweredOn || got.Host == "" || got.NumCPU == 0 {
		t.Errorf("VM = %+v", got)
	}
	if got.ResourcePool == "" || got.Folder != "vm" || len(got.Datastores) == 0 || got.Datastores[0] == "" ||
		got.HostConnection != "connected" || got.ToolsRunningStatus == "" {
		t.Errorf("placement = pool %q folder %q datastores %q host %q tools %q", got.ResourcePool, got.Folder, got.Datastores, got.HostConnection, got.ToolsRunningStatus)
	}
	swapped, _ := biosuuid.SwapByteOrder(uuid)
	if got, err := e.mgr.FindNodeVM(ctx, NodeQuery{SystemUUID: swapped}); err != nil || got.Name != "DC0_H0_VM0" {
		t.Errorf("by swapped UUID: %+v %v", got, err)
	}
	// Never seen in the inventory: not a match, and not proof of absence either.
	if _, err := e.mgr.FindNodeVM(ctx, NodeQuery{ProviderUUID: swapped}); !errors.Is(err, ErrUnavailable) || !errors.Is(err, ErrNoMatch) || errors.Is(err, ErrNotFound) {
		t.Errorf("providerID in the wrong byte order must not match, got %v", err)
	}
	if got, err := e.mgr.FindNodeVM(ctx, NodeQuery{Name: "dc0_h0_vm0"}); err != nil || got.UUID != uuid {
		t.Errorf("by name: %+v %v", got, err)
	}

	task, err := vm.PowerOff(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := task.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, func() bool {
		got, err := e.mgr.FindNodeVM(ctx, NodeQuery{SystemUUID: uuid})
		return err == nil && got.PowerState == PoweredOff
	})

	task, err = vm.Destroy(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := task.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, func() bool {
		_, err := e.mgr.FindNodeVM(ctx, NodeQuery{SystemUUID: uuid, Name: "DC0_H0_VM0"})
		return errors.Is(err, ErrNotFound)
	})
}

func TestAbsenceNeedsFreshCache(t *testing.T) {
	e := startSim(t, simulator.VPX(), nil)
	ctx := context.Background()
	if _, err := e.mgr.FindNodeVM(ctx, NodeQuery{Name: "no-such-vm"}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("fresh cache: got %v, want ErrNotFound", err)
	}
	e.server.Close() // vCenter goes away
	eventually(t, 15*time.Second, func() bool {
		_, err := e.mgr.FindNodeVM(ctx, NodeQuery{Name: "no-such-vm"})
		return errors.Is(err, ErrUnavailable)
	})
	// A VM the stale cache still holds is still found: existence is never denied.
	if _, err := e.mgr.FindNodeVM(ctx, NodeQuery{Name: "DC0_H0_VM1"}); err != nil {
		t.Errorf("stale cache lost a VM: %v", err)
	}
}

// TestOneDownVCenterDoesNotBlockAnother runs two simulators; the second one dies. Lookups
// of the first one's VMs keep working, and absence is no longer provable.
func TestOneDownVCenterDoesNotBlockAnother(t *testing.T) {
	a := startSim(t, simulator.VPX(), nil)
	b := startSim(t, simulator.VPX(), nil)
	mgr := twoVCenters(a, b)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	mgr.Start(ctx)
	uuid := simVM(t, simClient(t, a), "/DC0/vm/DC0_H0_VM0").UUID(ctx)
	// The simulator's UUIDs are deterministic: remove the twin from the second vCenter.
	twin := simVM(t, simClient(t, b), "/DC0/vm/DC0_H0_VM0")
	if task, err := twin.PowerOff(ctx); err == nil {
		_ = task.Wait(ctx)
	}
	if task, err := twin.Destroy(ctx); err != nil || task.Wait(ctx) != nil {
		t.Fatalf("destroying the twin: %v", err)
	}
	eventually(t, 10*time.Second, func() bool {
		st := mgr.Status()
		vms, _ := mgr.vcenters[1].lookup(lookupKey{kind: keyUUID, value: uuid})
		return st[0].Fresh && st[1].Fresh && len(vms) == 0
	})
	b.server.Close()
	eventually(t, 15*time.Second, func() bool { return !mgr.Status()[1].Fresh })
	start := time.Now()
	vm, err := mgr.FindNodeVM(ctx, NodeQuery{SystemUUID: uuid})
	if err != nil || vm.VCenter != "sim" || !vm.Fresh {
		t.Fatalf("lookup in the healthy vCenter: %+v, %v", vm, err)
	}
	if d := time.Since(start); d > 50*time.Millisecond {
		t.Errorf("lookup took %s; it must not wait for the dead vCenter", d)
	}
	if _, err := mgr.FindNodeVM(ctx, NodeQuery{Name: "nowhere"}); !errors.Is(err, ErrUnavailable) {
		t.Errorf("absence with one vCenter down: %v, want ErrUnavailable", err)
	}
}

func TestWaitSyncedNamesTheVCenterNotReadYet(t *testing.T) {
	a := startSim(t, simulator.VPX(), nil)
	b := startSim(t, simulator.VPX(), nil)
	b.server.Close() // never reachable for the manager below
	mgr := twoVCenters(a, b)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	wctx, wcancel := context.WithTimeout(ctx, 50*time.Millisecond)
	err := mgr.WaitSynced(wctx) // not started: nothing is read
	wcancel()
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "sim, sim-b") {
		t.Fatalf("WaitSynced before Start = %v; want ErrUnavailable naming sim and sim-b", err)
	}
	mgr.Start(ctx)
	wctx, wcancel = context.WithTimeout(ctx, 5*time.Second)
	err = mgr.WaitSynced(wctx)
	wcancel()
	if !errors.Is(err, ErrUnavailable) || strings.Contains(err.Error(), "sim,") || !strings.Contains(err.Error(), "sim-b") {
		t.Fatalf("WaitSynced with sim-b down = %v; want ErrUnavailable naming only sim-b", err)
	}
	if !mgr.Status()[0].Synced {
		t.Error("the reachable vCenter was not read")
	}
}

// twoVCenters is a manager, not started, of simulators a ("sim") and b ("sim-b"), with
// a's credentials (the simulators accept any).
func twoVCenters(a, b *simEnv) *Manager {
	cfg := *a.cfg
	cfg.VCenters = []config.VCenterConfig{a.cfg.VCenters[0], b.cfg.VCenters[0]}
	cfg.VCenters[1].Name = "sim-b"
	pw, _ := a.server.URL.User.Password()
	return NewManager(&cfg, staticCreds{Username: a.server.URL.User.Username(), Password: pw})
}
