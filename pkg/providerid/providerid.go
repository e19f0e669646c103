// Package providerid is the one place that reads and writes a Node's spec.providerID,
// "vsphere://" followed by the VM's BIOS UUID as vSphere reports it (config.uuid), as the
// upstream vSphere provider writes it. It has no dependencies beyond pkg/biosuuid, so node
// programs use it without linking the vSphere client. It does not look a VM up.
package providerid

import (
	"fmt"
	"strings"

	"github.com/vsphere-cloud/provider/pkg/biosuuid"
)

// Prefix starts every providerID this provider writes.
const Prefix = "vsphere://"

// Format returns the providerID of the VM with BIOS UUID uuid.
func Format(uuid string) string { return Prefix + uuid }

// UUID returns the BIOS UUID in providerID as written (not normalized), and false when
// providerID is not a vSphere one (empty, or another provider's).
func UUID(providerID string) (string, bool) {
	return strings.CutPrefix(providerID, Prefix)
}

// Parse returns the normalized BIOS UUID of a vSphere providerID (lower case, 8-4-4-4-12),
// or an error naming what is wrong with it.
func Parse(providerID string) (string, error) {
	raw, ok := UUID(providerID)
	if !ok {
		return "", fmt.Errorf("providerID %q does not start with %s", providerID, Prefix)
	}
	id, err := biosuuid.Normalize(raw)
	if err != nil {
		return "", fmt.Errorf("providerID %q: %w", providerID, err)
	}
	return id, nil
}
