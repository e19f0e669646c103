package vsphere

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/vmware/govmomi/view"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

// Topology is a zone and region pair, from the tag categories the configuration names.
type Topology struct {
	Zone   string
	Region string
}

// Datastore is a datastore that can hold disks, read directly from vCenter.
type Datastore struct {
	VCenter    string
	Datacenter string
	Ref        string
	Name       string
	// URL is the datastore's unique URL (summary.url), such as ds:///vmfs/volumes/<id>/.
	URL           string
	Type          string
	FreeBytes     int64
	CapacityBytes int64
	// Usable is false when the datastore is inaccessible or in (or entering) maintenance.
	Usable bool
	// Hosts are the refs of the hosts that mount the datastore and can reach it.
	Hosts []string
	// Topologies are the zones (with their regions) whose every host mounts the datastore:
	// a disk there can be attached to a VM on any host of such a zone.
	Topologies []Topology
}

// Datastores lists the datastores of every configured datacenter of every vCenter. It
// calls vCenter (one retrieval per datacenter); host topology comes from the inventory
// cache, which must be synced.
func (m *Manager) Datastores(ctx context.Context) ([]Datastore, error) {
	var out []Datastore
	for _, c := range m.vcenters {
		dss, err := c.datastores(ctx)
		if err != nil {
			return nil, err
		}
		out = append(out, dss...)
	}
	return out, nil
}

func (c *vCenter) datastores(ctx context.Context) ([]Datastore, error) {
	client, err := c.sess.Client(ctx)
	if err != nil {
		return nil, err
	}
	dcs, err := c.knownDatacenters(ctx, client)
	if err != nil {
		return nil, err
	}
	var out []Datastore
	for _, dc := range dcs {
		v, err := view.NewManager(client).CreateContainerView(ctx, dc.Self, []string{"Datastore"}, true)
		if err != nil {
			return nil, fmt.Errorf("vCenter %s: listing datastores of %s: %w", c.vc.Name, dc.Name, classify(err))
		}
		var dss []mo.Datastore
		err = v.Retrieve(ctx, []string{"Datastore"}, []string{"name", "summary", "host"}, &dss)
		_ = v.Destroy(context.WithoutCancel(ctx))
		if err != nil {
			return nil, fmt.Errorf("vCenter %s: listing datastores of %s: %w", c.vc.Name, dc.Name, classify(err))
		}
		for _, ds := range dss {
			d := Datastore{
				VCenter: c.vc.Name, Datacenter: dc.Name, Ref: ds.Self.Value, Name: ds.Name,
				URL: ds.Summary.Url, Type: ds.Summary.Type, FreeBytes: ds.Summary.FreeSpace,
				CapacityBytes: ds.Summary.Capacity,
				Usable:        ds.Summary.Accessible && (ds.Summary.MaintenanceMode == "" || ds.Summary.MaintenanceMode == "normal"),
			}
			for _, h := range ds.Host {
				if h.MountInfo.Accessible != nil && !*h.MountInfo.Accessible {
					continue
				}
				if h.MountInfo.Mounted != nil && !*h.MountInfo.Mounted {
					continue
				}
				d.Hosts = append(d.Hosts, h.Key.Value)
			}
			d.Topologies = c.topologiesReaching(d.Hosts)
			out = append(out, d)
		}
	}
	return out, nil
}

// topologiesReaching returns the zones all of whose hosts are among hosts.
func (c *vCenter) topologiesReaching(hosts []string) []Topology {
	mounted := map[string]bool{}
	for _, h := range hosts {
		mounted[h] = true
	}
	all := map[Topology]bool{} // zone -> every host of it mounts the datastore
	c.inventory.read(func(idx *inventoryIndex, _ CacheStatus) {
		if idx == nil {
			return
		}
		for ref := range idx.hosts {
			t := idx.hostTopology(ref)
			if t.Zone == "" && t.Region == "" {
				continue
			}
			ok, seen := all[t]
			all[t] = (ok || !seen) && mounted[ref]
		}
	})
	var out []Topology
	for t, ok := range all {
		if ok {
			out = append(out, t)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Region != out[j].Region {
			return out[i].Region < out[j].Region
		}
		return out[i].Zone < out[j].Zone
	})
	return out
}

// hostTopology is the zone and region of a host: its own tags, then its cluster's, then
// its datacenter's.
func (s *inventoryIndex) hostTopology(ref string) Topology {
	h := s.hosts[ref]
	if h == nil {
		return Topology{}
	}
	chain := []string{"HostSystem:" + ref}
	if h.parentType == "ClusterComputeResource" {
		chain = append(chain, "ClusterComputeResource:"+h.parent)
	}
	if dcRef, ok := s.dcRefs[h.dc]; ok {
		chain = append(chain, "Datacenter:"+dcRef)
	}
	var t Topology
	for _, k := range chain {
		if t.Zone == "" {
			t.Zone = s.zones[k]
		}
		if t.Region == "" {
			t.Region = s.regions[k]
		}
	}
	return t
}

// knownDatacenters are the watched datacenters as the inventory last read them (no call
// to vCenter: every volume create asks for datastores), or listed from vCenter before
// the first read.
func (c *vCenter) knownDatacenters(ctx context.Context, client *vim25.Client) ([]mo.Datacenter, error) {
	var dcs []mo.Datacenter
	c.inventory.read(func(idx *inventoryIndex, _ CacheStatus) {
		if idx == nil {
			return
		}
		for name, ref := range idx.dcRefs {
			var dc mo.Datacenter
			dc.Name = name
			dc.Self = types.ManagedObjectReference{Type: "Datacenter", Value: ref}
			dcs = append(dcs, dc)
		}
	})
	if len(dcs) > 0 {
		slices.SortFunc(dcs, func(a, b mo.Datacenter) int { return strings.Compare(a.Name, b.Name) })
		return dcs, nil
	}
	return c.datacenters(ctx, client)
}
