package vsphere

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/soap"

	"github.com/vsphere-cloud/provider/pkg/vsphere/config"
)

// TestTLSIsVerifiedByDefault: a self-signed vCenter certificate is refused unless the
// configuration trusts it (CA file or thumbprint) or explicitly turns verification off.
func TestTLSIsVerifiedByDefault(t *testing.T) {
	m := simulator.VPX()
	if err := m.Create(); err != nil {
		t.Fatal(err)
	}
	defer m.Remove()
	m.Service.TLS = new(tls.Config)
	s := m.Service.NewServer()
	defer s.Close()
	host, port, _ := net.SplitHostPort(s.URL.Host)
	p, _ := strconv.Atoi(port)
	caFile, err := s.CertificateFile()
	if err != nil {
		t.Fatal(err)
	}
	pw, _ := s.URL.User.Password()
	creds := staticCreds{Username: s.URL.User.Username(), Password: pw}
	good := soap.ThumbprintSHA1(s.Certificate())
	wrong := strings.Repeat("AB:", 19) + "AB"
	for _, tc := range []struct {
		name string
		vc   config.VCenterConfig
		ok   bool
	}{
		{"system roots only", config.VCenterConfig{}, false},
		{"wrong thumbprint", config.VCenterConfig{Thumbprint: wrong}, false},
		{"right thumbprint", config.VCenterConfig{Thumbprint: good}, true},
		{"CA file", config.VCenterConfig{CAFile: caFile}, true},
		{"insecureFlag", config.VCenterConfig{Insecure: true}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			vc := tc.vc
			vc.Name, vc.Server, vc.Port = "sim", host, p
			_, err := NewSession(vc, creds, 5*time.Second).Client(context.Background())
			switch {
			case tc.ok && err != nil:
				t.Errorf("refused: %v", err)
			case !tc.ok && !errors.Is(err, ErrCertificate):
				t.Errorf("got %v, want ErrCertificate", err)
			}
			if err != nil && strings.Contains(err.Error(), pw) {
				t.Errorf("error leaks the password: %v", err)
			}
		})
	}
}
