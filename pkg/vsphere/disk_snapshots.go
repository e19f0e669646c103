package vsphere

import (
	"context"
	"fmt"
	"time"

	"github.com/vmware/govmomi/pbm"
	pbmtypes "github.com/vmware/govmomi/pbm/types"
)

// DiskSnapshot is a snapshot of a First Class Disk.
type DiskSnapshot struct {
	ID          string
	DiskID      string
	Description string
	Created     time.Time
}

// StoragePolicyID resolves an SPBM storage policy name in the vCenter, and the datastore
// refs (of the given ones) that are compatible with it.
func (m *Manager) StoragePolicyID(ctx context.Context, vcenter, name string, datastores []string) (string, map[string]bool, error) {
	_, client, err := m.sessionFor(ctx, vcenter)
	if err != nil {
		return "", nil, err
	}
	pc, err := pbm.NewClient(ctx, client)
	if err != nil {
		return "", nil, fmt.Errorf("vCenter %s: storage policy service (SPBM): %w", vcenter, classify(err))
	}
	id, err := pc.ProfileIDByName(ctx, name)
	if err != nil {
		return "", nil, fmt.Errorf("%w: vCenter %s: storage policy %q: %w", ErrNotFound, vcenter, name, err)
	}
	hubs := make([]pbmtypes.PbmPlacementHub, 0, len(datastores))
	for _, ds := range datastores {
		hubs = append(hubs, pbmtypes.PbmPlacementHub{HubType: "Datastore", HubId: ds})
	}
	req := []pbmtypes.BasePbmPlacementRequirement{&pbmtypes.PbmPlacementCapabilityProfileRequirement{
		ProfileId: pbmtypes.PbmProfileId{UniqueId: id},
	}}
	res, err := pc.CheckRequirements(ctx, hubs, nil, req)
	if err != nil {
		return "", nil, fmt.Errorf("vCenter %s: checking datastores against storage policy %q: %w", vcenter, name, classify(err))
	}
	ok := map[string]bool{}
	for _, h := range res.CompatibleDatastores() {
		ok[h.HubId] = true
	}
	return id, ok, nil
}
