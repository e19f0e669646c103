package vsphere

import (
	"context"
	"fmt"

	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/view"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/vsphere-cloud/provider/pkg/vsphere/config"
)

// inventoryFeed is one round of the inventory watch's stream of updates: a property
// collector with one filter per watched datacenter, each over a container view of the
// datacenter's VMs, hosts and named objects.
type inventoryFeed struct {
	updateStream
	vcenter     string
	views       []*view.ContainerView
	datacenters []mo.Datacenter
	// dcOf names the datacenter of each filter, by the filter's ref.
	dcOf map[string]string
}

// openInventoryFeed creates the feed of the datacenters vc configures. On error, nothing
// it created is left behind.
func openInventoryFeed(ctx context.Context, client *vim25.Client, vc config.VCenterConfig) (*inventoryFeed, error) {
	dcs, err := configuredDatacenters(ctx, client, vc)
	if err != nil {
		return nil, err
	}
	pc, err := property.DefaultCollector(client).Create(ctx)
	if err != nil {
		return nil, fmt.Errorf("creating property collector: %w", classify(err))
	}
	f := &inventoryFeed{updateStream: updateStream{client: client, pc: pc}, vcenter: vc.Name, datacenters: dcs, dcOf: map[string]string{}}
	for _, dc := range dcs {
		if err := f.watchDatacenter(ctx, dc); err != nil {
			f.close(context.WithoutCancel(ctx))
			return nil, err
		}
	}
	return f, nil
}

// watchDatacenter adds a view of dc and a filter over it.
func (f *inventoryFeed) watchDatacenter(ctx context.Context, dc mo.Datacenter) error {
	v, err := view.NewManager(f.client).CreateContainerView(ctx, dc.Self, append([]string{"VirtualMachine", "HostSystem"}, namedTypes...), true)
	if err != nil {
		return fmt.Errorf("creating view of datacenter %s: %w", dc.Name, classify(err))
	}
	f.views = append(f.views, v)
	flt, err := f.pc.CreateFilter(ctx, types.CreateFilter{Spec: filterSpec(v.Reference())})
	if err != nil {
		return fmt.Errorf("creating property filter for datacenter %s: %w", dc.Name, classify(err))
	}
	f.dcOf[flt.Reference().Value] = dc.Name
	return nil
}

// close destroys the views, newest first, then the collector.
func (f *inventoryFeed) close(ctx context.Context) {
	for i := len(f.views) - 1; i >= 0; i-- {
		_ = f.views[i].Destroy(ctx)
	}
	_ = f.pc.Destroy(ctx)
}

// apply merges a batch of this feed into idx and says what it touched. The caller owns
// idx or holds the lock that guards it.
func (f *inventoryFeed) apply(idx *inventoryIndex, set *types.UpdateSet) Change {
	ch := Change{VCenter: f.vcenter}
	if set == nil {
		return ch
	}
	for _, fs := range set.FilterSet {
		dc := f.dcOf[fs.Filter.Value]
		for _, u := range fs.ObjectSet {
			idx.apply(dc, u)
			switch u.Obj.Type {
			case "VirtualMachine":
				ch.VMs = append(ch.VMs, u.Obj.Value)
			case "HostSystem":
				ch.Hosts = append(ch.Hosts, u.Obj.Value)
			default: // a renamed cluster, pool, folder or datastore can concern any VM
				ch.All = true
			}
		}
	}
	return ch
}

// filterSpec selects, through the container view viewRef, the watched properties of VMs,
// hosts and named objects.
func filterSpec(viewRef types.ManagedObjectReference) types.PropertyFilterSpec {
	ts := &types.TraversalSpec{Type: "ContainerView", Path: "view", Skip: types.NewBool(false)}
	props := []types.PropertySpec{{Type: "VirtualMachine", PathSet: vmProps}, {Type: "HostSystem", PathSet: hostProps}}
	for _, t := range namedTypes {
		props = append(props, types.PropertySpec{Type: t, PathSet: nameProps})
	}
	return types.PropertyFilterSpec{
		ObjectSet: []types.ObjectSpec{{Obj: viewRef, Skip: types.NewBool(true), SelectSet: []types.BaseSelectionSpec{ts}}},
		PropSet:   props,
	}
}

// configuredDatacenters resolves the datacenters vc configures (all when it names none).
func configuredDatacenters(ctx context.Context, client *vim25.Client, vc config.VCenterConfig) ([]mo.Datacenter, error) {
	v, err := view.NewManager(client).CreateContainerView(ctx, client.ServiceContent.RootFolder, []string{"Datacenter"}, true)
	if err != nil {
		return nil, fmt.Errorf("listing datacenters: %w", classify(err))
	}
	defer func() { _ = v.Destroy(context.WithoutCancel(ctx)) }()
	var all []mo.Datacenter
	if err := v.Retrieve(ctx, []string{"Datacenter"}, []string{"name"}, &all); err != nil {
		return nil, fmt.Errorf("listing datacenters: %w", classify(err))
	}
	if len(vc.Datacenters) == 0 {
		return all, nil
	}
	var out []mo.Datacenter
	var missing []string
	for _, want := range vc.Datacenters {
		found := false
		for _, dc := range all {
			if dc.Name == want {
				out = append(out, dc)
				found = true
			}
		}
		if !found {
			missing = append(missing, want)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%w: vcenter.%s.datacenters: %v not found in vCenter %s", ErrNotFound, vc.Name, missing, vc.Server)
	}
	return out, nil
}
