package provider

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	cloudprovider "k8s.io/cloud-provider"

	"github.com/vsphere-cloud/provider/pkg/vsphere"
	"github.com/vsphere-cloud/provider/pkg/vsphere/config"
)

// fakeInventory answers every lookup with one VM or one error.
type fakeInventory struct {
	vm   vsphere.VM
	err  error
	last vsphere.NodeQuery
	// syncs, when set, is what WaitSynced does: it returns the error and the lookup
	// error becomes syncedErr. Without it, WaitSynced returns at once.
	syncs     func(ctx context.Context) error
	syncedErr error
	waits     int
	lookups   int
}

func (f *fakeInventory) FindNodeVM(_ context.Context, q vsphere.NodeQuery) (vsphere.VM, error) {
	f.last = q
	f.lookups++
	return f.vm, f.err
}

// VMsByIP: no VM reports any address.
func (f *fakeInventory) VMsByIP(string) ([]vsphere.VM, error) { return nil, nil }

func (f *fakeInventory) WaitSynced(ctx context.Context) error {
	f.waits++
	if f.syncs == nil {
		return nil
	}
	if err := f.syncs(ctx); err != nil {
		return err
	}
	f.err = f.syncedErr
	return nil
}

func node(providerID, systemUUID string) *corev1.Node {
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: "n1"},
		Spec:       corev1.NodeSpec{ProviderID: providerID},
		Status:     corev1.NodeStatus{NodeInfo: corev1.NodeSystemInfo{SystemUUID: systemUUID}},
	}
}

func TestInstanceExistsNeverGuesses(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name       string
		err        error
		providerID string
		exists     bool
		wantErr    bool
	}{
		{"found", nil, "", true, false},
		{"proven gone", fmt.Errorf("x: %w", vsphere.ErrNotFound), "vsphere://4214c5e2-1111-2222-3333-444455556666", false, false},
		{"never matched to a VM", fmt.Errorf("x: %w", vsphere.ErrNotFound), "", false, true},
		{"vcenter down", fmt.Errorf("x: %w", vsphere.ErrUnavailable), "", false, true},
		{"ambiguous", fmt.Errorf("x: %w", vsphere.ErrAmbiguous), "", false, true},
		{"unauthorized", fmt.Errorf("x: %w", vsphere.ErrUnauthorized), "", false, true},
		{"foreign providerID", fmt.Errorf("x: %w", vsphere.ErrNotFound), "aws:///i-123", false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inv := &fakeInventory{vm: vsphere.VM{UUID: "u", Fresh: true}, err: tc.err}
			i, _ := New(&config.Config{}, inv).InstancesV2()
			exists, err := i.InstanceExists(ctx, node(tc.providerID, ""))
			if exists != tc.exists || (err != nil) != tc.wantErr {
				t.Errorf("InstanceExists = %v, %v; want %v, error %v", exists, err, tc.exists, tc.wantErr)
			}
		})
	}
}

func TestInstanceMetadataAndQuery(t *testing.T) {
	ctx := context.Background()
	inv := &fakeInventory{vm: vsphere.VM{
		VCenter: "a", UUID: "4214c5e2-1111-2222-3333-444455556666", NumCPU: 2, MemoryMB: 4096,
		GuestID: "otherLinux64Guest", Zone: "z1", Region: "r1",
		NICs:  []vsphere.NIC{{IPs: []string{"10.0.0.9", "fd00::9"}}},
		Fresh: true,
	}}
	cfg := &config.Config{VCenters: []config.VCenterConfig{{Name: "a", IPFamilies: []string{"ipv4", "ipv6"}}}}
	i, _ := New(cfg, inv).InstancesV2()
	md, err := i.InstanceMetadata(ctx, node("", "E2C51442-1111-2222-3333-444455556666"))
	if err != nil {
		t.Fatal(err)
	}
	if md.ProviderID != "vsphere://4214c5e2-1111-2222-3333-444455556666" || md.Zone != "z1" || md.Region != "r1" ||
		md.InstanceType != "vsphere-vm.cpu-2.mem-4gb.os-otherlinux64" || len(md.NodeAddresses) != 5 {
		t.Errorf("metadata = %+v", md)
	}
	if inv.last.SystemUUID == "" || inv.last.Name != "n1" || inv.last.ProviderUUID != "" {
		t.Errorf("query without providerID = %+v", inv.last)
	}
	_, _ = i.InstanceExists(ctx, node("vsphere://4214c5e2-1111-2222-3333-444455556666", "x"))
	if inv.last.ProviderUUID != "4214c5e2-1111-2222-3333-444455556666" || inv.last.SystemUUID != "" {
		t.Errorf("query with providerID = %+v", inv.last)
	}
	inv.err = fmt.Errorf("x: %w", vsphere.ErrNotFound)
	if _, err := i.InstanceMetadata(ctx, node("", "")); !errors.Is(err, cloudprovider.InstanceNotFound) {
		t.Errorf("not found: %v", err)
	}
}

func TestStaleCacheAnswersOnlyExistence(t *testing.T) {
	ctx := context.Background()
	inv := &fakeInventory{vm: vsphere.VM{UUID: "u", PowerState: vsphere.PoweredOff, Stale: fmt.Errorf("x: %w", vsphere.ErrUnavailable)}}
	i, _ := New(&config.Config{}, inv).InstancesV2()
	if ok, err := i.InstanceExists(ctx, node("", "")); !ok || err != nil {
		t.Errorf("InstanceExists on a stale cache = %v, %v; want true (it certainly existed)", ok, err)
	}
	if _, err := i.InstanceShutdown(ctx, node("", "")); !errors.Is(err, vsphere.ErrUnavailable) {
		t.Errorf("InstanceShutdown on a stale cache: %v, want ErrUnavailable", err)
	}
	if _, err := i.InstanceMetadata(ctx, node("", "")); !errors.Is(err, vsphere.ErrUnavailable) {
		t.Errorf("InstanceMetadata on a stale cache: %v, want ErrUnavailable", err)
	}
}

// Initialization waits for the first inventory read instead of failing into the node
// controller's back-off; existence and shutdown checks never wait.
func TestInitializationWaitsForTheFirstInventoryRead(t *testing.T) {
	ctx := context.Background()
	notRead := fmt.Errorf("x: %w", vsphere.ErrUnavailable)
	inv := &fakeInventory{vm: vsphere.VM{UUID: "4214c5e2-1111-2222-3333-444455556666", Fresh: true}, err: notRead,
		syncs: func(context.Context) error { return nil }}
	i, _ := New(&config.Config{}, inv).InstancesV2()
	if _, err := i.InstanceExists(ctx, node("", "x")); err == nil || inv.waits != 0 {
		t.Errorf("InstanceExists before the first read = %v after %d waits; want an error and no wait", err, inv.waits)
	}
	if _, err := i.InstanceShutdown(ctx, node("", "x")); err == nil || inv.waits != 0 {
		t.Errorf("InstanceShutdown before the first read = %v after %d waits; want an error and no wait", err, inv.waits)
	}
	md, err := i.InstanceMetadata(ctx, node("", "x"))
	if err != nil || md.ProviderID != "vsphere://4214c5e2-1111-2222-3333-444455556666" || inv.waits != 1 || inv.lookups != 4 {
		t.Errorf("InstanceMetadata = %+v, %v after %d waits and %d lookups; want the VM after one wait and a second lookup", md, err, inv.waits, inv.lookups)
	}

	// A vCenter that is never read: the wait ends (here at once) and the error stays.
	inv = &fakeInventory{err: notRead, syncedErr: notRead, syncs: func(context.Context) error { return notRead }}
	i, _ = New(&config.Config{}, inv).InstancesV2()
	if _, err := i.InstanceMetadata(ctx, node("", "x")); !errors.Is(err, vsphere.ErrUnavailable) || inv.lookups != 1 {
		t.Errorf("InstanceMetadata with an unread inventory = %v after %d lookups; want ErrUnavailable after one", err, inv.lookups)
	}
}

// TestInstanceShutdownNeedsAReachableVM: vCenter keeps the last power state of a VM it
// cannot reach (inaccessible files, disconnected host); that is not proof of a shutdown.
func TestInstanceShutdownNeedsAReachableVM(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name     string
		vm       vsphere.VM
		shutdown bool
		wantErr  bool
	}{
		{"off", vsphere.VM{PowerState: vsphere.PoweredOff, ConnectionState: "connected", Fresh: true}, true, false},
		{"on", vsphere.VM{PowerState: vsphere.PoweredOn, ConnectionState: "connected", Fresh: true}, false, false},
		{"inaccessible, last seen off", vsphere.VM{PowerState: vsphere.PoweredOff, ConnectionState: "inaccessible", Fresh: true}, false, true},
		{"config unreadable", vsphere.VM{PowerState: vsphere.PoweredOff, ConnectionState: "connected", ConfigUnreadable: true, Fresh: true}, false, true},
		{"orphaned", vsphere.VM{PowerState: vsphere.PoweredOff, ConnectionState: "orphaned", Fresh: true}, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			i, _ := New(&config.Config{}, &fakeInventory{vm: tc.vm}).InstancesV2()
			off, err := i.InstanceShutdown(ctx, node("vsphere://4214c5e2-1111-2222-3333-444455556666", ""))
			if off != tc.shutdown || (err != nil) != tc.wantErr {
				t.Errorf("InstanceShutdown = %v, %v; want %v, error %v", off, err, tc.shutdown, tc.wantErr)
			}
		})
	}
}

// A zone tag named like "Zone A" cannot be a label value: initialization fails with an
// error that names the tag and its category, not with the API server's rejection of a
// Node label.
func TestZoneTagThatIsNoLabelValue(t *testing.T) {
	inv := &fakeInventory{vm: vsphere.VM{VCenter: "a", Name: "worker-1", UUID: "4214c5e2-1111-2222-3333-444455556666", Zone: "Zone A", Fresh: true}}
	cfg := &config.Config{ZoneCategory: "k8s-zone", VCenters: []config.VCenterConfig{{Name: "a"}}}
	i, _ := New(cfg, inv).InstancesV2()
	_, err := i.InstanceMetadata(context.Background(), node("", "E2C51442-1111-2222-3333-444455556666"))
	if err == nil || !strings.Contains(err.Error(), `zone tag "Zone A" (category "k8s-zone")`) || !strings.Contains(err.Error(), "worker-1") {
		t.Fatalf("InstanceMetadata = %v, want an error naming the tag, its category and the VM", err)
	}
}
