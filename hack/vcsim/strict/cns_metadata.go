package strict

import (
	cnsmethods "github.com/vmware/govmomi/cns/methods"
	cnstypes "github.com/vmware/govmomi/cns/types"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// CnsUpdateVolumeMetadata merges entities as vCenter does: each entity of the update is
// added or replaced (by type, namespace and name), one marked delete is removed, and the
// others stay; an unknown volume is NotFound. The simulator replaces the whole list,
// ignores delete marks and answers nothing for an unknown volume.
func (m *cnsManager) CnsUpdateVolumeMetadata(ctx *simulator.Context, req *cnstypes.CnsUpdateVolumeMetadata) soap.HasFault {
	vctx := ctx.For(vim25.Path)
	vols, ok := volumesOf(m.CnsVolumeManager)
	if !ok {
		return m.CnsVolumeManager.CnsUpdateVolumeMetadata(ctx, req)
	}
	task := simulator.CreateTask(m, "CnsUpdateVolumeMetadata", func(*simulator.Task) (types.AnyType, types.BaseMethodFault) {
		if len(req.UpdateSpecs) == 0 {
			return nil, &types.InvalidArgument{InvalidProperty: "updateSpecs"}
		}
		res := &cnstypes.CnsVolumeOperationBatchResult{}
		for _, spec := range req.UpdateSpecs {
			var v *cnstypes.CnsVolume
			for _, byID := range vols {
				if x := byID[spec.VolumeId]; x != nil {
					v = x
				}
			}
			if v == nil {
				r := volumeFault(spec.VolumeId, "The object or item referred to could not be found", &types.NotFound{})
				res.VolumeResults = append(res.VolumeResults, &r)
				continue
			}
			v.Metadata.EntityMetadata = mergeEntities(v.Metadata.EntityMetadata, spec.Metadata.EntityMetadata)
			res.VolumeResults = append(res.VolumeResults, &cnstypes.CnsVolumeOperationResult{VolumeId: spec.VolumeId})
		}
		return res, nil
	})
	return &cnsmethods.CnsUpdateVolumeBody{Res: &cnstypes.CnsUpdateVolumeMetadataResponse{Returnval: task.Run(vctx)}}
}

func entityKey(b cnstypes.BaseCnsEntityMetadata) string {
	if k, ok := b.(*cnstypes.CnsKubernetesEntityMetadata); ok {
		return k.EntityType + "/" + k.Namespace + "/" + k.EntityName
	}
	return b.GetCnsEntityMetadata().EntityName
}

func mergeEntities(have, update []cnstypes.BaseCnsEntityMetadata) []cnstypes.BaseCnsEntityMetadata {
	out := append([]cnstypes.BaseCnsEntityMetadata(nil), have...)
	for _, u := range update {
		key := entityKey(u)
		i := -1
		for j, h := range out {
			if entityKey(h) == key {
				i = j
			}
		}
		switch {
		case u.GetCnsEntityMetadata().Delete && i >= 0:
			out = append(out[:i], out[i+1:]...)
		case u.GetCnsEntityMetadata().Delete:
		case i >= 0:
			out[i] = u
		default:
			out = append(out, u)
		}
	}
	return out
}
