package config

import (
	"strings"
	"testing"
)

// FuzzLoad: any input either loads into a config whose every vCenter has a server and a
// valid port, or fails with an error that never echoes a password.
func FuzzLoad(f *testing.F) {
	f.Add([]byte(upstreamYAML))
	f.Add([]byte("global:\n  server: vc\n  secretsDirectory: /x\n"))
	f.Add([]byte("vcenter:\n  a:\n    server: vc\n    port: 0\n"))
	f.Add([]byte("global:\n  password: s3cret-canary\n"))
	f.Add([]byte("nodes:\n  internalNetworkSubnetCidr: 10.0.0.0/8,,fd00::/64\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Load(data)
		if err != nil {
			if strings.Contains(string(data), "s3cret-canary") && strings.Contains(err.Error(), "s3cret-canary") {
				t.Fatalf("error echoes the password: %v", err)
			}
			return
		}
		if len(cfg.VCenters) == 0 {
			t.Fatal("loaded a config without vCenters")
		}
		for _, vc := range cfg.VCenters {
			if vc.Server == "" || vc.Port < 1 || vc.Port > 65535 || (vc.SecretName == "" && vc.SecretsDirectory == "") {
				t.Fatalf("invalid vCenter accepted: %+v", vc)
			}
		}
		if cfg.Inventory.Freshness < 2*cfg.Inventory.MaxWait {
			t.Fatalf("freshness %s below twice maxWait %s", cfg.Inventory.Freshness, cfg.Inventory.MaxWait)
		}
	})
}
