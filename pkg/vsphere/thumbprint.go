package vsphere

import (
	"crypto/sha1" //nolint:gosec // vSphere thumbprints are SHA-1 or SHA-256 fingerprints, not signatures
	"crypto/sha256"
	"crypto/tls"
	"fmt"
	"strings"
)

// thumbprintMismatchError is returned by the TLS handshake when the vCenter certificate's
// fingerprint is not the configured thumbprint. It wraps ErrCertificate.
type thumbprintMismatchError struct {
	want, got string
}

func (e *thumbprintMismatchError) Error() string {
	return fmt.Sprintf("vCenter certificate fingerprint %s is not the configured thumbprint %s", e.got, e.want)
}

func (e *thumbprintMismatchError) Unwrap() error { return ErrCertificate }

// verifyThumbprint returns a tls.Config.VerifyConnection that accepts exactly the
// certificate whose SHA-1 or SHA-256 fingerprint is want (colon-separated hex, any case).
func verifyThumbprint(want string) func(tls.ConnectionState) error {
	want = strings.ToUpper(strings.TrimSpace(want))
	return func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return &thumbprintMismatchError{want: want, got: "(none)"}
		}
		raw := cs.PeerCertificates[0].Raw
		var got string
		if len(want) == 59 { // 20 bytes
			sum := sha1.Sum(raw) //nolint:gosec // see import
			got = colonHex(sum[:])
		} else {
			sum := sha256.Sum256(raw)
			got = colonHex(sum[:])
		}
		if got != want {
			return &thumbprintMismatchError{want: want, got: got}
		}
		return nil
	}
}

func colonHex(b []byte) string {
	parts := make([]string, len(b))
	for i, x := range b {
		parts[i] = fmt.Sprintf("%02X", x)
	}
	return strings.Join(parts, ":")
}
