// Command vcsim runs govmomi's vCenter simulator with an inventory read from a YAML file
// (see Inventory), on a fixed or free port, and prints its URL and certificate
// thumbprint. It is a development and test tool; it never runs in a cluster's
// production path.
package main

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"

	_ "github.com/vmware/govmomi/cns/simulator" // Cloud Native Storage
	_ "github.com/vmware/govmomi/pbm/simulator" // storage policies (SPBM)
	"github.com/vmware/govmomi/session"
	_ "github.com/vmware/govmomi/vapi/simulator" // the REST endpoints for tags
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/soap"

	"github.com/vsphere-cloud/provider/hack/vcsim/strict"
)

var simulatorUser = url.UserPassword("user", "pass")

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "vcsim: %v\n", err)
		os.Exit(1)
	}
}

func run() error {
	listen := flag.String("listen", "127.0.0.1:0", "address to listen on")
	inventory := flag.String("inventory", "", "inventory YAML file (default: one datacenter, one cluster, two hosts, no VMs)")
	username := flag.String("username", "user", "the only user name the simulator accepts")
	password := flag.String("password", "pass", "the only password the simulator accepts")
	envFile := flag.String("env-file", "", "also write VCSIM_URL, VCSIM_THUMBPRINT and VCSIM_CA_FILE to this file once ready")
	deny := flag.String("deny-privileges", "", "comma-separated privileges that privilege checks report as not granted")
	taskDelays := flag.String("task-delay", "", "delay tasks by name, by the name in their TaskInfo, such as CnsCreateVolume=4s,ReconfigVm=1s")
	lockout := flag.String("sso-lockout", defaultSSOLockout, "lock an account after failed logins like vCenter SSO: failures/interval/unlock time, or off")
	pprofListen := flag.String("pprof-listen", os.Getenv("VCSIM_PPROF_LISTEN"), "serve Go's profiles (/debug/pprof) on this address, to find where the simulator spends a benchmark's time")
	flag.Parse()
	if *pprofListen != "" {
		go servePprof(*pprofListen)
	}
	if err := parseTaskDelays(*taskDelays); err != nil {
		return fmt.Errorf("-task-delay: %w", err)
	}
	simulatorUser = url.UserPassword(*username, *password)

	inv, err := loadInventory(*inventory)
	if err != nil {
		return err
	}
	m := model(inv)
	if err := m.Create(); err != nil {
		return err
	}
	defer m.Remove()
	if err := lockOutAccounts(m, *lockout); err != nil {
		return fmt.Errorf("-sso-lockout: %w", err)
	}
	fcd := strict.InstallFCD(m)
	strict.InstallCNS(m, fcd)
	strict.InstallClusterRules(m)
	// Before any session exists: each session keeps its own copy of the property collector.
	visibility := strict.InstallVisibility(m)
	if *deny != "" {
		denyPrivileges(m, strings.Split(*deny, ","))
	}
	m.Service.TLS = new(tls.Config)
	m.Service.RegisterEndpoints = true
	m.Service.Listen = &url.URL{Host: *listen, User: simulatorUser}
	s := m.Service.NewServer()
	m.Service.Handle("/vcsim/host-maintenance", controlHandler(m))
	m.Service.Handle("/vcsim/vm", visibilityHandler(visibility))
	m.Service.Handle("/vcsim/task-delay", http.HandlerFunc(taskDelayHandler))
	m.Service.Handle("/vcsim/datastore", datastoreHandler(fcd))
	defer s.Close()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	c, err := vim25.NewClient(ctx, soap.NewClient(s.URL, true))
	if err != nil {
		return err
	}
	if err := session.NewManager(c).Login(ctx, simulatorUser); err != nil {
		return err
	}
	if err := populate(ctx, m, c, inv); err != nil {
		return err
	}
	_ = session.NewManager(c).Logout(ctx)

	caFile, err := s.CertificateFile()
	if err != nil {
		return err
	}
	u := *s.URL
	u.User = nil
	lines := fmt.Sprintf("VCSIM_URL=%s\nVCSIM_HOSTPORT=%s\nVCSIM_THUMBPRINT=%s\nVCSIM_CA_FILE=%s\nVCSIM_VMS=%d\n",
		u.String(), u.Host, soap.ThumbprintSHA1(s.Certificate()), caFile, len(inv.VMs))
	fmt.Print(lines)
	if *envFile != "" {
		if err := os.WriteFile(*envFile+".tmp", []byte(lines), 0o600); err != nil {
			return err
		}
		if err := os.Rename(*envFile+".tmp", *envFile); err != nil {
			return err
		}
	}
	<-ctx.Done()
	return nil
}
