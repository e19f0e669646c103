package csicontroller

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/vsphere-cloud/provider/api/v1alpha1"
	"github.com/vsphere-cloud/provider/pkg/vsphere"
)

// CreateRecords keeps vsphere.CreateRecords as VolumeOperation objects in one namespace
// (cloud-controller's).
type CreateRecords struct {
	Client    client.Client
	Namespace string
}

var _ vsphere.CreateRecords = CreateRecords{}

// recordName is the object name of the record of volume: the name itself when it is a
// valid object name (pvc-<uid> always is), a hash otherwise.
func recordName(volume string) string {
	if len(validation.IsDNS1123Subdomain(volume)) == 0 {
		return volume
	}
	sum := sha256.Sum256([]byte(volume))
	return "h-" + hex.EncodeToString(sum[:16])
}

// Get implements vsphere.CreateRecords.
func (s CreateRecords) Get(ctx context.Context, name string) (vsphere.CreateRecord, bool, error) {
	var op v1alpha1.VolumeOperation
	err := s.Client.Get(ctx, client.ObjectKey{Namespace: s.Namespace, Name: recordName(name)}, &op)
	if apierrors.IsNotFound(err) {
		return vsphere.CreateRecord{}, false, nil
	}
	if err != nil {
		return vsphere.CreateRecord{}, false, err
	}
	if op.Spec.VolumeName != name {
		return vsphere.CreateRecord{}, false, nil // a hash collision: not this volume's
	}
	sp := op.Spec
	return vsphere.CreateRecord{Name: sp.VolumeName, VCenter: sp.VCenter, Task: sp.Task, VolumeID: sp.VolumeID, Error: sp.Error}, true, nil
}

// recordsFieldOwner is the field manager of the records' server-side applies.
const recordsFieldOwner = "vsphere-cloud-csi-records"

// Put implements vsphere.CreateRecords with one server-side apply, which creates the record or
// replaces its spec: one request per write, where a create that found the record (every
// second write of a volume create) cost three (create, get, update). Volumes created in bulk
// queue on this client (TestBenchVolumesAtScale: five requests per volume create bounded it at
// about 20 creates per second).
func (s CreateRecords) Put(ctx context.Context, r vsphere.CreateRecord) error {
	op := v1alpha1.VolumeOperation{
		TypeMeta:   metav1.TypeMeta{APIVersion: v1alpha1.GroupVersion.String(), Kind: "VolumeOperation"},
		ObjectMeta: metav1.ObjectMeta{Namespace: s.Namespace, Name: recordName(r.Name)},
		Spec:       v1alpha1.VolumeOperationSpec{VolumeName: r.Name, VCenter: r.VCenter, Task: r.Task, VolumeID: r.VolumeID, Error: r.Error},
	}
	body, err := json.Marshal(op)
	if err != nil {
		return err
	}
	return s.Client.Patch(ctx, &op, client.RawPatch(types.ApplyPatchType, body), client.FieldOwner(recordsFieldOwner), client.ForceOwnership)
}

// Delete implements vsphere.CreateRecords.
func (s CreateRecords) Delete(ctx context.Context, name string) error {
	op := &v1alpha1.VolumeOperation{ObjectMeta: metav1.ObjectMeta{Namespace: s.Namespace, Name: recordName(name)}}
	return client.IgnoreNotFound(s.Client.Delete(ctx, op))
}
