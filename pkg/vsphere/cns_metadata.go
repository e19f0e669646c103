package vsphere

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	cnstypes "github.com/vmware/govmomi/cns/types"
	"github.com/vmware/govmomi/vim25/types"
)

// Entity kinds CNS shows for a volume (vCenter's Container Volumes view).
const (
	EntityPV  = string(cnstypes.CnsKubernetesEntityTypePV)
	EntityPVC = string(cnstypes.CnsKubernetesEntityTypePVC)
	EntityPod = string(cnstypes.CnsKubernetesEntityTypePOD)
)

// VolumeEntity is one Kubernetes object CNS records on a volume: its PV, the claim bound
// to it, the Pods that use the claim.
type VolumeEntity struct {
	Type      string // EntityPV, EntityPVC or EntityPod
	Name      string
	Namespace string // empty for a PV
	Labels    map[string]string
	// Refers is the entity this one points at: a claim its PV, a Pod its claim.
	Refers *VolumeEntity
}

// Key identifies the entity among a volume's: its type, namespace and name.
func (e VolumeEntity) Key() string { return e.Type + "/" + e.Namespace + "/" + e.Name }

// String is the entity with its labels and reference, in a stable form (for comparison).
func (e VolumeEntity) String() string {
	var b strings.Builder
	b.WriteString(e.Key())
	for _, k := range slices.Sorted(maps.Keys(e.Labels)) {
		fmt.Fprintf(&b, " %s=%s", k, e.Labels[k])
	}
	if e.Refers != nil {
		b.WriteString(" -> " + e.Refers.Key())
	}
	return b.String()
}

func (m *Manager) cnsEntity(e VolumeEntity, remove bool) cnstypes.BaseCnsEntityMetadata {
	out := &cnstypes.CnsKubernetesEntityMetadata{
		CnsEntityMetadata: cnstypes.CnsEntityMetadata{EntityName: e.Name, Delete: remove, ClusterID: m.clusterID},
		EntityType:        e.Type, Namespace: e.Namespace,
	}
	for _, k := range slices.Sorted(maps.Keys(e.Labels)) {
		out.Labels = append(out.Labels, types.KeyValue{Key: k, Value: e.Labels[k]})
	}
	if e.Refers != nil {
		out.ReferredEntity = []cnstypes.CnsKubernetesEntityReference{{EntityType: e.Refers.Type, EntityName: e.Refers.Name, Namespace: e.Refers.Namespace, ClusterID: m.clusterID}}
	}
	return out
}

func entityFrom(b cnstypes.BaseCnsEntityMetadata) (VolumeEntity, bool) {
	k, ok := b.(*cnstypes.CnsKubernetesEntityMetadata)
	if !ok || k.Delete {
		return VolumeEntity{}, false
	}
	e := VolumeEntity{Type: k.EntityType, Name: k.EntityName, Namespace: k.Namespace}
	if len(k.Labels) > 0 {
		e.Labels = map[string]string{}
		for _, kv := range k.Labels {
			e.Labels[kv.Key] = kv.Value
		}
	}
	if len(k.ReferredEntity) > 0 {
		r := k.ReferredEntity[0]
		e.Refers = &VolumeEntity{Type: r.EntityType, Name: r.EntityName, Namespace: r.Namespace}
	}
	return e, true
}

// UpdateVolumeMetadata sets a volume's entities in CNS: set are added or replaced, and
// remove (entities CNS has that the cluster no longer does) are deleted. CNS merges by
// entity, as upstream's syncer relies on.
func (m *Manager) UpdateVolumeMetadata(ctx context.Context, vcenter, id string, set, remove []VolumeEntity) error {
	c, err := m.vCenterFor(vcenter)
	if err != nil {
		return err
	}
	cc, user, err := m.cnsFor(ctx, c)
	if err != nil {
		return err
	}
	cluster := m.containerCluster(user)
	md := cnstypes.CnsVolumeMetadata{ContainerCluster: cluster, ContainerClusterArray: []cnstypes.CnsContainerCluster{cluster}}
	for _, e := range set {
		md.EntityMetadata = append(md.EntityMetadata, m.cnsEntity(e, false))
	}
	for _, e := range remove {
		md.EntityMetadata = append(md.EntityMetadata, m.cnsEntity(e, true))
	}
	task, err := cc.UpdateVolumeMetadata(ctx, []cnstypes.CnsVolumeMetadataUpdateSpec{{VolumeId: cnstypes.CnsVolumeId{Id: id}, Metadata: md}})
	if err == nil {
		_, err = cnsResult(ctx, task)
	}
	if err != nil {
		return fmt.Errorf("vCenter %s: updating the metadata of volume %s: %w", vcenter, id, classify(err))
	}
	return nil
}

// VolumeRecord is what CNS records about one of our cluster's volumes.
type VolumeRecord struct {
	ID, Name, VCenter string
	CapacityMiB       int64
	Entities          []VolumeEntity
}

// cnsPage is how many volumes one CnsQueryVolume returns at most.
const cnsPage = 500

// ClusterVolumes lists the volumes CNS records for our cluster in every vCenter, with
// their entities. A vCenter that cannot be asked fails the whole list: a partial list
// would read as drift.
func (m *Manager) ClusterVolumes(ctx context.Context) ([]VolumeRecord, error) {
	var out []VolumeRecord
	for _, c := range m.vcenters {
		cc, _, err := m.cnsFor(ctx, c)
		if err != nil {
			return nil, err
		}
		for offset := int64(0); ; {
			res, err := cc.QueryVolume(ctx, &cnstypes.CnsQueryFilter{
				ContainerClusterIds: []string{m.clusterID}, Cursor: &cnstypes.CnsCursor{Offset: offset, Limit: cnsPage},
			})
			if err != nil {
				return nil, fmt.Errorf("vCenter %s: listing the cluster's volumes in Cloud Native Storage: %w", c.vc.Name, classify(err))
			}
			for _, v := range res.Volumes {
				r := VolumeRecord{ID: v.VolumeId.Id, Name: v.Name, VCenter: c.vc.Name}
				if b := v.BackingObjectDetails; b != nil {
					r.CapacityMiB = b.GetCnsBackingObjectDetails().CapacityInMb
				}
				for _, em := range v.Metadata.EntityMetadata {
					if e, ok := entityFrom(em); ok {
						r.Entities = append(r.Entities, e)
					}
				}
				out = append(out, r)
			}
			offset += int64(len(res.Volumes))
			// CNS answers pages with the total; a server that ignores the cursor (the
			// simulator) answers everything at once with none.
			if len(res.Volumes) < cnsPage || res.Cursor.TotalRecords == 0 || offset >= res.Cursor.TotalRecords {
				break
			}
		}
	}
	return out, nil
}
