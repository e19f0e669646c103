package framework

import (
	"context"
	"crypto/sha256"
	"fmt"
	"os"

	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/types"
	"sigs.k8s.io/yaml"
)

// SimVM is one VM of a hack/vcsim inventory file.
type SimVM struct {
	Name       string `json:"name"`
	Datacenter string `json:"datacenter,omitempty"`
	Cluster    string `json:"cluster,omitempty"`
	// Host is the ESXi host (DC0_C0_H1); default: the cluster's hosts in turn.
	Host       string   `json:"host,omitempty"`
	UUID       string   `json:"uuid"`
	Hostname   string   `json:"hostname,omitempty"`
	IPs        []string `json:"ips,omitempty"`
	PoweredOff bool     `json:"poweredOff,omitempty"`
	// DiskUUIDDisabled leaves out disk.EnableUUID=TRUE.
	DiskUUIDDisabled bool `json:"diskUUIDDisabled,omitempty"`
	// HardwareVersion is config.version (vmx-19); BootController (pvscsi, lsilogic-sas)
	// gives the VM a boot disk on that controller.
	HardwareVersion string `json:"hardwareVersion,omitempty"`
	BootController  string `json:"bootController,omitempty"`
}

// SimTag is one tag of a hack/vcsim inventory file.
type SimTag struct {
	Category string   `json:"category"`
	Name     string   `json:"name"`
	AttachTo []string `json:"attachTo"`
}

// SimInventory is a hack/vcsim inventory file.
type SimInventory struct {
	Datacenters int      `json:"datacenters"`
	Clusters    int      `json:"clusters"`
	Hosts       int      `json:"hosts"`
	Datastores  int      `json:"datastores,omitempty"` // LocalDS_0, ... on every host (default 1)
	VMs         []SimVM  `json:"vms"`
	Tags        []SimTag `json:"tags,omitempty"`
}

// Write saves the inventory as YAML.
func (inv *SimInventory) Write(path string) error {
	b, err := yaml.Marshal(inv)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o600)
}

// TestUUID derives a stable BIOS UUID from a name.
func TestUUID(name string) string {
	h := sha256.Sum256([]byte(name))
	h[6] = (h[6] & 0x0f) | 0x40
	h[8] = (h[8] & 0x3f) | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

// FindVM finds a VM by inventory path, such as /DC0/vm/node-0.
func FindVM(ctx context.Context, c *vim25.Client, path string) (*object.VirtualMachine, error) {
	return find.NewFinder(c).VirtualMachine(ctx, path)
}

// CreateVM creates a powered-on VM with a BIOS UUID in a datacenter's first cluster, as
// an administrator would; its guest reports nothing (no Tools data yet).
func CreateVM(ctx context.Context, c *vim25.Client, dc, name, uuid string) error {
	finder := find.NewFinder(c)
	d, err := finder.Datacenter(ctx, dc)
	if err != nil {
		return err
	}
	finder.SetDatacenter(d)
	folders, err := d.Folders(ctx)
	if err != nil {
		return err
	}
	pool, err := finder.ResourcePool(ctx, "/"+dc+"/host/"+dc+"_C0/Resources")
	if err != nil {
		return err
	}
	ds, err := finder.DefaultDatastore(ctx)
	if err != nil {
		return err
	}
	task, err := folders.VmFolder.CreateVM(ctx, types.VirtualMachineConfigSpec{
		Name: name, Uuid: uuid, GuestId: "ubuntu64Guest", NumCPUs: 2, MemoryMB: 2048,
		Files: &types.VirtualMachineFileInfo{VmPathName: "[" + ds.Name() + "]"},
	}, pool, nil)
	if err != nil {
		return err
	}
	res, err := task.WaitForResult(ctx)
	if err != nil {
		return err
	}
	vm := object.NewVirtualMachine(c, res.Result.(types.ManagedObjectReference))
	ptask, err := vm.PowerOn(ctx)
	if err != nil {
		return err
	}
	return ptask.Wait(ctx)
}

// SetExtraConfig sets one advanced setting (extraConfig) of the VM at path, as an
// administrator would (vSphere wants the VM powered off for disk.EnableUUID; the
// simulator does not).
func SetExtraConfig(ctx context.Context, c *vim25.Client, path, key, value string) error {
	vm, err := FindVM(ctx, c, path)
	if err != nil {
		return err
	}
	task, err := vm.Reconfigure(ctx, types.VirtualMachineConfigSpec{ExtraConfig: []types.BaseOptionValue{&types.OptionValue{Key: key, Value: value}}})
	if err != nil {
		return err
	}
	return task.Wait(ctx)
}
