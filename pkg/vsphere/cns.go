package vsphere

import (
	"context"
	"fmt"
	"sync"

	"github.com/vmware/govmomi/cns"
	cnstypes "github.com/vmware/govmomi/cns/types"
	"github.com/vmware/govmomi/fault"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/types"
)

// Cloud Native Storage (CNS) is the control path for volumes, as in the upstream vSphere
// CSI driver (kubernetes-sigs/vsphere-csi-driver, pkg/common/cns-lib): the calls are proven
// on real vCenters, and CNS shows the administrator whose volume a disk is (vCenter's
// Container Volumes view). A volume's ID is its First Class Disk's ID.

// defaultClusterID is the container cluster of a Manager without one: cloud-controller's
// --cluster-name default.
const defaultClusterID = "kubernetes"

// cnsClients makes one CNS client per session connection: a CNS client copies the
// session cookie when made, so a re-login (a new connection) needs a new one.
type cnsClients struct {
	mu  sync.Mutex
	vim *vim25.Client
	c   *cns.Client
}

func (cc *cnsClients) get(ctx context.Context, vim *vim25.Client) (*cns.Client, error) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if cc.vim == vim && cc.c != nil {
		return cc.c, nil
	}
	c, err := cns.NewClient(ctx, vim)
	if err != nil {
		return nil, fmt.Errorf("connecting to Cloud Native Storage: %w", classify(err))
	}
	cc.vim, cc.c = vim, c
	return c, nil
}

// cnsFor returns the CNS client of a vCenter's session and the user the session logged
// in as (no read of the credentials Secret per call).
func (m *Manager) cnsFor(ctx context.Context, c *vCenter) (*cns.Client, string, error) {
	vim, err := c.sess.Client(ctx)
	if err != nil {
		return nil, "", err
	}
	cc, err := c.cns.get(ctx, vim)
	if err != nil {
		return nil, "", fmt.Errorf("vCenter %s: %w", c.vc.Name, err)
	}
	return cc, c.sess.User(), nil
}

// containerCluster is how CNS records our cluster on each volume, as upstream does
// (a vanilla Kubernetes cluster, the vSphere user that manages its volumes).
func (m *Manager) containerCluster(user string) cnstypes.CnsContainerCluster {
	return cnstypes.CnsContainerCluster{
		ClusterType:   string(cnstypes.CnsClusterTypeKubernetes),
		ClusterId:     m.clusterID,
		VSphereUser:   user,
		ClusterFlavor: string(cnstypes.CnsClusterFlavorVanilla),
	}
}

// cnsVolumeByName asks CNS for our cluster's block volume named name: the second check
// of create's idempotency, which finds a volume another replica or an earlier attempt
// created, wherever it is.
func (m *Manager) cnsVolumeByName(ctx context.Context, c *vCenter, name string) (string, bool, error) {
	cc, _, err := m.cnsFor(ctx, c)
	if err != nil {
		return "", false, err
	}
	callCtx, cancel := context.WithTimeout(ctx, c.inv.CallTimeout)
	defer cancel()
	res, err := cc.QueryVolume(callCtx, &cnstypes.CnsQueryFilter{Names: []string{name}, ContainerClusterIds: []string{m.clusterID}})
	if err != nil {
		return "", false, fmt.Errorf("vCenter %s: looking up volume %s in Cloud Native Storage: %w", c.vc.Name, name, classify(err))
	}
	var ids []string
	for _, v := range res.Volumes {
		if v.Name == name && v.VolumeType == string(cnstypes.CnsVolumeTypeBlock) {
			ids = append(ids, v.VolumeId.Id)
		}
	}
	switch len(ids) {
	case 0:
		return "", false, nil
	case 1:
		return ids[0], true, nil
	}
	return "", false, fmt.Errorf("%w: vCenter %s has %d volumes named %s in cluster %s (%v); delete the extra ones", ErrAmbiguous, c.vc.Name, len(ids), name, m.clusterID, ids)
}

// cnsSubmitCreate submits CnsCreateVolume for spec (no backing path: vCenter picks the
// file) and returns the task without waiting for it.
func (m *Manager) cnsSubmitCreate(ctx context.Context, c *vCenter, spec DiskSpec) (*object.Task, error) {
	cc, user, err := m.cnsFor(ctx, c)
	if err != nil {
		return nil, err
	}
	cluster := m.containerCluster(user)
	cs := cnstypes.CnsVolumeCreateSpec{
		Name:       spec.Name,
		VolumeType: string(cnstypes.CnsVolumeTypeBlock),
		Datastores: []types.ManagedObjectReference{dsRef(spec.Datastore.Ref)},
		Metadata:   cnstypes.CnsVolumeMetadata{ContainerCluster: cluster, ContainerClusterArray: []cnstypes.CnsContainerCluster{cluster}},
		BackingObjectDetails: &cnstypes.CnsBlockBackingDetails{
			CnsBackingObjectDetails: cnstypes.CnsBackingObjectDetails{CapacityInMb: spec.CapacityMiB},
		},
	}
	if spec.Source != nil {
		cs.VolumeSource = &cnstypes.CnsSnapshotVolumeSource{
			VolumeId: cnstypes.CnsVolumeId{Id: spec.Source.VolumeID}, SnapshotId: cnstypes.CnsSnapshotId{Id: spec.Source.SnapshotID},
		}
	}
	for _, e := range spec.Entities {
		cs.Metadata.EntityMetadata = append(cs.Metadata.EntityMetadata, m.cnsEntity(e, false))
	}
	if spec.ProfileID != "" {
		cs.Profile = []types.BaseVirtualMachineProfileSpec{&types.VirtualMachineDefinedProfileSpec{ProfileId: spec.ProfileID}}
	}
	task, err := cc.CreateVolume(ctx, []cnstypes.CnsVolumeCreateSpec{cs})
	if err != nil {
		return nil, fmt.Errorf("vCenter %s: creating volume %s on datastore %s: %w", c.vc.Name, spec.Name, spec.Datastore.Name, classify(err))
	}
	return task, nil
}

// cnsDelete deletes a volume and its disk with CnsDeleteVolume. registered is false when
// CNS does not know the volume (a disk created before CNS was the control path).
func (m *Manager) cnsDelete(ctx context.Context, c *vCenter, id string) (registered bool, err error) {
	cc, _, err := m.cnsFor(ctx, c)
	if err != nil {
		return false, err
	}
	task, err := cc.DeleteVolume(ctx, []cnstypes.CnsVolumeId{{Id: id}}, true)
	if err != nil {
		return false, fmt.Errorf("vCenter %s: deleting volume %s: %w", c.vc.Name, id, classify(err))
	}
	if _, err := cnsResult(ctx, task); err != nil {
		if isNotFound(err) {
			return false, nil
		}
		return true, fmt.Errorf("vCenter %s: deleting volume %s: %w", c.vc.Name, id, err)
	}
	return true, nil
}

// RegisterVolume registers an existing disk (a static PV's, or one made before CNS was the
// control path) as a volume of our cluster in CNS, with its entities; one CNS knows is
// success.
func (m *Manager) RegisterVolume(ctx context.Context, id, name string, entities []VolumeEntity) error {
	d, err := m.Disk(ctx, id)
	if err != nil {
		return err
	}
	c, err := m.vCenterFor(d.VCenter)
	if err != nil {
		return err
	}
	return m.cnsImport(ctx, c, id, name, entities...)
}

// cnsExtend grows a volume with CnsExtendVolume. registered is false when CNS does not
// know the volume.
func (m *Manager) cnsExtend(ctx context.Context, c *vCenter, id string, newMiB int64) (registered bool, err error) {
	cc, _, err := m.cnsFor(ctx, c)
	if err != nil {
		return false, err
	}
	task, err := cc.ExtendVolume(ctx, []cnstypes.CnsVolumeExtendSpec{{VolumeId: cnstypes.CnsVolumeId{Id: id}, CapacityInMb: newMiB}})
	if err == nil {
		_, err = cnsResult(ctx, task)
	}
	switch {
	case isNotFound(err) || fault.Is(err, &cnstypes.CnsNotRegisteredFault{}):
		return false, nil
	case err != nil:
		return true, fmt.Errorf("vCenter %s: extending volume %s to %d MiB: %w", c.vc.Name, id, newMiB, classify(err))
	}
	return true, nil
}

// cnsImport registers an existing disk as a volume of our cluster (CnsCreateVolume with
// its ID as the backing disk, as upstream imports static volumes); a disk CNS knows
// already is success.
func (m *Manager) cnsImport(ctx context.Context, c *vCenter, id, name string, entities ...VolumeEntity) error {
	cc, user, err := m.cnsFor(ctx, c)
	if err != nil {
		return err
	}
	cluster := m.containerCluster(user)
	md := cnstypes.CnsVolumeMetadata{ContainerCluster: cluster, ContainerClusterArray: []cnstypes.CnsContainerCluster{cluster}}
	for _, e := range entities {
		md.EntityMetadata = append(md.EntityMetadata, m.cnsEntity(e, false))
	}
	task, err := cc.CreateVolume(ctx, []cnstypes.CnsVolumeCreateSpec{{
		Name:                 name,
		VolumeType:           string(cnstypes.CnsVolumeTypeBlock),
		Metadata:             md,
		BackingObjectDetails: &cnstypes.CnsBlockBackingDetails{BackingDiskId: id},
	}})
	if err == nil {
		_, err = cnsResult(ctx, task)
	}
	if err != nil && !fault.Is(err, &cnstypes.CnsAlreadyRegisteredFault{}) {
		return fmt.Errorf("vCenter %s: registering disk %s as volume %s in Cloud Native Storage: %w", c.vc.Name, id, name, classify(err))
	}
	return nil
}
