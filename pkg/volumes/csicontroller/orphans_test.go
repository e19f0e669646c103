package csicontroller

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/vsphere-cloud/provider/pkg/vsphere"
)

type fakeDisks struct {
	fakeVCenter
	disks    []vsphere.Disk
	attached map[string]bool
	stale    bool
	deleted  []string
}

// ClusterVolumes is CNS's record of the cluster's volumes: the fake's disks.
func (f *fakeDisks) ClusterVolumes(context.Context) ([]vsphere.VolumeRecord, error) {
	var out []vsphere.VolumeRecord
	for _, d := range f.disks {
		out = append(out, vsphere.VolumeRecord{ID: d.ID, Name: d.Name, VCenter: d.VCenter})
	}
	return out, nil
}
func (f *fakeDisks) KnownDisk(context.Context, string) (vsphere.Disk, bool) {
	return vsphere.Disk{}, false
}
func (f *fakeDisks) Disk(_ context.Context, id string) (vsphere.Disk, error) {
	for _, d := range f.disks {
		if d.ID == id {
			return d, nil
		}
	}
	return vsphere.Disk{}, vsphere.ErrNotFound
}
func (f *fakeDisks) DiskUsers(_ context.Context, d vsphere.Disk) ([]vsphere.VM, error) {
	if f.stale {
		return nil, vsphere.ErrUnavailable
	}
	if f.attached[d.ID] {
		return []vsphere.VM{{Name: "node"}}, nil
	}
	return nil, nil
}
func (f *fakeDisks) DeleteDisk(_ context.Context, id string) error {
	f.deleted = append(f.deleted, id)
	return nil
}

func TestOrphans(t *testing.T) {
	f := &fakeDisks{disks: []vsphere.Disk{
		{ID: "bound", Name: "pvc-1"}, {ID: "orphan", Name: "pvc-2"}, {ID: "attached", Name: "pvc-3"}, {ID: "foreign", Name: "backup-disk"},
	}, attached: map[string]bool{"attached": true}}
	clock := time.Unix(0, 0)
	pvs := func(context.Context) (map[string]bool, error) { return map[string]bool{"bound": true}, nil }
	o := &Orphans{Disks: f, Attachments: f, VolumeHandles: pvs, now: func() time.Time { return clock }}
	ctx := context.Background()

	got, err := o.Check(ctx)
	if err != nil || len(got) != 2 || got[0].ID != "orphan" || got[1].ID != "attached" {
		t.Fatalf("orphans = %v, %v; want orphan and attached (foreign disks are not ours)", got, err)
	}
	clock = clock.Add(48 * time.Hour)
	if _, err := o.Check(ctx); err != nil || len(f.deleted) != 0 {
		t.Fatalf("deleted %v without the opt-in", f.deleted)
	}

	o.DeleteAfter = time.Minute
	if _, err := o.Check(ctx); err == nil {
		t.Fatal("a grace below the minimum was accepted")
	}
	o.DeleteAfter = 2 * time.Hour
	f.stale = true
	if _, err := o.Check(ctx); err != nil || len(f.deleted) != 0 {
		t.Fatalf("deleted %v while attachments were unknown", f.deleted)
	}
	f.stale = false
	if _, err := o.Check(ctx); err != nil || len(f.deleted) != 1 || f.deleted[0] != "orphan" {
		t.Fatalf("deleted %v, want only the detached orphan", f.deleted)
	}

	o.VolumeHandles = func(context.Context) (map[string]bool, error) { return nil, errors.New("apiserver down") }
	f.deleted = nil
	if _, err := o.Check(ctx); err == nil || len(f.deleted) != 0 {
		t.Fatalf("PV listing failed, yet %v deleted (err %v)", f.deleted, err)
	}

	// A disk that stops being orphaned starts its grace again.
	o.VolumeHandles = pvs
	f.disks = []vsphere.Disk{{ID: "new", Name: "pvc-9"}}
	if _, err := o.Check(ctx); err != nil || len(f.deleted) != 0 {
		t.Fatalf("a newly orphaned disk was deleted at once: %v", f.deleted)
	}
}
