package vsphere

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/pbm"
	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/session"
	"github.com/vmware/govmomi/vapi/tags"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/vsphere-cloud/provider/pkg/biosuuid"
	"github.com/vsphere-cloud/provider/pkg/vsphere/config"
)

// Finding statuses.
const (
	FindingOK   = "OK"
	FindingWarn = "WARN"
	FindingFail = "FAIL"
	FindingSkip = "SKIP"
)

// Finding is one preflight result.
type Finding struct {
	Status string
	Check  string
	Target string
	Detail string
	// Fix says what to do about a WARN or FAIL.
	Fix string
}

// PreflightInput is what to check beyond the configuration.
type PreflightInput struct {
	// Datastores and StoragePolicies that StorageClasses will name.
	Datastores      []string
	StoragePolicies []string
	// Nodes are the cluster's nodes (empty: node VMs are not checked).
	Nodes []NodeQuery
}

// Privileges each feature needs, and on which entity kind.
var featurePrivileges = []struct {
	feature string
	entity  string // root, datacenter, datastore, vm
	privs   []string
}{
	{"inventory and node lifecycle", "root", []string{"System.View", "System.Read"}},
	{"node marks (custom attribute)", "root", []string{"Global.SetCustomField", "Global.ManageCustomFields"}},
	{"volumes: create, delete, grow, snapshot", "datastore", []string{"Datastore.AllocateSpace", "Datastore.FileManagement", "Datastore.Browse"}},
	// On the datacenter, propagating to its clusters, where the rules live.
	{"anti-affinity rules (vsphere-anti-affinity)", "datacenter", []string{"Host.Inventory.EditCluster"}},
	{"volumes: attach, detach", "vm", []string{"VirtualMachine.Config.AddExistingDisk", "VirtualMachine.Config.RemoveDisk", "VirtualMachine.Config.AddRemoveDevice", "VirtualMachine.Config.EditDevice"}},
}

// Preflight checks, for every configured vCenter, the connection and login, the named
// datacenters, tag categories, networks, datastores and storage policies, the account's
// privileges for each feature on the entities it acts on, and disk.EnableUUID on the node
// VMs. It changes nothing in vCenter.
func Preflight(ctx context.Context, cfg *config.Config, creds CredentialSource, in PreflightInput) []Finding {
	var out []Finding
	for _, vc := range cfg.VCenters {
		out = append(out, preflightVCenter(ctx, cfg, vc, creds, in)...)
	}
	return out
}

func preflightVCenter(ctx context.Context, cfg *config.Config, vc config.VCenterConfig, creds CredentialSource, in PreflightInput) []Finding {
	var out []Finding
	add := func(status, check, target, detail, fix string) {
		out = append(out, Finding{Status: status, Check: check, Target: vc.Name + ": " + target, Detail: detail, Fix: fix})
	}
	s := NewSession(vc, creds, cfg.Inventory.CallTimeout)
	defer s.Close(context.WithoutCancel(ctx))
	client, err := s.Client(ctx)
	if err != nil {
		fix := "check the server, port and network path"
		switch {
		case errors.Is(err, ErrCertificate):
			fix = "set caFile to the vCenter CA bundle, or thumbprint (insecureFlag only for tests)"
		case errors.Is(err, ErrUnauthorized):
			fix = "check the credentials Secret (<server>.username / <server>.password) and the account"
		}
		add(FindingFail, "connect and log in", vc.Server, err.Error(), fix)
		return out
	}
	add(FindingOK, "connect and log in", vc.Server, "TLS verified, logged in", "")
	dcs, err := configuredDatacenters(ctx, client, vc)
	if err != nil {
		add(FindingFail, "datacenters", strings.Join(vc.Datacenters, ","), err.Error(), "fix vcenter."+vc.Name+".datacenters")
		return out
	}
	names := make([]string, 0, len(dcs))
	for _, dc := range dcs {
		names = append(names, dc.Name)
	}
	add(FindingOK, "datacenters", strings.Join(names, ","), fmt.Sprintf("%d found", len(dcs)), "")
	out = append(out, prefixed(vc.Name, preflightTags(ctx, s, cfg))...)
	dsRefs := map[string]types.ManagedObjectReference{}
	finder := find.NewFinder(client, false)
	for _, dc := range dcs {
		finder.SetDatacenter(object.NewDatacenter(client, dc.Self))
		for _, net := range []string{cfg.Nodes.InternalNetworkName, cfg.Nodes.ExternalNetworkName} {
			if net == "" {
				continue
			}
			if _, err := finder.Network(ctx, net); err != nil {
				add(FindingFail, "network", dc.Name+"/"+net, "not found", "fix nodes.internalVmNetworkName / externalVmNetworkName")
			} else {
				add(FindingOK, "network", dc.Name+"/"+net, "found", "")
			}
		}
		if dss, err := finder.DatastoreList(ctx, "*"); err == nil {
			for _, ds := range dss {
				dsRefs[ds.Name()] = ds.Reference()
			}
		}
	}
	for _, want := range in.Datastores {
		if _, ok := dsRefs[want]; ok {
			add(FindingOK, "datastore", want, "found", "")
		} else {
			add(FindingFail, "datastore", want, "not found in the configured datacenters", "fix the StorageClass parameter datastore")
		}
	}
	for _, pol := range in.StoragePolicies {
		pc, err := pbm.NewClient(ctx, client)
		if err == nil {
			_, err = pc.ProfileIDByName(ctx, pol)
		}
		if err != nil {
			add(FindingFail, "storage policy", pol, err.Error(), "fix the StorageClass parameter storagePolicyName or create the policy")
		} else {
			add(FindingOK, "storage policy", pol, "found", "")
		}
	}
	vms, vmFindings := nodeVMs(ctx, client, in.Nodes)
	out = append(out, prefixed(vc.Name, vmFindings)...)
	out = append(out, prefixed(vc.Name, preflightPrivileges(ctx, client, dcs, dsRefs, vms))...)
	return out
}

func prefixed(vc string, fs []Finding) []Finding {
	for i := range fs {
		fs[i].Target = vc + ": " + fs[i].Target
	}
	return fs
}

func preflightTags(ctx context.Context, s *Session, cfg *config.Config) []Finding {
	var out []Finding
	cats := map[string]string{"labels.zone": cfg.ZoneCategory, "labels.region": cfg.RegionCategory}
	var rc interface{ Logout(context.Context) error }
	var tm *tags.Manager
	for key, cat := range cats {
		if cat == "" {
			continue
		}
		if tm == nil {
			r, err := s.REST(ctx)
			if err != nil {
				return append(out, Finding{Status: FindingFail, Check: "tag categories", Target: cat, Detail: err.Error(), Fix: "the account must reach the vCenter REST API"})
			}
			rc, tm = r, tags.NewManager(r)
		}
		if _, err := tm.GetCategory(ctx, cat); err != nil {
			out = append(out, Finding{Status: FindingFail, Check: "tag category", Target: cat, Detail: "not found", Fix: "create the category or fix " + key})
		} else {
			out = append(out, Finding{Status: FindingOK, Check: "tag category", Target: cat, Detail: "found"})
		}
	}
	if rc != nil {
		_ = rc.Logout(context.WithoutCancel(ctx))
	}
	return out
}

// nodeVMs finds each node's VM by UUID (both byte orders) and checks disk.EnableUUID.
func nodeVMs(ctx context.Context, client *vim25.Client, nodes []NodeQuery) ([]types.ManagedObjectReference, []Finding) {
	if len(nodes) == 0 {
		return nil, []Finding{{Status: FindingSkip, Check: "node VMs", Target: "-", Detail: "no nodes given (run with --kubeconfig)"}}
	}
	var out []Finding
	var refs []types.ManagedObjectReference
	si := object.NewSearchIndex(client)
	for _, n := range nodes {
		u := n.ProviderUUID
		if u == "" {
			u = n.SystemUUID
		}
		var ref object.Reference
		for _, cand := range uuidForms(u) {
			if r, err := si.FindByUuid(ctx, nil, cand, true, nil); err == nil && r != nil {
				ref = r
				break
			}
		}
		if ref == nil {
			out = append(out, Finding{Status: FindingWarn, Check: "node VM", Target: n.Name, Detail: "no VM with UUID " + u + " in this vCenter"})
			continue
		}
		var vm mo.VirtualMachine
		if err := property.DefaultCollector(client).RetrieveOne(ctx, ref.Reference(), []string{"name", "config.extraConfig"}, &vm); err != nil || vm.Config == nil {
			out = append(out, Finding{Status: FindingFail, Check: "node VM", Target: n.Name, Detail: fmt.Sprintf("cannot read its configuration: %v", err)})
			continue
		}
		refs = append(refs, ref.Reference())
		if diskUUIDEnabled(vm.Config) {
			out = append(out, Finding{Status: FindingOK, Check: "disk.EnableUUID", Target: n.Name + " (" + vm.Name + ")", Detail: "TRUE"})
		} else {
			out = append(out, Finding{Status: FindingFail, Check: "disk.EnableUUID", Target: n.Name + " (" + vm.Name + ")", Detail: "not TRUE: attached volumes cannot be found in the guest",
				Fix: "power the VM off, set the advanced setting disk.EnableUUID=TRUE, power it on"})
		}
	}
	return refs, out
}

func uuidForms(u string) []string {
	n, err := biosuuid.Normalize(u)
	if err != nil {
		return nil
	}
	sw, _ := biosuuid.SwapByteOrder(n)
	return []string{n, sw}
}

// preflightPrivileges asks vCenter whether this session's account holds each feature's
// privileges on the entities the feature acts on.
func preflightPrivileges(ctx context.Context, client *vim25.Client, dcs []mo.Datacenter, ds map[string]types.ManagedObjectReference, vms []types.ManagedObjectReference) []Finding {
	us, err := session.NewManager(client).UserSession(ctx)
	if err != nil || us == nil {
		return []Finding{{Status: FindingFail, Check: "privileges", Target: "-", Detail: fmt.Sprintf("cannot read the session: %v", err)}}
	}
	am := object.NewAuthorizationManager(client)
	entities := map[string][]types.ManagedObjectReference{"root": {client.ServiceContent.RootFolder}, "vm": vms}
	for _, dc := range dcs {
		entities["datacenter"] = append(entities["datacenter"], dc.Self)
	}
	for _, ref := range ds {
		entities["datastore"] = append(entities["datastore"], ref)
	}
	var out []Finding
	for _, fp := range featurePrivileges {
		ents := entities[fp.entity]
		if len(ents) == 0 {
			out = append(out, Finding{Status: FindingSkip, Check: "privileges: " + fp.feature, Target: fp.entity, Detail: "no " + fp.entity + " to check on"})
			continue
		}
		var res []types.EntityPrivilege
		r, err := methods.HasPrivilegeOnEntities(ctx, client, &types.HasPrivilegeOnEntities{This: am.Reference(), Entity: ents, SessionId: us.Key, PrivId: fp.privs})
		if err == nil {
			res = r.Returnval
		}
		if err != nil {
			out = append(out, Finding{Status: FindingFail, Check: "privileges: " + fp.feature, Target: fp.entity, Detail: classify(err).Error()})
			continue
		}
		missing := map[string]bool{}
		for _, ep := range res {
			for _, pa := range ep.PrivAvailability {
				if !pa.IsGranted {
					missing[pa.PrivId] = true
				}
			}
		}
		if len(missing) == 0 {
			out = append(out, Finding{Status: FindingOK, Check: "privileges: " + fp.feature, Target: fmt.Sprintf("%d %s", len(ents), fp.entity), Detail: strings.Join(fp.privs, ", ")})
			continue
		}
		var list []string
		for _, p := range fp.privs {
			if missing[p] {
				list = append(list, p)
			}
		}
		out = append(out, Finding{Status: FindingFail, Check: "privileges: " + fp.feature, Target: fmt.Sprintf("%d %s", len(ents), fp.entity),
			Detail: "missing " + strings.Join(list, ", "), Fix: "add them to the account's role on these objects (propagate from the vCenter root)"})
	}
	return out
}
