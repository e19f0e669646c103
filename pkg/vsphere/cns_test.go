package vsphere

import (
	"context"
	"strings"
	"testing"

	"github.com/vmware/govmomi/cns"
	cnstypes "github.com/vmware/govmomi/cns/types"
)

// cnsVolumes asks the simulator's CNS, as the vSphere administrator's Container Volumes
// view would, for the volumes with these IDs.
func cnsVolumes(t *testing.T, e *simEnv, ids ...string) []cnstypes.CnsVolume {
	t.Helper()
	ctx := context.Background()
	c, err := cns.NewClient(ctx, simClient(t, e))
	if err != nil {
		t.Fatal(err)
	}
	var vids []cnstypes.CnsVolumeId
	for _, id := range ids {
		vids = append(vids, cnstypes.CnsVolumeId{Id: id})
	}
	res, err := c.QueryVolume(ctx, &cnstypes.CnsQueryFilter{VolumeIds: vids})
	if err != nil {
		t.Fatal(err)
	}
	return res.Volumes
}

// Volumes are made and deleted through Cloud Native Storage: vCenter knows them as block
// volumes of our container cluster, the disk file is where vCenter put it (no path was
// given: vCenter refuses one), a restore from a snapshot is registered too, and a delete
// removes volume and disk.
func TestVolumesAreCNSVolumes(t *testing.T) {
	env, ds := diskEnv(t)
	ctx := context.Background()
	d, err := env.mgr.CreateDisk(ctx, DiskSpec{Name: "pvc-cns", Datastore: ds, CapacityMiB: 16})
	if err != nil {
		t.Fatal(err)
	}
	vols := cnsVolumes(t, env, d.ID)
	if len(vols) != 1 {
		t.Fatalf("CNS knows %d volumes with ID %s, want 1", len(vols), d.ID)
	}
	v := vols[0]
	if v.Name != "pvc-cns" || v.VolumeType != string(cnstypes.CnsVolumeTypeBlock) || v.Metadata.ContainerCluster.ClusterId != defaultClusterID ||
		v.Metadata.ContainerCluster.ClusterFlavor != string(cnstypes.CnsClusterFlavorVanilla) || v.Metadata.ContainerCluster.VSphereUser == "" {
		t.Errorf("CNS volume = name %q type %q cluster %+v", v.Name, v.VolumeType, v.Metadata.ContainerCluster)
	}
	if strings.Contains(d.File, "pvc-cns") {
		t.Errorf("the disk file %s is named after the volume: a backing path was given", d.File)
	}

	snap, err := env.mgr.CreateDiskSnapshot(ctx, d.ID, "snap-1")
	if err != nil {
		t.Fatal(err)
	}
	r, err := env.mgr.CreateDiskFromSnapshot(ctx, d.ID, snap.ID, "pvc-restored")
	if err != nil {
		t.Fatal(err)
	}
	if vols := cnsVolumes(t, env, r.ID); len(vols) != 1 || vols[0].Name != "pvc-restored" {
		t.Errorf("the restored disk is not a CNS volume named pvc-restored: %+v", vols)
	}
	if r.ID == d.ID || r.CapacityMiB != 16 {
		t.Errorf("restored disk %+v: want a new 16 MiB disk", r)
	}
	if snaps, err := env.mgr.DiskSnapshots(ctx, d.ID); err != nil || len(snaps) != 1 || snaps[0].ID != snap.ID || snaps[0].Description != "snap-1" {
		t.Errorf("snapshots = %+v, %v; want %s", snaps, err, snap.ID)
	}
	// The snapshot is the disk's own: vCenter refuses to delete a disk that has one.
	if err := env.mgr.DeleteDisk(ctx, d.ID); err == nil {
		t.Error("a volume with a snapshot was deleted")
	}
	if err := env.mgr.DeleteDiskSnapshot(ctx, d.ID, snap.ID); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{d.ID, r.ID} {
		if err := env.mgr.DeleteDisk(ctx, id); err != nil {
			t.Fatal(err)
		}
		if vols := cnsVolumes(t, env, id); len(vols) != 0 {
			t.Errorf("CNS still knows volume %s after the delete", id)
		}
		if _, err := env.mgr.Disk(ctx, id); !isNotFound(err) {
			t.Errorf("disk %s after the delete: %v, want not found", id, err)
		}
	}
}
