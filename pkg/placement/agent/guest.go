package agent

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/vsphere-cloud/provider/pkg/biosuuid"
)

// Guest reads what the guest OS knows about its VM, under configurable roots so that
// tests can point them at fixtures.
type Guest struct {
	// DMIRoot is /sys/class/dmi/id on a real node.
	DMIRoot string
	// DevRoot is /dev on a real node.
	DevRoot string
	// ProcRoot is /proc on a real node.
	ProcRoot string
}

// IdentityResult is the outcome of comparing the DMI UUID with the providerID.
type IdentityResult struct {
	OK      bool
	Reason  string
	Message string
}

// CheckIdentity compares the DMI product_uuid (and product_serial, "VMware-xx xx ...")
// with the providerID's UUID in both byte orders.
func (g Guest) CheckIdentity(providerUUID string) IdentityResult {
	if providerUUID == "" {
		return IdentityResult{Reason: "NoProviderID", Message: "the Node has no vsphere:// providerID yet; cloud-controller sets it at initialization"}
	}
	want, err := biosuuid.Normalize(providerUUID)
	if err != nil {
		return IdentityResult{Reason: "BadProviderID", Message: err.Error()}
	}
	var seen []string
	for _, f := range []string{"product_uuid", "product_serial"} {
		b, err := os.ReadFile(filepath.Join(g.DMIRoot, f))
		if err != nil {
			continue
		}
		raw := strings.TrimSpace(string(b))
		if f == "product_serial" {
			raw = strings.TrimPrefix(raw, "VMware-")
		}
		u, err := biosuuid.Normalize(raw)
		if err != nil {
			continue
		}
		seen = append(seen, u)
		swapped, _ := biosuuid.SwapByteOrder(u)
		if u == want || swapped == want {
			return IdentityResult{OK: true, Reason: "UUIDMatches", Message: "the guest's DMI UUID matches the providerID"}
		}
	}
	if len(seen) == 0 {
		return IdentityResult{Reason: "DMIUnreadable", Message: "cannot read " + filepath.Join(g.DMIRoot, "product_uuid") + "; mount /sys/class/dmi/id into vsphere-node"}
	}
	return IdentityResult{Reason: "UUIDMismatch", Message: "the guest's DMI UUID " + seen[0] + " does not match the providerID UUID " + want +
		": this Node's name or providerID points at another VM (a cloned VM, or a reused node name); delete the Node and let kubelet register again"}
}

// DiskUUIDsVisible reports whether any disk exposes a VMware UUID to the guest
// (/dev/disk/by-id/wwn-0x6000c2...), which needs disk.EnableUUID=TRUE on the VM.
func (g Guest) DiskUUIDsVisible() bool {
	entries, err := os.ReadDir(filepath.Join(g.DevRoot, "disk", "by-id"))
	if err != nil {
		return false
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "wwn-0x6000c2") {
			return true
		}
	}
	return false
}

// ToolsProcessRunning reports whether a vmtoolsd process runs in the guest.
func (g Guest) ToolsProcessRunning() bool {
	entries, err := os.ReadDir(g.ProcRoot)
	if err != nil {
		return false
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(g.ProcRoot, e.Name(), "comm"))
		if err == nil && strings.TrimSpace(string(b)) == "vmtoolsd" {
			return true
		}
	}
	return false
}
