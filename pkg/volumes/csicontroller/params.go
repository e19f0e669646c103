package csicontroller

import (
	"fmt"
	"sort"
	"strings"

	"github.com/container-storage-interface/spec/lib/go/csi"

	"github.com/vsphere-cloud/provider/pkg/volumes"
	"github.com/vsphere-cloud/provider/pkg/vsphere"
)

const (
	mib = int64(1) << 20
	gib = int64(1) << 30
	// defaultSize is the size of a volume whose request names none.
	defaultSize = gib
)

// params are a StorageClass's parameters.
type params struct {
	DatastoreURL string
	Datastore    string
	Policy       string
	FSType       string
	// The PV and claim the provisioner creates the volume for (--extra-create-metadata).
	PVName, ClaimName, ClaimNamespace string
}

// Keys the provisioner adds with --extra-create-metadata.
const (
	paramPVName         = "csi.storage.k8s.io/pv/name"
	paramClaimName      = "csi.storage.k8s.io/pvc/name"
	paramClaimNamespace = "csi.storage.k8s.io/pvc/namespace"
)

// entities are the PV and claim CNS records on the volume at create; the metadata
// syncer adds labels and Pods later.
func (p params) entities() []vsphere.VolumeEntity {
	if p.PVName == "" {
		return nil
	}
	pv := vsphere.VolumeEntity{Type: vsphere.EntityPV, Name: p.PVName}
	out := []vsphere.VolumeEntity{pv}
	if p.ClaimName != "" && p.ClaimNamespace != "" {
		out = append(out, vsphere.VolumeEntity{Type: vsphere.EntityPVC, Name: p.ClaimName, Namespace: p.ClaimNamespace, Refers: &pv})
	}
	return out
}

// parseParams reads StorageClass parameters. Keys are matched case-insensitively; the
// csi.storage.k8s.io/ keys the provisioner adds are ignored; anything else is an error
// that names the key, so a typo fails provisioning instead of being silently ignored.
func parseParams(in map[string]string) (params, error) {
	var p params
	for k, v := range in {
		switch strings.ToLower(k) {
		case strings.ToLower(volumes.ParamDatastoreURL):
			p.DatastoreURL = v
		case strings.ToLower(volumes.ParamDatastore):
			p.Datastore = v
		case strings.ToLower(volumes.ParamPolicy):
			p.Policy = v
		case strings.ToLower(volumes.ParamFSType), "fstype":
			p.FSType = strings.ToLower(v)
		case paramPVName:
			p.PVName = v
		case paramClaimName:
			p.ClaimName = v
		case paramClaimNamespace:
			p.ClaimNamespace = v
		default:
			if strings.HasPrefix(k, "csi.storage.k8s.io/") {
				continue
			}
			return p, fmt.Errorf("StorageClass parameter %q is not known (known: %s, %s, %s, %s)", k, volumes.ParamDatastoreURL, volumes.ParamDatastore, volumes.ParamPolicy, volumes.ParamFSType)
		}
	}
	if p.FSType != "" && p.FSType != "ext4" && p.FSType != "xfs" {
		return p, fmt.Errorf("StorageClass parameter %s: %q is not supported (ext4 or xfs)", volumes.ParamFSType, p.FSType)
	}
	if p.DatastoreURL != "" && p.Datastore != "" {
		return p, fmt.Errorf("StorageClass parameters %s and %s are exclusive; give one", volumes.ParamDatastoreURL, volumes.ParamDatastore)
	}
	return p, nil
}

// sizeMiB turns a capacity range into whole MiB: required rounded up, the default when
// nothing is required (but no more than the limit).
func sizeMiB(r *csi.CapacityRange) (int64, error) {
	req, limit := r.GetRequiredBytes(), r.GetLimitBytes()
	if req < 0 || limit < 0 {
		return 0, fmt.Errorf("capacity_range: negative bytes")
	}
	if limit > 0 && req > limit {
		return 0, fmt.Errorf("capacity_range: required_bytes %d exceeds limit_bytes %d", req, limit)
	}
	if req == 0 {
		req = defaultSize
		if limit > 0 && limit < req {
			req = limit / mib * mib
			if req == 0 {
				return 0, errOutOfRange(fmt.Errorf("capacity_range: limit_bytes %d is less than 1 MiB", limit))
			}
		}
	}
	n := (req + mib - 1) / mib
	if limit > 0 && n*mib > limit {
		return 0, errOutOfRange(fmt.Errorf("capacity_range: %d bytes rounded up to whole MiB (%d MiB) exceed limit_bytes %d", req, n, limit))
	}
	return n, nil
}

type outOfRange struct{ error }

func errOutOfRange(err error) error { return outOfRange{err} }

// chooseDatastore picks the datastore for a new volume: the named one, else among the
// usable datastores with room (and compatible with the storage policy, when compatible
// is non-nil) that reach the requested topology, those reaching the first preferred
// segment first, then the most free space.
func chooseDatastore(dss []vsphere.Datastore, p params, topo *csi.TopologyRequirement, bytes int64, compatible map[string]bool) (vsphere.Datastore, error) {
	var cands []vsphere.Datastore
	for _, ds := range dss {
		switch {
		case p.DatastoreURL != "" && ds.URL != p.DatastoreURL:
		case p.Datastore != "" && ds.Name != p.Datastore:
		default:
			cands = append(cands, ds)
		}
	}
	if p.DatastoreURL != "" || p.Datastore != "" {
		name := p.DatastoreURL + p.Datastore
		switch {
		case len(cands) == 0:
			return vsphere.Datastore{}, fmt.Errorf("%w: StorageClass parameter datastore %q: no such datastore in the configured datacenters", vsphere.ErrNotFound, name)
		case len(cands) > 1:
			return vsphere.Datastore{}, fmt.Errorf("%w: StorageClass parameter datastore %q names %d datastores; use %s", vsphere.ErrAmbiguous, name, len(cands), volumes.ParamDatastoreURL)
		}
	}
	var reasons []string
	var ok []vsphere.Datastore
	for _, ds := range cands {
		switch {
		case !ds.Usable:
			reasons = append(reasons, ds.Name+": inaccessible or in maintenance")
		case ds.FreeBytes < bytes:
			reasons = append(reasons, fmt.Sprintf("%s: %d MiB free", ds.Name, ds.FreeBytes/mib))
		case compatible != nil && !compatible[ds.Ref]:
			reasons = append(reasons, ds.Name+": not compatible with the storage policy")
		case len(topo.GetRequisite()) > 0 && !reachesAny(ds, topo.GetRequisite()):
			reasons = append(reasons, ds.Name+": not reachable from every host of a requested zone")
		default:
			ok = append(ok, ds)
		}
	}
	if len(ok) == 0 {
		sort.Strings(reasons)
		return vsphere.Datastore{}, fmt.Errorf("no datastore can hold %d MiB here: %s", bytes/mib, strings.Join(reasons, "; "))
	}
	rank := func(ds vsphere.Datastore) int {
		for i, seg := range topo.GetPreferred() {
			if reachesAny(ds, []*csi.Topology{seg}) {
				return i
			}
		}
		return len(topo.GetPreferred())
	}
	sort.SliceStable(ok, func(i, j int) bool {
		if ri, rj := rank(ok[i]), rank(ok[j]); ri != rj {
			return ri < rj
		}
		if ok[i].FreeBytes != ok[j].FreeBytes {
			return ok[i].FreeBytes > ok[j].FreeBytes
		}
		return ok[i].URL < ok[j].URL
	})
	return ok[0], nil
}

// reachesAny reports whether the datastore serves one of the segments.
func reachesAny(ds vsphere.Datastore, segs []*csi.Topology) bool {
	for _, seg := range segs {
		for _, t := range ds.Topologies {
			zone, hasZone := seg.GetSegments()[volumes.TopologyZone]
			region, hasRegion := seg.GetSegments()[volumes.TopologyRegion]
			if (!hasZone || zone == t.Zone) && (!hasRegion || region == t.Region) {
				return true
			}
		}
	}
	return false
}

// accessibleTopology is a datastore's topologies as CSI segments.
func accessibleTopology(ds vsphere.Datastore) []*csi.Topology {
	var out []*csi.Topology
	for _, t := range ds.Topologies {
		seg := map[string]string{}
		if t.Zone != "" {
			seg[volumes.TopologyZone] = t.Zone
		}
		if t.Region != "" {
			seg[volumes.TopologyRegion] = t.Region
		}
		out = append(out, &csi.Topology{Segments: seg})
	}
	return out
}
