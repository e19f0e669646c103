package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const upstreamYAML = `
global:
  port: 443
  insecureFlag: true
  secretName: vsphere-creds
  secretNamespace: kube-system
vcenter:
  tenant1:
    server: 10.0.0.1
    datacenters:
      - dc1
      - dc2
  vc2.example.com:
    datacenters: [dc3]
    ipFamily: [ipv6, ipv4]
labels:
  region: k8s-region
  zone: k8s-zone
nodes:
  internalNetworkSubnetCidr: 192.0.3.0/24,fe80::4/128
  externalVmNetworkName: external-network
  excludeInternalNetworkSubnetCidr: 192.0.3.1/32
`

func TestLoadUpstreamFileUnchanged(t *testing.T) {
	cfg, err := Load([]byte(upstreamYAML))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if len(cfg.Warnings) != 0 {
		t.Errorf("warnings for an upstream file: %v", cfg.Warnings)
	}
	if got := len(cfg.VCenters); got != 2 {
		t.Fatalf("vcenters = %d, want 2", got)
	}
	a, b := cfg.VCenters[0], cfg.VCenters[1]
	if a.Name != "tenant1" || a.Server != "10.0.0.1" || a.Port != 443 || !a.Insecure ||
		strings.Join(a.Datacenters, ",") != "dc1,dc2" || a.SecretNamespace != "kube-system" ||
		strings.Join(a.IPFamilies, ",") != "ipv4" {
		t.Errorf("tenant1 = %+v", a)
	}
	if b.Server != "vc2.example.com" || strings.Join(b.IPFamilies, ",") != "ipv6,ipv4" || b.SecretName != "vsphere-creds" {
		t.Errorf("vc2 = %+v", b)
	}
	if cfg.ZoneCategory != "k8s-zone" || cfg.RegionCategory != "k8s-region" {
		t.Errorf("labels = %q %q", cfg.ZoneCategory, cfg.RegionCategory)
	}
	if len(cfg.Nodes.InternalSubnets) != 2 || cfg.Nodes.ExternalNetworkName != "external-network" || len(cfg.Nodes.ExcludeInternalSubnets) != 1 {
		t.Errorf("nodes = %+v", cfg.Nodes)
	}
	if cfg.Inventory.ResyncPeriod != 10*time.Minute || cfg.Inventory.Freshness != DefaultFreshness {
		t.Errorf("inventory defaults = %+v", cfg.Inventory)
	}
}

func TestLegacyGlobalServer(t *testing.T) {
	cfg, err := Load([]byte("global:\n  server: vc.example.com\n  secretsDirectory: /etc/cloud/credentials\n  datacenters: [DC0]\n"))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if len(cfg.VCenters) != 1 || cfg.VCenters[0].Server != "vc.example.com" || cfg.VCenters[0].Insecure {
		t.Fatalf("vcenters = %+v", cfg.VCenters)
	}
}

func TestUnknownKeysWarn(t *testing.T) {
	cfg, err := Load([]byte(upstreamYAML + "loadbalancer:\n  x: 1\nglobal2: {}\n"))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	got := strings.Join(cfg.Warnings, "|")
	for _, want := range []string{"loadbalancer: unknown key", "global2: unknown key"} {
		if !strings.Contains(got, want) {
			t.Errorf("warnings %q lack %q", got, want)
		}
	}
	cfg, err = Load([]byte(strings.Replace(upstreamYAML, "    server: 10.0.0.1", "    server: 10.0.0.1\n    sever: typo", 1)))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if !strings.Contains(strings.Join(cfg.Warnings, "|"), "vcenter.tenant1.sever: unknown key") {
		t.Errorf("nested typo not warned: %v", cfg.Warnings)
	}
}

func TestInvalidConfigsNameTheField(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "ca.txt")
	if err := os.WriteFile(notPEM, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	const creds = "    secretName: s\n    secretNamespace: ns\n"
	for _, tc := range []struct {
		name, yaml, field string
	}{
		{"empty file", "", "file is empty"},
		{"not yaml", "global: [", "not valid YAML"},
		{"ini format", "[Global]\nserver = x\n", "INI format"},
		{"no vcenter", "labels:\n  zone: z\n", "vcenter: at least one"},
		{"url as server", "vcenter:\n  a:\n    server: https://vc/sdk\n" + creds, "vcenter.a.server"},
		{"bad host", "vcenter:\n  a:\n    server: 'vc center'\n" + creds, "vcenter.a.server"},
		{"port out of range", "vcenter:\n  a:\n    server: vc\n    port: 70000\n" + creds, "vcenter.a.port"},
		{"port wrong type", "vcenter:\n  a:\n    server: vc\n    port: https\n" + creds, "port"},
		{"empty datacenter", "vcenter:\n  a:\n    server: vc\n    datacenters: ['']\n" + creds, "vcenter.a.datacenters[0]"},
		{"duplicate datacenter", "vcenter:\n  a:\n    server: vc\n    datacenters: [dc, dc]\n" + creds, "vcenter.a.datacenters[1]"},
		{"insecure with thumbprint", "vcenter:\n  a:\n    server: vc\n    insecureFlag: true\n    thumbprint: 'AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD'\n" + creds, "vcenter.a.insecureFlag"},
		{"bad thumbprint", "vcenter:\n  a:\n    server: vc\n    thumbprint: abc\n" + creds, "vcenter.a.thumbprint"},
		{"missing ca file", "vcenter:\n  a:\n    server: vc\n    caFile: /nonexistent/ca.pem\n" + creds, "vcenter.a.caFile"},
		{"ca file not pem", "vcenter:\n  a:\n    server: vc\n    caFile: " + notPEM + "\n" + creds, "vcenter.a.caFile"},
		{"no credentials", "vcenter:\n  a:\n    server: vc\n", "vcenter.a.secretName"},
		{"secret without namespace", "vcenter:\n  a:\n    server: vc\n    secretName: s\n", "vcenter.a.secretNamespace"},
		{"password in file", "global:\n  password: hunter2\nvcenter:\n  a:\n    server: vc\n" + creds, "global.password"},
		{"user in vcenter", "vcenter:\n  a:\n    server: vc\n    user: admin\n" + creds, "vcenter.a.user"},
		{"bad ip family", "vcenter:\n  a:\n    server: vc\n    ipFamily: [ipv5]\n" + creds, "vcenter.a.ipFamily[0]"},
		{"duplicate ip family", "vcenter:\n  a:\n    server: vc\n    ipFamily: [ipv4, ipv4]\n" + creds, "vcenter.a.ipFamily[1]"},
		{"same server twice", "vcenter:\n  a:\n    server: vc\n" + creds + "  b:\n    server: VC\n" + creds, "vcenter.b.server"},
		{"zone equals region", "vcenter:\n  a:\n    server: vc\n" + creds + "labels:\n  zone: k\n  region: k\n", "labels.region"},
		{"bad subnet", "vcenter:\n  a:\n    server: vc\n" + creds + "nodes:\n  internalNetworkSubnetCidr: 10.0.0.0/33\n", "nodes.internalNetworkSubnetCidr"},
		{"bad exclude", "vcenter:\n  a:\n    server: vc\n" + creds + "nodes:\n  excludeExternalNetworkSubnetCidr: nope\n", "nodes.excludeExternalNetworkSubnetCidr"},
		{"freshness below maxWait", "vcenter:\n  a:\n    server: vc\n" + creds + "inventory:\n  maxWait: 60s\n  freshness: 30s\n", "inventory.freshness"},
		{"bad duration", "vcenter:\n  a:\n    server: vc\n" + creds + "inventory:\n  resyncPeriod: often\n", "often"},
		{"negative resync", "vcenter:\n  a:\n    server: vc\n" + creds + "inventory:\n  resyncPeriod: -1m\n", "inventory.resyncPeriod"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load([]byte(tc.yaml))
			if err == nil {
				t.Fatalf("accepted:\n%s", tc.yaml)
			}
			if !strings.Contains(err.Error(), tc.field) {
				t.Errorf("error %q does not name %q", err, tc.field)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error leaks the password: %q", err)
			}
		})
	}
}
