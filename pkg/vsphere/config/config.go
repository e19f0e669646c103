package config

import (
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"sort"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"
)

// Config is a validated configuration, with defaults applied and global values merged
// into each vCenter.
type Config struct {
	// VCenters is sorted by Name.
	VCenters []VCenterConfig
	// ZoneCategory and RegionCategory are tag category names; either may be empty.
	ZoneCategory   string
	RegionCategory string
	Nodes          NodeAddressRules
	Inventory      InventoryConfig
	LoadBalancer   LoadBalancerConfig
	// ClusterID is the Kubernetes cluster's name (cloud-controller's --cluster-name): the
	// container cluster that owns our volumes in Cloud Native Storage. Not read from the
	// file; empty means "kubernetes", the flag's default.
	ClusterID string
	// Warnings are problems that do not stop the program (unknown keys, ignored fields).
	Warnings []string
}

// VCenterConfig is one vCenter after defaulting.
type VCenterConfig struct {
	// Name is the key of the vcenter map.
	Name        string
	Server      string
	Port        int
	Datacenters []string
	Insecure    bool
	CAFile      string
	Thumbprint  string
	// SecretName and SecretNamespace, or SecretsDirectory, say where credentials are.
	SecretName       string
	SecretNamespace  string
	SecretsDirectory string
	// IPFamilies is "ipv4", "ipv6", or both in priority order.
	IPFamilies []string
	// PVSCSI64Targets: CNS attaches up to 64 disks per paravirtual SCSI controller of a VM
	// of hardware version 14 or later (vCenter's pvscsiCtrlr256DiskSupportEnabled).
	PVSCSI64Targets bool
}

// NodeAddressRules are the parsed nodes section.
type NodeAddressRules struct {
	InternalSubnets        []netip.Prefix
	ExternalSubnets        []netip.Prefix
	InternalNetworkName    string
	ExternalNetworkName    string
	ExcludeInternalSubnets []netip.Prefix
	ExcludeExternalSubnets []netip.Prefix
}

// LoadBalancerConfig is the validated loadBalancer section.
type LoadBalancerConfig struct {
	Enabled        bool
	ServeClassless bool
	LeaseNamespace string
}

// InventoryConfig are the inventory cache's timings.
type InventoryConfig struct {
	ResyncPeriod time.Duration
	MaxWait      time.Duration
	Freshness    time.Duration
	CallTimeout  time.Duration
}

// Defaults for InventoryConfig.
const (
	DefaultResyncPeriod = 10 * time.Minute
	DefaultMaxWait      = 60 * time.Second
	DefaultFreshness    = 3 * time.Minute
	DefaultCallTimeout  = 30 * time.Second
	DefaultPort         = 443
)

// LoadFile reads, defaults and validates the configuration file at path.
func LoadFile(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--cloud-config: %w", err)
	}
	return Load(data)
}

// Load parses, defaults and validates a configuration.
func Load(data []byte) (*Config, error) {
	f, warnings, err := Parse(data)
	if err != nil {
		return nil, err
	}
	cfg, err := f.Resolve()
	if err != nil {
		return nil, err
	}
	cfg.Warnings = append(warnings, cfg.Warnings...)
	return cfg, nil
}

// Parse decodes a configuration file. Unknown keys are returned as warnings, not errors,
// so that a file written for the upstream provider keeps working.
func Parse(data []byte) (*File, []string, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, nil, fmt.Errorf("cloud config: the file is empty")
	}
	var raw any
	if err := yaml.Unmarshal(data, &raw); err != nil {
		return nil, nil, fmt.Errorf("cloud config: not valid YAML: %w", err)
	}
	if _, ok := raw.(map[string]any); !ok {
		return nil, nil, fmt.Errorf("cloud config: the top level must be a mapping with global, vcenter, labels and nodes sections (the INI format is not supported)")
	}
	var f File
	if err := yaml.Unmarshal(data, &f); err != nil {
		return nil, nil, fmt.Errorf("cloud config: %w", err)
	}
	var warnings []string
	for _, k := range unknownKeys(raw, &f) {
		warnings = append(warnings, fmt.Sprintf("%s: unknown key, ignored", k))
	}
	sort.Strings(warnings)
	return &f, warnings, nil
}

// Resolve defaults and validates a parsed file.
func (f *File) Resolve() (*Config, error) {
	v := &validator{}
	cfg := &Config{
		ZoneCategory:   strings.TrimSpace(f.Labels.Zone),
		RegionCategory: strings.TrimSpace(f.Labels.Region),
	}
	v.credentialsInFile("global", f.Global.User, f.Global.Password)
	if f.Global.RoundTripperCount != 0 {
		cfg.Warnings = append(cfg.Warnings, "global.soapRoundtripCount: ignored; vsphere-cloud retries in its controllers")
	}
	entries := map[string]*VCenter{}
	for k, vc := range f.VCenter {
		entries[k] = vc
	}
	if s := strings.TrimSpace(f.Global.Server); s != "" {
		if _, ok := entries[s]; !ok {
			entries[s] = &VCenter{Server: s}
		}
	}
	if len(entries) == 0 {
		v.add("vcenter", "at least one vCenter is required (a vcenter entry with a server, or global.server)")
	}
	names := make([]string, 0, len(entries))
	for k := range entries {
		names = append(names, k)
	}
	sort.Strings(names)
	servers := map[string]string{}
	for _, name := range names {
		vc := entries[name]
		if vc == nil {
			vc = &VCenter{}
		}
		path := "vcenter." + name
		r := v.vcenter(path, name, &f.Global, vc)
		if r.Server != "" {
			key := fmt.Sprintf("%s:%d", strings.ToLower(r.Server), r.Port)
			if other, ok := servers[key]; ok {
				v.add(path+".server", fmt.Sprintf("%q is also the server of vcenter.%s; each vCenter may appear once", r.Server, other))
			}
			servers[key] = name
		}
		if vc.RoundTripperCount != 0 {
			cfg.Warnings = append(cfg.Warnings, path+".soapRoundtripCount: ignored; vsphere-cloud retries in its controllers")
		}
		cfg.VCenters = append(cfg.VCenters, r)
	}
	if cfg.ZoneCategory != "" && cfg.ZoneCategory == cfg.RegionCategory {
		v.add("labels.region", fmt.Sprintf("must differ from labels.zone (both are %q): one tag category cannot be both", cfg.ZoneCategory))
	}
	cfg.Nodes = v.nodes(&f.Nodes)
	cfg.Inventory = v.inventory(&f.Inventory)
	cfg.LoadBalancer = LoadBalancerConfig{
		Enabled:        f.LoadBalancer.Enabled == nil || *f.LoadBalancer.Enabled,
		ServeClassless: f.LoadBalancer.ServeClassless == nil || *f.LoadBalancer.ServeClassless,
		LeaseNamespace: firstString(f.LoadBalancer.LeaseNamespace, "vsphere-cloud-vips"),
	}
	if errs := validation.IsDNS1123Label(cfg.LoadBalancer.LeaseNamespace); len(errs) > 0 {
		v.add("loadBalancer.leaseNamespace", strings.Join(errs, "; "))
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	return cfg, nil
}
