package config

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"regexp"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// FieldError is one invalid field. Field is the path in the file, such as
// vcenter.prod.port.
type FieldError struct {
	Field   string
	Message string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

// validator collects every field error, so a user sees all problems at once.
type validator struct {
	errs []error
}

func (v *validator) add(field, msg string) {
	v.errs = append(v.errs, &FieldError{Field: field, Message: msg})
}

func (v *validator) err() error {
	if len(v.errs) == 0 {
		return nil
	}
	return fmt.Errorf("invalid cloud config: %w", errors.Join(v.errs...))
}

func (v *validator) credentialsInFile(path, user, password string) {
	if user != "" {
		v.add(path+".user", "credentials in the config file are not supported; put <server>.username and <server>.password in the Secret named by secretName (or in secretsDirectory)")
	}
	if password != "" {
		v.add(path+".password", "credentials in the config file are not supported; put <server>.username and <server>.password in the Secret named by secretName (or in secretsDirectory)")
	}
}

var (
	hostnameRE   = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$`)
	thumbprintRE = regexp.MustCompile(`^([0-9A-Fa-f]{2}:){19}[0-9A-Fa-f]{2}$|^([0-9A-Fa-f]{2}:){31}[0-9A-Fa-f]{2}$`)
)

func (v *validator) vcenter(path, name string, g *Global, vc *VCenter) VCenterConfig {
	v.credentialsInFile(path, vc.User, vc.Password)
	r := VCenterConfig{
		Name:             name,
		Server:           strings.TrimSpace(vc.Server),
		Port:             firstInt(vc.Port, g.Port, DefaultPort),
		Datacenters:      vc.Datacenters,
		CAFile:           firstString(vc.CAFile, g.CAFile),
		Thumbprint:       firstString(vc.Thumbprint, g.Thumbprint),
		SecretName:       firstString(vc.SecretName, g.SecretName),
		SecretNamespace:  firstString(vc.SecretNamespace, g.SecretNamespace),
		SecretsDirectory: firstString(vc.SecretsDirectory, g.SecretsDirectory),
		IPFamilies:       vc.IPFamily,
	}
	if r.Server == "" {
		r.Server = name // upstream: the map key is the server when server is empty
	}
	if len(r.Datacenters) == 0 {
		r.Datacenters = g.Datacenters
	}
	if len(r.IPFamilies) == 0 {
		r.IPFamilies = g.IPFamily
	}
	if len(r.IPFamilies) == 0 {
		r.IPFamilies = []string{"ipv4"}
	}
	switch {
	case vc.InsecureFlag != nil:
		r.Insecure = *vc.InsecureFlag
	case g.InsecureFlag != nil:
		r.Insecure = *g.InsecureFlag
	}
	switch {
	case vc.PVSCSI64Targets != nil:
		r.PVSCSI64Targets = *vc.PVSCSI64Targets
	case g.PVSCSI64Targets != nil:
		r.PVSCSI64Targets = *g.PVSCSI64Targets
	}

	switch {
	case strings.Contains(r.Server, "://") || strings.ContainsAny(r.Server, "/?#@"):
		v.add(path+".server", fmt.Sprintf("%q must be a host name or IP address, not a URL", r.Server))
	case !hostnameRE.MatchString(r.Server) && !isIP(r.Server):
		v.add(path+".server", fmt.Sprintf("%q is not a valid host name or IP address", r.Server))
	}
	if r.Port < 1 || r.Port > 65535 {
		v.add(path+".port", fmt.Sprintf("%d is out of range 1-65535", r.Port))
	}
	seen := map[string]bool{}
	for i, dc := range r.Datacenters {
		field := fmt.Sprintf("%s.datacenters[%d]", path, i)
		switch {
		case strings.TrimSpace(dc) == "":
			v.add(field, "empty datacenter name")
		case seen[dc]:
			v.add(field, fmt.Sprintf("datacenter %q is listed twice", dc))
		}
		seen[dc] = true
	}
	if r.Insecure && (r.CAFile != "" || r.Thumbprint != "") {
		v.add(path+".insecureFlag", "true contradicts caFile/thumbprint: either verify the certificate or do not")
	}
	if r.Thumbprint != "" && !thumbprintRE.MatchString(r.Thumbprint) {
		v.add(path+".thumbprint", "must be a SHA-1 or SHA-256 certificate fingerprint in colon-separated hex (AA:BB:...)")
	}
	if r.CAFile != "" {
		v.caFile(path+".caFile", r.CAFile)
	}
	switch {
	case r.SecretName == "" && r.SecretsDirectory == "":
		v.add(path+".secretName", "no credentials: set secretName and secretNamespace (a Secret with <server>.username and <server>.password) or secretsDirectory")
	case r.SecretName != "" && r.SecretNamespace == "":
		v.add(path+".secretNamespace", fmt.Sprintf("required with secretName %q", r.SecretName))
	case r.SecretName == "" && r.SecretNamespace != "":
		v.add(path+".secretName", fmt.Sprintf("required with secretNamespace %q", r.SecretNamespace))
	}
	v.ipFamilies(path+".ipFamily", r.IPFamilies)
	return r
}

func (v *validator) caFile(field, path string) {
	data, err := os.ReadFile(path)
	if err != nil {
		v.add(field, fmt.Sprintf("cannot read %q: %v", path, errors.Unwrap(err)))
		return
	}
	block, _ := pem.Decode(data)
	if block == nil {
		v.add(field, fmt.Sprintf("%q holds no PEM certificate", path))
		return
	}
	if _, err := x509.ParseCertificate(block.Bytes); err != nil {
		v.add(field, fmt.Sprintf("%q: first certificate does not parse: %v", path, err))
	}
}

func (v *validator) ipFamilies(field string, fams []string) {
	if len(fams) > 2 {
		v.add(field, fmt.Sprintf("at most two families (ipv4, ipv6), got %d", len(fams)))
	}
	seen := map[string]bool{}
	for i, f := range fams {
		f = strings.ToLower(strings.TrimSpace(f))
		fams[i] = f
		switch {
		case f != "ipv4" && f != "ipv6":
			v.add(fmt.Sprintf("%s[%d]", field, i), fmt.Sprintf("%q must be ipv4 or ipv6", f))
		case seen[f]:
			v.add(fmt.Sprintf("%s[%d]", field, i), fmt.Sprintf("%q is listed twice", f))
		}
		seen[f] = true
	}
}

func (v *validator) cidrs(field, list string) []netip.Prefix {
	var out []netip.Prefix
	for _, s := range strings.Split(list, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			v.add(field, fmt.Sprintf("%q is not a CIDR (like 10.0.0.0/24 or fd00::/64)", s))
			continue
		}
		out = append(out, p.Masked())
	}
	return out
}

func (v *validator) nodes(n *Nodes) NodeAddressRules {
	return NodeAddressRules{
		InternalSubnets:        v.cidrs("nodes.internalNetworkSubnetCidr", n.InternalNetworkSubnetCIDR),
		ExternalSubnets:        v.cidrs("nodes.externalNetworkSubnetCidr", n.ExternalNetworkSubnetCIDR),
		InternalNetworkName:    strings.TrimSpace(n.InternalVMNetworkName),
		ExternalNetworkName:    strings.TrimSpace(n.ExternalVMNetworkName),
		ExcludeInternalSubnets: v.cidrs("nodes.excludeInternalNetworkSubnetCidr", n.ExcludeInternalNetworkSubnetCIDR),
		ExcludeExternalSubnets: v.cidrs("nodes.excludeExternalNetworkSubnetCidr", n.ExcludeExternalNetworkSubnetCIDR),
	}
}

func (v *validator) duration(field string, d *metav1.Duration, def, min time.Duration) time.Duration {
	if d == nil {
		return def
	}
	if d.Duration < min {
		v.add(field, fmt.Sprintf("%s is below the minimum %s", d.Duration, min))
	}
	return d.Duration
}

func (v *validator) inventory(in *Inventory) InventoryConfig {
	r := InventoryConfig{
		ResyncPeriod: v.duration("inventory.resyncPeriod", in.ResyncPeriod, DefaultResyncPeriod, time.Second),
		MaxWait:      v.duration("inventory.maxWait", in.MaxWait, DefaultMaxWait, time.Second),
		Freshness:    v.duration("inventory.freshness", in.Freshness, DefaultFreshness, time.Second),
		CallTimeout:  v.duration("inventory.callTimeout", in.CallTimeout, DefaultCallTimeout, 100*time.Millisecond),
	}
	if r.Freshness < 2*r.MaxWait {
		v.add("inventory.freshness", fmt.Sprintf("%s must be at least twice inventory.maxWait (%s), or an idle vCenter would look stale", r.Freshness, r.MaxWait))
	}
	return r
}

func isIP(s string) bool {
	_, err := netip.ParseAddr(strings.Trim(s, "[]"))
	return err == nil
}

func firstString(s ...string) string {
	for _, x := range s {
		if x = strings.TrimSpace(x); x != "" {
			return x
		}
	}
	return ""
}

func firstInt(n ...int) int {
	for _, x := range n {
		if x != 0 {
			return x
		}
	}
	return 0
}
