package strict

import (
	"sync"
	"time"

	"github.com/vmware/govmomi/cns"
	cnsmethods "github.com/vmware/govmomi/cns/methods"
	cnssim "github.com/vmware/govmomi/cns/simulator"
	cnstypes "github.com/vmware/govmomi/cns/types"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/types"
)

// CNS holds the Cloud Native Storage behaviours InstallCNS installed. govmomi v0.56.0's
// CNS simulator records attachments in a map and nothing else; this one attaches as
// vCenter does (docs/vcenter-behaviour.md, "Cloud Native Storage"):
//
//   - CnsAttachVolume adds a real virtual disk to the VM, backed by the volume's file,
//     with its own disk UUID, and answers that UUID per volume; each volume of a batch
//     succeeds or fails alone.
//   - A volume a VM already has is ResourceInUse (upstream's IsDiskAttached handles it); a
//     volume another VM has is ResourceInUse naming that VM, after a stall when that VM is
//     powered on (its disk file is locked); a disk CNS does not know is
//     CnsNotRegisteredFault; a missing VM is ManagedObjectNotFound. The simulator panics on
//     a missing VM and answers one task-level fault for the whole batch.
//   - CnsDetachVolume removes the device and keeps the file; a disk the VM does not have
//     is NotFound, a missing VM ManagedObjectNotFound.
//   - CnsDeleteVolume of a volume a VM has is ResourceInUse; delete or extend of a volume
//     with snapshots is refused; extend changes the disk's capacity, not only CNS's record.
type CNS struct {
	fcd *FCD
	mu  sync.Mutex
	// lockStall is how long an attach waits on a disk another powered-on VM holds
	// before it fails (vCenter retries the file lock before it gives up).
	lockStall time.Duration
	// attachTime is how long each attach task works before it changes anything.
	attachTime time.Duration
	// maxBatch, when set, refuses attach and detach batches larger than it with a
	// task-level InvalidArgument, as CNS releases that take one volume per call do.
	maxBatch int
}

var (
	cnsMu      sync.Mutex
	cnsPending = map[*simulator.Registry]*CNS{}
)

// The CNS endpoint is registered when the server starts (RegisterEndpoints). This one runs
// after cns/simulator's (the import orders the init functions) and replaces its volume
// manager: RegisterSDK copies a second registry's objects over the first's.
func init() {
	simulator.RegisterEndpoint(func(s *simulator.Service, r *simulator.Registry) {
		cnsMu.Lock()
		c := cnsPending[r]
		delete(cnsPending, r)
		cnsMu.Unlock()
		if c == nil {
			return
		}
		base, ok := cnssim.New().Get(cns.CnsVolumeManagerInstance).(*cnssim.CnsVolumeManager)
		if !ok {
			return
		}
		reg := simulator.NewRegistry()
		reg.Namespace, reg.Path = cns.Namespace, cns.Path
		mgr := &cnsManager{CnsVolumeManager: base, s: c}
		if c.fcd != nil {
			c.fcd.mu.Lock()
			c.fcd.relocated = mgr.relocated
			c.fcd.mu.Unlock()
		}
		reg.Put(mgr)
		s.RegisterSDK(reg)
	})
}

// InstallCNS makes the CNS endpoint of m's server strict. Call it after m.Create and
// InstallFCD, before the server starts (m.Service.RegisterEndpoints must be true).
func InstallCNS(m *simulator.Model, fcd *FCD) *CNS {
	c := &CNS{fcd: fcd, lockStall: 2 * time.Second}
	cnsMu.Lock()
	cnsPending[m.Map()] = c
	cnsMu.Unlock()
	return c
}

// SetLockStall sets how long an attach of a disk held by another powered-on VM stalls
// before it fails.
func (c *CNS) SetLockStall(d time.Duration) {
	c.mu.Lock()
	c.lockStall = d
	c.mu.Unlock()
}

// SetMaxBatch makes attach and detach refuse more than n volumes per call (0: any).
func (c *CNS) SetMaxBatch(n int) {
	c.mu.Lock()
	c.maxBatch = n
	c.mu.Unlock()
}

// SetAttachTime makes each attach task take d before it changes anything (while it holds
// the volume manager, as a running task does), so that a test can act while one runs.
func (c *CNS) SetAttachTime(d time.Duration) {
	c.mu.Lock()
	c.attachTime = d
	c.mu.Unlock()
}

func (c *CNS) settings() (time.Duration, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lockStall, c.maxBatch
}

func (c *CNS) attachDuration() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.attachTime
}

type cnsManager struct {
	*cnssim.CnsVolumeManager
	s *CNS
}

// registered reports whether CNS knows the volume. The caller runs in a CNS task, which
// holds the volume manager's lock.
func (m *cnsManager) registered(ctx *simulator.Context, id string) bool {
	body, ok := m.CnsVolumeManager.CnsQueryVolume(ctx, &cnstypes.CnsQueryVolume{
		This: m.Reference(), Filter: &cnstypes.CnsQueryFilter{VolumeIds: []cnstypes.CnsVolumeId{{Id: id}}},
	}).(*cnsmethods.CnsQueryVolumeBody)
	return ok && body.Res != nil && len(body.Res.Returnval.Volumes) > 0
}

// fcdOf finds a First Class Disk by ID in the vim25 context vctx.
func fcdOf(vctx *simulator.Context, id string) (types.ManagedObjectReference, *simulator.VStorageObject) {
	vsom := vctx.Map.VStorageObjectManager()
	var ds types.ManagedObjectReference
	var obj *simulator.VStorageObject
	vctx.WithLock(vsom, func() {
		for d, objs := range vsom.Catalog() {
			if o, ok := objs[types.ID{Id: id}]; ok {
				ds, obj = d, o
				return
			}
		}
	})
	return ds, obj
}

// holders lists the VMs that have a disk with the volume's ID among their devices.
func holders(vctx *simulator.Context, id string) []*simulator.VirtualMachine {
	var out []*simulator.VirtualMachine
	for _, e := range vctx.Map.All("VirtualMachine") {
		vm, ok := e.(*simulator.VirtualMachine)
		if !ok {
			continue
		}
		if deviceOf(vctx, vm, id) != nil {
			out = append(out, vm)
		}
	}
	return out
}

// deviceOf returns a copy of the VM's disk for the volume, or nil.
func deviceOf(vctx *simulator.Context, vm *simulator.VirtualMachine, id string) *types.VirtualDisk {
	var out *types.VirtualDisk
	vctx.WithLock(vm, func() {
		if vm.Config == nil {
			return
		}
		for _, d := range vm.Config.Hardware.Device {
			if disk, ok := d.(*types.VirtualDisk); ok && disk.VDiskId != nil && disk.VDiskId.Id == id {
				c := *disk
				out = &c
				return
			}
		}
	})
	return out
}

func poweredOn(vctx *simulator.Context, vm *simulator.VirtualMachine) bool {
	on := false
	vctx.WithLock(vm, func() { on = vm.Runtime.PowerState == types.VirtualMachinePowerStatePoweredOn })
	return on
}

func vmName(vctx *simulator.Context, vm *simulator.VirtualMachine) string {
	name := ""
	vctx.WithLock(vm, func() { name = vm.Name })
	return name
}
