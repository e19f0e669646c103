// Package biosuuid converts VM BIOS UUIDs between the forms vSphere, the guest's DMI
// tables and kubelet use. It has no dependencies, so the node agent can use it without
// linking the vSphere client.
package biosuuid

import (
	"encoding/hex"
	"fmt"
	"strings"
)

// Normalize returns a BIOS UUID in canonical lower-case 8-4-4-4-12 form. It accepts
// upper case, missing dashes and surrounding braces; anything else is an error.
func Normalize(s string) (string, error) {
	b, err := uuidBytes(s)
	if err != nil {
		return "", err
	}
	return formatUUID(b), nil
}

// SwapByteOrder converts between the two byte orders a BIOS UUID is seen in: the
// first three groups are little-endian in SMBIOS 2.6+ (what Linux shows in
// /sys/class/dmi/id/product_uuid and kubelet reports as SystemUUID on VM hardware
// version 13 and later) and big-endian in vSphere's config.uuid.
func SwapByteOrder(s string) (string, error) {
	b, err := uuidBytes(s)
	if err != nil {
		return "", err
	}
	b[0], b[1], b[2], b[3] = b[3], b[2], b[1], b[0]
	b[4], b[5] = b[5], b[4]
	b[6], b[7] = b[7], b[6]
	return formatUUID(b), nil
}

func uuidBytes(s string) ([16]byte, error) {
	var b [16]byte
	h := strings.ToLower(strings.TrimSpace(s))
	h = strings.TrimSuffix(strings.TrimPrefix(h, "{"), "}")
	h = strings.ReplaceAll(h, "-", "")
	h = strings.ReplaceAll(h, " ", "")
	if len(h) != 32 {
		return b, fmt.Errorf("%q is not a UUID: want 32 hex digits", s)
	}
	if _, err := hex.Decode(b[:], []byte(h)); err != nil {
		return b, fmt.Errorf("%q is not a UUID: %w", s, err)
	}
	return b, nil
}

func formatUUID(b [16]byte) string {
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}
