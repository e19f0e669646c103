package csicontroller

import (
	"strings"
	"testing"

	"github.com/container-storage-interface/spec/lib/go/csi"

	"github.com/vsphere-cloud/provider/pkg/vsphere"
)

func TestParseParams(t *testing.T) {
	for _, tc := range []struct {
		in      map[string]string
		want    params
		wantErr string
	}{
		{in: map[string]string{"datastoreURL": "ds:///a/", "csi.storage.k8s.io/fstype": "XFS"}, want: params{DatastoreURL: "ds:///a/", FSType: "xfs"}},
		{in: map[string]string{"DataStore": "ds1", "storagePolicyName": "gold"}, want: params{Datastore: "ds1", Policy: "gold"}},
		{in: map[string]string{"csi.storage.k8s.io/pvc/name": "x", "csi.storage.k8s.io/provisioner-secret-name": "s"}, want: params{ClaimName: "x"}},
		{in: map[string]string{"datastoreUrl ": "x"}, wantErr: `"datastoreUrl "`},
		{in: map[string]string{"csi.storage.k8s.io/fstype": "btrfs"}, wantErr: "btrfs"},
		{in: map[string]string{"datastore": "a", "datastoreURL": "b"}, wantErr: "exclusive"},
	} {
		got, err := parseParams(tc.in)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("parseParams(%v) error = %v, want it to name %s", tc.in, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("parseParams(%v) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
}

func TestSizeMiB(t *testing.T) {
	for _, tc := range []struct {
		req, limit int64
		want       int64
		oor, bad   bool
	}{
		{want: 1024},
		{req: 1, want: 1},
		{req: mib + 1, want: 2},
		{limit: 10 * mib, want: 10},
		{req: mib + 1, limit: mib + 100, oor: true},
		{req: 5, limit: 4, bad: true},
		{limit: 100, oor: true},
	} {
		got, err := sizeMiB(&csi.CapacityRange{RequiredBytes: tc.req, LimitBytes: tc.limit})
		_, isOOR := err.(outOfRange)
		switch {
		case tc.oor && !isOOR, tc.bad && (err == nil || isOOR), !tc.oor && !tc.bad && (err != nil || got != tc.want):
			t.Errorf("sizeMiB(%d, %d) = %d, %v; want %d (out of range %v, invalid %v)", tc.req, tc.limit, got, err, tc.want, tc.oor, tc.bad)
		}
	}
}

func seg(zone string) *csi.Topology {
	return &csi.Topology{Segments: map[string]string{"topology.kubernetes.io/zone": zone}}
}

func TestChooseDatastore(t *testing.T) {
	za, zb := vsphere.Topology{Zone: "a", Region: "r"}, vsphere.Topology{Zone: "b", Region: "r"}
	dss := []vsphere.Datastore{
		{Ref: "d1", Name: "small-a", URL: "u1", Usable: true, FreeBytes: 10 * gib, Topologies: []vsphere.Topology{za}},
		{Ref: "d2", Name: "big-ab", URL: "u2", Usable: true, FreeBytes: 100 * gib, Topologies: []vsphere.Topology{za, zb}},
		{Ref: "d3", Name: "huge-b", URL: "u3", Usable: true, FreeBytes: 500 * gib, Topologies: []vsphere.Topology{zb}},
		{Ref: "d4", Name: "offline", URL: "u4", Usable: false, FreeBytes: 900 * gib, Topologies: []vsphere.Topology{za, zb}},
	}
	for _, tc := range []struct {
		name    string
		p       params
		topo    *csi.TopologyRequirement
		size    int64
		compat  map[string]bool
		want    string
		wantErr string
	}{
		{name: "most free space", size: gib, want: "d3"},
		{name: "requisite zone a", topo: &csi.TopologyRequirement{Requisite: []*csi.Topology{seg("a")}}, size: gib, want: "d2"},
		{name: "preferred wins over space", topo: &csi.TopologyRequirement{Requisite: []*csi.Topology{seg("a"), seg("b")}, Preferred: []*csi.Topology{seg("a")}}, size: gib, want: "d2"},
		{name: "too big for zone a", topo: &csi.TopologyRequirement{Requisite: []*csi.Topology{seg("a")}}, size: 200 * gib, wantErr: "big-ab: 102400 MiB free"},
		{name: "named", p: params{Datastore: "small-a"}, size: gib, want: "d1"},
		{name: "by url", p: params{DatastoreURL: "u1"}, size: gib, want: "d1"},
		{name: "unknown name", p: params{Datastore: "nope"}, size: gib, wantErr: `"nope": no such datastore`},
		{name: "named but offline", p: params{Datastore: "offline"}, size: gib, wantErr: "maintenance"},
		{name: "policy", compat: map[string]bool{"d1": true}, size: gib, want: "d1"},
		{name: "zone nobody serves", topo: &csi.TopologyRequirement{Requisite: []*csi.Topology{seg("c")}}, size: gib, wantErr: "not reachable"},
	} {
		got, err := chooseDatastore(dss, tc.p, tc.topo, tc.size, tc.compat)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%s: error = %v, want %q", tc.name, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got.Ref != tc.want {
			t.Errorf("%s: got %s, %v; want %s", tc.name, got.Ref, err, tc.want)
		}
	}
}
