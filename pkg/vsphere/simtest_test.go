package vsphere

import (
	"context"
	"crypto/tls"
	"net"
	"strconv"
	"testing"
	"time"

	_ "github.com/vmware/govmomi/cns/simulator" // Cloud Native Storage
	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/session"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/soap"

	"github.com/vsphere-cloud/provider/hack/vcsim/strict"
	"github.com/vsphere-cloud/provider/pkg/vsphere/config"
)

// staticCreds is a CredentialSource fake for tests.
type staticCreds Credentials

func (s staticCreds) Credentials(context.Context, config.VCenterConfig) (Credentials, error) {
	return Credentials(s), nil
}

// simEnv is a running simulator and a Manager pointed at it.
type simEnv struct {
	model  *simulator.Model
	server *simulator.Server
	mgr    *Manager
	cfg    *config.Config
	// fcd switches the strict world's First Class Disk behaviours (inaccessible datastores).
	fcd *strict.FCD
	// cns switches the strict world's CNS behaviours (lock stalls, batch limits).
	cns *strict.CNS
}

func startSim(t *testing.T, model *simulator.Model, tune func(*config.Config)) *simEnv {
	t.Helper()
	if err := model.Create(); err != nil {
		t.Fatal(err)
	}
	return serveSim(t, model, tune)
}

// serveSim serves a created model and starts a Manager on it.
func serveSim(t *testing.T, model *simulator.Model, tune func(*config.Config)) *simEnv {
	t.Helper()
	t.Cleanup(model.Remove)
	fcd := strict.InstallFCD(model) // the strict world by default
	cns := strict.InstallCNS(model, fcd)
	strict.InstallClusterRules(model)
	model.Service.TLS = new(tls.Config)
	model.Service.RegisterEndpoints = true // SPBM (pbm/simulator), CNS (cns/simulator)
	s := model.Service.NewServer()
	t.Cleanup(s.Close)
	host, port, _ := net.SplitHostPort(s.URL.Host)
	p, _ := strconv.Atoi(port)
	cfg := &config.Config{
		VCenters: []config.VCenterConfig{{
			Name: "sim", Server: host, Port: p, Thumbprint: soap.ThumbprintSHA1(s.Certificate()),
			SecretsDirectory: "/unused", IPFamilies: []string{"ipv4"},
		}},
		Inventory: config.InventoryConfig{ResyncPeriod: time.Hour, MaxWait: time.Second, Freshness: 5 * time.Second, CallTimeout: 5 * time.Second},
	}
	if tune != nil {
		tune(cfg)
	}
	pw, _ := s.URL.User.Password()
	mgr := NewManager(cfg, staticCreds{Username: s.URL.User.Username(), Password: pw})
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	mgr.Start(ctx)
	env := &simEnv{model: model, server: s, mgr: mgr, cfg: cfg, fcd: fcd, cns: cns}
	env.waitSynced(t)
	return env
}

func (e *simEnv) waitSynced(t *testing.T) {
	t.Helper()
	eventually(t, 10*time.Second, func() bool {
		for _, st := range e.mgr.Status() {
			if !st.Fresh {
				return false
			}
		}
		return true
	})
}

func eventually(t *testing.T, d time.Duration, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %s", d)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func simClient(t *testing.T, e *simEnv) *vim25.Client {
	t.Helper()
	ctx := context.Background()
	sc := soap.NewClient(e.server.URL, true)
	c, err := vim25.NewClient(ctx, sc)
	if err != nil {
		t.Fatal(err)
	}
	if err := session.NewManager(c).Login(ctx, e.server.URL.User); err != nil {
		t.Fatal(err)
	}
	return c
}

func simVM(t *testing.T, c *vim25.Client, path string) *object.VirtualMachine {
	t.Helper()
	vm, err := find.NewFinder(c).VirtualMachine(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	return vm
}
