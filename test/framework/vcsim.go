package framework

import (
	"bufio"
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/vmware/govmomi/session"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/soap"

	"github.com/vsphere-cloud/provider/test/repo"
)

// BinDir is where `make build` puts our binaries (VSPHERE_CLOUD_BIN overrides).
func BinDir() string {
	if d := os.Getenv("VSPHERE_CLOUD_BIN"); d != "" {
		return d
	}
	return repo.Path("bin")
}

// Simulator is hack/vcsim running as a process.
type Simulator struct {
	Dir        string
	Inventory  string
	Port       int
	URL        *url.URL
	Thumbprint string
	// CAFile is a copy of the simulator's certificate, valid across restarts.
	CAFile string
	// Args are extra flags for hack/vcsim, such as --deny-privileges.
	Args   []string
	proc   *Process
	starts int
}

// Credentials the simulator accepts.
const (
	SimUser     = "vsphere-cloud@vsphere.local"
	SimPassword = "canary-Pa55word-do-not-log"
)

// StartSimulator runs hack/vcsim with the inventory file on a free port.
func StartSimulator(dir, inventory string, args ...string) (*Simulator, error) {
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	s := &Simulator{Dir: dir, Inventory: inventory, Port: port, Args: args}
	return s, s.Start()
}

// Start (re)starts the simulator on its port with its inventory. A restart loses every
// change made since the last start, as a vCenter restored from backup would.
func (s *Simulator) Start() error {
	s.starts++
	envFile := filepath.Join(s.Dir, "vcsim.env")
	_ = os.Remove(envFile)
	args := append([]string{"--listen", "127.0.0.1:" + strconv.Itoa(s.Port), "--inventory", s.Inventory,
		"--username", SimUser, "--password", SimPassword, "--env-file", envFile}, s.Args...)
	p, err := Start(s.Dir, "vcsim", filepath.Join(BinDir(), "vcsim"), args...)
	if err != nil {
		return err
	}
	s.proc = p
	var env map[string]string
	// 50,000 VMs (make bench-scale) take about 3.5 minutes to create.
	ok := WaitFor(10*time.Minute, 100*time.Millisecond, func() bool {
		if p.Exited() {
			return true
		}
		env, err = readEnv(envFile)
		return err == nil
	})
	if !ok || p.Exited() {
		return fmt.Errorf("vcsim did not start:\n%s", p.Tail(2000))
	}
	s.URL, _ = url.Parse(env["VCSIM_URL"])
	s.Thumbprint = env["VCSIM_THUMBPRINT"]
	if s.CAFile == "" {
		b, err := os.ReadFile(env["VCSIM_CA_FILE"])
		if err != nil {
			return err
		}
		s.CAFile = filepath.Join(s.Dir, "vcsim-ca.pem")
		if err := os.WriteFile(s.CAFile, b, 0o600); err != nil {
			return err
		}
	}
	return nil
}

// Process is the running simulator program.
func (s *Simulator) Process() *Process { return s.proc }

// Stop ends the simulator process.
func (s *Simulator) Stop() { s.proc.Stop() }

// Kill ends the simulator process at once.
func (s *Simulator) Kill() { s.proc.Kill() }

// Client logs in to the simulator as an administrator would, for tests that change the
// inventory through the real API.
func (s *Simulator) Client(ctx context.Context) (*vim25.Client, error) {
	sc := soap.NewClient(s.URL, false)
	if err := sc.SetRootCAs(s.CAFile); err != nil {
		return nil, err
	}
	c, err := vim25.NewClient(ctx, sc)
	if err != nil {
		return nil, err
	}
	return c, session.NewManager(c).Login(ctx, url.UserPassword(SimUser, SimPassword))
}

func readEnv(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			out[k] = v
		}
	}
	return out, sc.Err()
}

// SetHostMaintenance sets a host's maintenance mode and publishes the change at once, without
// events (the simulator's own EnterMaintenanceMode_Task does not publish it).
func (s *Simulator) SetHostMaintenance(ctx context.Context, host string, on bool) error {
	return s.control(ctx, "/vcsim/host-maintenance", url.Values{"host": {host}, "on": {strconv.FormatBool(on)}})
}
