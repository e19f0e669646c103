package strict

import (
	"reflect"
	"unsafe"

	cnssim "github.com/vmware/govmomi/cns/simulator"
	cnstypes "github.com/vmware/govmomi/cns/types"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/types"
)

type cnsVolumes = map[types.ManagedObjectReference]map[cnstypes.CnsVolumeId]*cnstypes.CnsVolume

// volumesOf reaches the CNS simulator's volume records, which it keeps per datastore in
// an unexported field and never moves: vCenter's CNS follows a disk that storage vMotion
// or Storage DRS moved. Reading the field is the only way to move a record; a govmomi
// release that renames it fails TestRelocateMovesTheCNSRecord, not silently.
func volumesOf(m *cnssim.CnsVolumeManager) (cnsVolumes, bool) {
	f := reflect.ValueOf(m).Elem().FieldByName("volumes")
	if !f.IsValid() || f.Type() != reflect.TypeOf(cnsVolumes(nil)) {
		return nil, false
	}
	return *(*cnsVolumes)(unsafe.Pointer(f.UnsafeAddr())), true
}

// relocated moves a volume's CNS record to the datastore its disk moved to.
func (m *cnsManager) relocated(ctx *simulator.Context, id string, from, to types.ManagedObjectReference, dst *simulator.Datastore) {
	vols, ok := volumesOf(m.CnsVolumeManager)
	if !ok {
		return
	}
	// CNS tasks hold the volume manager's lock in the vim25 registry while they run.
	ctx.WithLock(m.Reference(), func() {
		v := vols[from][cnstypes.CnsVolumeId{Id: id}]
		if v == nil {
			return
		}
		delete(vols[from], v.VolumeId)
		if vols[to] == nil {
			vols[to] = map[cnstypes.CnsVolumeId]*cnstypes.CnsVolume{}
		}
		v.DatastoreUrl = dst.Info.GetDatastoreInfo().Url
		vols[to][v.VolumeId] = v
	})
}
