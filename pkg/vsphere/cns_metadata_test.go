package vsphere

import (
	"context"
	"slices"
	"testing"
)

// Entities given at create are recorded; an update merges by entity (a Pod added keeps the
// PV and claim, a Pod removed goes alone), as vCenter's CNS does; the cluster's volumes
// list with them.
func TestVolumeMetadataMergesByEntity(t *testing.T) {
	env, ds := diskEnv(t)
	ctx := context.Background()
	pv := VolumeEntity{Type: EntityPV, Name: "pvc-meta"}
	claim := VolumeEntity{Type: EntityPVC, Name: "data", Namespace: "shop", Labels: map[string]string{"app": "db"}, Refers: &pv}
	d, err := env.mgr.CreateDisk(ctx, DiskSpec{Name: "pvc-meta", Datastore: ds, CapacityMiB: 8, Entities: []VolumeEntity{pv, claim}})
	if err != nil {
		t.Fatal(err)
	}
	show := func() []string {
		t.Helper()
		recs, err := env.mgr.ClusterVolumes(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, r := range recs {
			if r.ID == d.ID {
				for _, e := range r.Entities {
					out = append(out, e.String())
				}
			}
		}
		slices.Sort(out)
		return out
	}
	if got := show(); !slices.Equal(got, []string{pv.String(), claim.String()}) {
		t.Fatalf("after create: %q", got)
	}
	pod := VolumeEntity{Type: EntityPod, Name: "db-0", Namespace: "shop", Refers: &claim}
	if err := env.mgr.UpdateVolumeMetadata(ctx, d.VCenter, d.ID, []VolumeEntity{pod}, nil); err != nil {
		t.Fatal(err)
	}
	if got := show(); !slices.Equal(got, []string{pv.String(), claim.String(), pod.String()}) {
		t.Fatalf("after adding the Pod: %q", got)
	}
	if err := env.mgr.UpdateVolumeMetadata(ctx, d.VCenter, d.ID, nil, []VolumeEntity{pod}); err != nil {
		t.Fatal(err)
	}
	if got := show(); !slices.Equal(got, []string{pv.String(), claim.String()}) {
		t.Fatalf("after removing the Pod: %q", got)
	}
	if err := env.mgr.UpdateVolumeMetadata(ctx, d.VCenter, "no-such-volume", []VolumeEntity{pv}, nil); !isNotFound(err) {
		t.Fatalf("update of an unknown volume: %v; want not found", err)
	}
}
