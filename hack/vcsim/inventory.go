package main

import (
	"context"
	"crypto/sha256"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strings"

	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vapi/rest"
	"github.com/vmware/govmomi/vapi/tags"
	"github.com/vmware/govmomi/view"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
	"golang.org/x/sync/errgroup"
	"sigs.k8s.io/yaml"
)

// Inventory is the simulator's content. Datacenters, clusters and hosts come from
// govmomi's model and keep its names (DC0, DC0_C0, DC0_C0_H0, ...); VMs and tags are ours.
type Inventory struct {
	// Datacenters is the number of datacenters (default 1).
	Datacenters int `json:"datacenters"`
	// Clusters is the number of clusters per datacenter (default 1).
	Clusters int `json:"clusters"`
	// Hosts is the number of hosts per cluster (default 2).
	Hosts int `json:"hosts"`
	// Datastores is the number of datastores every host mounts (default 1): LocalDS_0, ...
	Datastores int `json:"datastores,omitempty"`
	// VMs are created many at once (their managed object references follow no order).
	VMs []VM `json:"vms"`
	// Generate appends Count more VMs with derived names, UUIDs and addresses.
	Generate *Generate `json:"generate,omitempty"`
	// Tags creates tag categories and tags, and attaches them.
	Tags []Tag `json:"tags"`
}

// VM is one virtual machine.
type VM struct {
	Name string `json:"name"`
	// Datacenter defaults to DC0; Cluster to the datacenter's first cluster; Host to the
	// cluster's hosts in turn.
	Datacenter string `json:"datacenter,omitempty"`
	Cluster    string `json:"cluster,omitempty"`
	Host       string `json:"host,omitempty"`
	// UUID is the BIOS UUID; derived from the name when empty.
	UUID     string   `json:"uuid,omitempty"`
	Hostname string   `json:"hostname,omitempty"`
	IPs      []string `json:"ips,omitempty"`
	// Network is the port group the guest reports for its NIC (default "VM Network").
	Network string `json:"network,omitempty"`
	// MAC is the NIC's address; derived from the UUID when empty (the kind world gives each
	// node container's, so that VIP announcers find their interface as on a real VM).
	MAC        string `json:"mac,omitempty"`
	PoweredOff bool   `json:"poweredOff,omitempty"`
	CPUs       int32  `json:"cpus,omitempty"`
	MemoryMB   int64  `json:"memoryMB,omitempty"`
	GuestID    string `json:"guestId,omitempty"`
	// DiskUUIDDisabled leaves out disk.EnableUUID=TRUE, which node VMs need.
	DiskUUIDDisabled bool `json:"diskUUIDDisabled,omitempty"`
	// HardwareVersion is config.version, such as vmx-19 (the simulator's default when empty).
	HardwareVersion string `json:"hardwareVersion,omitempty"`
	// BootController, when set, gives the VM a boot disk on unit 0 of a SCSI controller of
	// this type: pvscsi or lsilogic-sas.
	BootController string `json:"bootController,omitempty"`
}

// Generate describes many similar VMs: <prefix><i>, hostname the same, one IPv4 address
// counting up from IPBase, spread over every datacenter's clusters.
type Generate struct {
	Count  int    `json:"count"`
	Prefix string `json:"prefix"`
	IPBase string `json:"ipBase"`
}

// Tag is one tag in one category, attached to objects named by their inventory names.
type Tag struct {
	Category string   `json:"category"`
	Name     string   `json:"name"`
	AttachTo []string `json:"attachTo"`
}

func loadInventory(path string) (*Inventory, error) {
	inv := &Inventory{}
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		if err := yaml.UnmarshalStrict(data, inv); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	if inv.Datacenters == 0 {
		inv.Datacenters = 1
	}
	if inv.Clusters == 0 {
		inv.Clusters = 1
	}
	if inv.Hosts == 0 {
		inv.Hosts = 2
	}
	if g := inv.Generate; g != nil && g.Count > 0 {
		base := netip.MustParseAddr("10.0.0.10")
		if g.IPBase != "" {
			var err error
			if base, err = netip.ParseAddr(g.IPBase); err != nil {
				return nil, fmt.Errorf("generate.ipBase: %w", err)
			}
		}
		ip := base
		for i := 0; i < g.Count; i++ {
			name := fmt.Sprintf("%s%d", g.Prefix, i)
			dc := fmt.Sprintf("DC%d", i%inv.Datacenters)
			cl := fmt.Sprintf("%s_C%d", dc, (i/inv.Datacenters)%inv.Clusters)
			inv.VMs = append(inv.VMs, VM{Name: name, Datacenter: dc, Cluster: cl, Hostname: name, IPs: []string{ip.String()}})
			ip = ip.Next()
		}
	}
	return inv, nil
}

// DerivedUUID is the BIOS UUID a VM gets when the inventory names none: stable across
// simulator restarts, so Nodes keep matching their VMs.
func DerivedUUID(dc, name string) string {
	h := sha256.Sum256([]byte(dc + "/" + name))
	h[6] = (h[6] & 0x0f) | 0x40
	h[8] = (h[8] & 0x3f) | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

func model(inv *Inventory) *simulator.Model {
	m := simulator.VPX()
	m.Datacenter = inv.Datacenters
	m.Cluster = inv.Clusters
	m.ClusterHost = inv.Hosts
	if inv.Datastores > 0 {
		m.Datastore = inv.Datastores
	}
	m.Host = 0
	m.Machine = 0
	m.Autostart = false
	return m
}

// populate creates the VMs through the simulator's own API, called in process (no SOAP
// encoding: 50,000 VMs are created in minutes), and the tags through its REST endpoints.
func populate(ctx context.Context, m *simulator.Model, c *vim25.Client, inv *Inventory) error {
	local, err := vim25.NewClient(ctx, m.Service)
	if err != nil {
		return err
	}
	places := placements{finder: find.NewFinder(local), byHost: map[string]*placement{}}
	next := map[string]int{}
	// Each create and power-on waits at least one 20 ms tick of the simulator's property
	// collector: many at once, so that 50,000 VMs take minutes, not hours.
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(64)
	for i := range inv.VMs {
		vm := &inv.VMs[i]
		if vm.Datacenter == "" {
			vm.Datacenter = "DC0"
		}
		if vm.Cluster == "" {
			vm.Cluster = vm.Datacenter + "_C0"
		}
		if vm.UUID == "" {
			vm.UUID = DerivedUUID(vm.Datacenter, vm.Name)
		}
		if vm.Host == "" {
			n := next[vm.Cluster]
			next[vm.Cluster] = n + 1
			vm.Host = fmt.Sprintf("%s_H%d", vm.Cluster, n%inv.Hosts)
		}
		p, err := places.get(ctx, vm)
		if err != nil {
			return fmt.Errorf("vms[%d] %s: %w", i, vm.Name, err)
		}
		g.Go(func() error {
			if err := createVM(gctx, m, local, p, vm); err != nil {
				return fmt.Errorf("vms[%d] %s: %w", i, vm.Name, err)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	if len(inv.Tags) > 0 {
		if err := createTags(ctx, c, find.NewFinder(c), inv.Tags); err != nil {
			return fmt.Errorf("tags: %w", err)
		}
	}
	return nil
}

// placement is where a host's VMs go: the datacenter's VM folder, the cluster's resource
// pool, the host, and the first datastore (LocalDS_0), whichever number there are.
type placement struct {
	folder    *object.Folder
	pool      *object.ResourcePool
	host      *object.HostSystem
	datastore string
}

// placements looks each host's placement up once.
type placements struct {
	finder *find.Finder
	byHost map[string]*placement
}

func (ps placements) get(ctx context.Context, vm *VM) (*placement, error) {
	key := vm.Datacenter + "/" + vm.Cluster + "/" + vm.Host
	if p, ok := ps.byHost[key]; ok {
		return p, nil
	}
	dc, err := ps.finder.Datacenter(ctx, vm.Datacenter)
	if err != nil {
		return nil, err
	}
	ps.finder.SetDatacenter(dc)
	folders, err := dc.Folders(ctx)
	if err != nil {
		return nil, err
	}
	pool, err := ps.finder.ResourcePool(ctx, fmt.Sprintf("/%s/host/%s/Resources", vm.Datacenter, vm.Cluster))
	if err != nil {
		return nil, err
	}
	host, err := ps.finder.HostSystem(ctx, fmt.Sprintf("/%s/host/%s/%s", vm.Datacenter, vm.Cluster, vm.Host))
	if err != nil {
		return nil, err
	}
	dss, err := ps.finder.DatastoreList(ctx, "*")
	if err != nil {
		return nil, err
	}
	slices.SortFunc(dss, func(a, b *object.Datastore) int { return strings.Compare(a.Name(), b.Name()) })
	p := &placement{folder: folders.VmFolder, pool: pool, host: host, datastore: dss[0].Name()}
	ps.byHost[key] = p
	return p, nil
}

func createVM(ctx context.Context, m *simulator.Model, c *vim25.Client, p *placement, vm *VM) error {
	spec := types.VirtualMachineConfigSpec{
		Name: vm.Name, Uuid: vm.UUID, GuestId: orDefault(vm.GuestID, "ubuntu64Guest"),
		NumCPUs: max(vm.CPUs, 2), MemoryMB: max(vm.MemoryMB, 4096),
		Files: &types.VirtualMachineFileInfo{VmPathName: "[" + p.datastore + "]"},
	}
	if !vm.DiskUUIDDisabled {
		spec.ExtraConfig = []types.BaseOptionValue{&types.OptionValue{Key: "disk.EnableUUID", Value: "TRUE"}}
	}
	spec.Version = vm.HardwareVersion
	boot, err := bootDisk(vm.BootController, p.datastore, vm.Name)
	if err != nil {
		return err
	}
	spec.DeviceChange = boot
	task, err := p.folder.CreateVM(ctx, spec, p.pool, p.host)
	if err != nil {
		return err
	}
	res, err := task.WaitForResult(ctx)
	if err != nil {
		return err
	}
	ref := res.Result.(types.ManagedObjectReference)
	obj := object.NewVirtualMachine(c, ref)
	if !vm.PoweredOff {
		task, err := obj.PowerOn(ctx)
		if err != nil {
			return err
		}
		if err := task.Wait(ctx); err != nil {
			return err
		}
	}
	setGuest(m, ref, vm)
	return nil
}

// setGuest writes what VMware Tools would report, and publishes it to property collectors.
func setGuest(m *simulator.Model, ref types.ManagedObjectReference, vm *VM) {
	sctx := m.Service.Context
	obj := m.Map().Get(ref).(*simulator.VirtualMachine)
	nic := types.GuestNicInfo{
		Network: orDefault(vm.Network, "VM Network"), Connected: true, DeviceConfigId: 4000,
		MacAddress: fmt.Sprintf("00:50:56:%s", vm.UUID[0:2]+":"+vm.UUID[2:4]+":"+vm.UUID[4:6]),
		IpAddress:  vm.IPs,
	}
	if vm.MAC != "" {
		nic.MacAddress = strings.ToLower(vm.MAC)
	}
	var nets []types.GuestNicInfo
	if len(vm.IPs) > 0 {
		nets = []types.GuestNicInfo{nic}
	}
	ip := ""
	if len(vm.IPs) > 0 {
		ip = vm.IPs[0]
	}
	m.Map().AtomicUpdate(sctx, obj, []types.PropertyChange{
		{Name: "guest.hostName", Val: vm.Hostname},
		{Name: "guest.ipAddress", Val: ip},
		{Name: "guest.net", Val: nets},
	})
}

func createTags(ctx context.Context, c *vim25.Client, finder *find.Finder, list []Tag) error {
	rc := rest.NewClient(c)
	if err := rc.Login(ctx, simulatorUser); err != nil {
		return err
	}
	tm := tags.NewManager(rc)
	cats := map[string]string{}
	for _, t := range list {
		catID, ok := cats[t.Category]
		if !ok {
			id, err := tm.CreateCategory(ctx, &tags.Category{Name: t.Category, Cardinality: "SINGLE",
				AssociableTypes: []string{"Datacenter", "ClusterComputeResource", "HostSystem", "VirtualMachine"}})
			if err != nil {
				return err
			}
			cats[t.Category], catID = id, id
		}
		tagID, err := tm.CreateTag(ctx, &tags.Tag{Name: t.Name, CategoryID: catID})
		if err != nil {
			return err
		}
		for _, name := range t.AttachTo {
			ref, err := findByName(ctx, c, name)
			if err != nil {
				return fmt.Errorf("tag %s/%s: %w", t.Category, t.Name, err)
			}
			if err := tm.AttachTag(ctx, tagID, ref); err != nil {
				return err
			}
		}
	}
	return nil
}

func findByName(ctx context.Context, c *vim25.Client, name string) (types.ManagedObjectReference, error) {
	for _, kind := range []string{"Datacenter", "ClusterComputeResource", "HostSystem", "VirtualMachine"} {
		var objs []mo.ManagedEntity
		m := view.NewManager(c)
		v, err := m.CreateContainerView(ctx, c.ServiceContent.RootFolder, []string{kind}, true)
		if err != nil {
			return types.ManagedObjectReference{}, err
		}
		err = v.Retrieve(ctx, []string{kind}, []string{"name"}, &objs)
		_ = v.Destroy(ctx)
		if err != nil {
			return types.ManagedObjectReference{}, err
		}
		for _, o := range objs {
			if o.Name == name {
				return o.Self, nil
			}
		}
	}
	return types.ManagedObjectReference{}, fmt.Errorf("no datacenter, cluster, host or VM named %q", name)
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
