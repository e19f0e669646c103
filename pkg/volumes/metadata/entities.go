// Package metadata keeps what vCenter's Cloud Native Storage shows about each volume
// current: the PV, the claim bound to it and the Pods that use the claim (names,
// namespaces, labels), as the upstream vSphere CSI driver's syncer does. Changes are pushed
// as claims and Pods change; a periodic full sync compares every volume CNS records for
// the cluster and repairs drift.
package metadata

import (
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/vsphere-cloud/provider/pkg/volumes"
	"github.com/vsphere-cloud/provider/pkg/vsphere"
)

// desired is the entities CNS should show for a PV: the PV, its bound claim, and the
// Pods (not finished) that use the claim.
func desired(pv *corev1.PersistentVolume, claim *corev1.PersistentVolumeClaim, pods []*corev1.Pod) []vsphere.VolumeEntity {
	pvE := vsphere.VolumeEntity{Type: vsphere.EntityPV, Name: pv.Name, Labels: pv.Labels}
	out := []vsphere.VolumeEntity{pvE}
	if claim == nil {
		return out
	}
	claimE := vsphere.VolumeEntity{Type: vsphere.EntityPVC, Name: claim.Name, Namespace: claim.Namespace, Labels: claim.Labels,
		Refers: &vsphere.VolumeEntity{Type: vsphere.EntityPV, Name: pv.Name}}
	out = append(out, claimE)
	for _, p := range pods {
		if p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed || p.DeletionTimestamp != nil {
			continue
		}
		out = append(out, vsphere.VolumeEntity{Type: vsphere.EntityPod, Name: p.Name, Namespace: p.Namespace, Labels: p.Labels,
			Refers: &vsphere.VolumeEntity{Type: vsphere.EntityPVC, Name: claim.Name, Namespace: claim.Namespace}})
	}
	return out
}

// fingerprint is a stable form of a set of entities, for comparison.
func fingerprint(es []vsphere.VolumeEntity) string {
	s := make([]string, 0, len(es))
	for _, e := range es {
		s = append(s, e.String())
	}
	slices.Sort(s)
	return strings.Join(s, "\n")
}

// stale is the entities of have that want does not have (by key): CNS must drop them.
func stale(have, want []vsphere.VolumeEntity) []vsphere.VolumeEntity {
	keep := map[string]bool{}
	for _, e := range want {
		keep[e.Key()] = true
	}
	var out []vsphere.VolumeEntity
	for _, e := range have {
		if !keep[e.Key()] {
			out = append(out, e)
		}
	}
	return out
}

// claimsOf lists the namespace/name of every claim a Pod mounts.
func claimsOf(p *corev1.Pod) []string {
	var out []string
	for _, v := range p.Spec.Volumes {
		if v.PersistentVolumeClaim != nil {
			out = append(out, p.Namespace+"/"+v.PersistentVolumeClaim.ClaimName)
		}
	}
	return out
}

// provisionedBy is the annotation the external-provisioner puts on the PVs it makes.
const provisionedBy = "pv.kubernetes.io/provisioned-by"

// createdWith is what the create recorded in CNS for a PV this driver provisioned: the PV
// and its claim, without labels (the provisioner passes only names). nil when the PV was
// not provisioned by this driver or its claim is not bound yet.
func createdWith(pv *corev1.PersistentVolume, want []vsphere.VolumeEntity) []vsphere.VolumeEntity {
	if pv.Annotations[provisionedBy] != volumes.DriverName || len(want) < 2 || want[1].Type != vsphere.EntityPVC {
		return nil
	}
	pvE := vsphere.VolumeEntity{Type: vsphere.EntityPV, Name: pv.Name}
	claimE := vsphere.VolumeEntity{Type: vsphere.EntityPVC, Name: want[1].Name, Namespace: want[1].Namespace, Refers: &pvE}
	return []vsphere.VolumeEntity{pvE, claimE}
}

// awaitingBind is a PV this driver provisioned for a claim that is not bound to it yet:
// its create recorded the PV and the claim, so pushing the PV alone would only be undone a
// moment later.
func awaitingBind(pv *corev1.PersistentVolume, want []vsphere.VolumeEntity) bool {
	return pv.Annotations[provisionedBy] == volumes.DriverName && pv.Spec.ClaimRef != nil &&
		pv.Status.Phase != corev1.VolumeReleased && len(want) == 1
}
