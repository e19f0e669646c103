package vsphere

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vmware/govmomi/session"
	"github.com/vmware/govmomi/simulator"
	_ "github.com/vmware/govmomi/vapi/simulator" // REST logins

	"github.com/vsphere-cloud/provider/hack/vcsim/strict"
	"github.com/vsphere-cloud/provider/pkg/vsphere/config"
)

// fakeClock is a clock that tests move by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *fakeClock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// secretCreds is a CredentialSource whose Secret can be edited.
type secretCreds struct {
	mu sync.Mutex
	c  Credentials
}

func (s *secretCreds) Credentials(context.Context, config.VCenterConfig) (Credentials, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.c, nil
}

func (s *secretCreds) set(c Credentials) { s.mu.Lock(); s.c = c; s.mu.Unlock() }

const (
	lockoutUser     = "k8s@vsphere.local"
	lockoutPassword = "Right-Pa55"
	wrongPassword   = "wrong-Pa55word"
)

// lockoutSim runs a simulator that accepts only lockoutUser/lockoutPassword and locks
// the account like vCenter SSO (5 failures in 180 s, 300 s), on the clock clk.
func lockoutSim(t *testing.T, clk *fakeClock) (config.VCenterConfig, *strict.Lockout) {
	t.Helper()
	m := simulator.VPX()
	if err := m.Create(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Remove)
	user := url.UserPassword(lockoutUser, lockoutPassword)
	l := strict.InstallLockout(m, user, strict.DefaultLockoutPolicy, clk.Now)
	m.Service.TLS = new(tls.Config)
	m.Service.RegisterEndpoints = true
	m.Service.Listen = &url.URL{User: user} // not simulator.DefaultLogin, which accepts any password
	s := m.Service.NewServer()
	t.Cleanup(s.Close)
	host, port, _ := net.SplitHostPort(s.URL.Host)
	p, _ := strconv.Atoi(port)
	return config.VCenterConfig{Name: "sim", Server: host, Port: p, Insecure: true}, l
}

// TestWrongPasswordDoesNotLockTheAccount: with a wrong password in the Secret, several
// loops that call Client concurrently for 3 simulated minutes make at most 3 failed
// logins at vCenter, so that SSO does not lock the account; they get an ErrUnauthorized
// that says when the next attempt is and that the Secret can be fixed. Once the Secret
// holds the right password, the next call logs in at once.
func TestWrongPasswordDoesNotLockTheAccount(t *testing.T) {
	clk := &fakeClock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	vc, lock := lockoutSim(t, clk)
	creds := &secretCreds{c: Credentials{Username: lockoutUser, Password: wrongPassword}}
	s := NewSession(vc, creds, 5*time.Second)
	setSessionClock(s, clk.Now)
	ctx := context.Background()

	const loops = 6 // inventory, events, disks and CSI calls
	var (
		mu       sync.Mutex
		lastErrs []error
	)
	for range 181 { // one simulated second per round
		var wg sync.WaitGroup
		errs := make([]error, loops)
		for i := range loops {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 2 {
					if _, err := s.Client(ctx); err != nil {
						errs[i] = err
					} else {
						errs[i] = errors.New("logged in with a wrong password")
					}
				}
			}()
		}
		wg.Wait()
		mu.Lock()
		lastErrs = errs
		mu.Unlock()
		for _, err := range errs {
			if !errors.Is(err, ErrUnauthorized) {
				t.Fatalf("Client with a wrong password: %v, want ErrUnauthorized", err)
			}
			if strings.Contains(err.Error(), wrongPassword) || strings.Contains(err.Error(), lockoutPassword) {
				t.Fatalf("error shows a password: %v", err)
			}
		}
		clk.Advance(time.Second)
	}
	failed := lock.Failures(lockoutUser)
	t.Logf("%d failed logins at vCenter in 3 simulated minutes; last error: %v", failed, lastErrs[0])
	if failed == 0 || failed > 3 {
		t.Errorf("failed logins at vCenter = %d, want 1 to 3 in 3 minutes", failed)
	}
	if lock.Locked(lockoutUser) {
		t.Fatal("vCenter SSO locked the account")
	}
	if retryAt, held := heldBackUntil(lastErrs[0]); !held || !strings.Contains(lastErrs[0].Error(), "Secret") || !retryAt.After(clk.Now()) {
		t.Errorf("error while held back = %v; want a *LoginBackoffError that names the Secret and a later retry time", lastErrs[0])
	}

	creds.set(Credentials{Username: lockoutUser, Password: lockoutPassword})
	if _, err := s.Client(ctx); err != nil {
		t.Fatalf("Client after the Secret was fixed: %v, want an immediate login", err)
	}
	if n := s.Logins(); n != 1 {
		t.Errorf("logins = %d, want 1", n)
	}
}

// TestPasswordRotatedInVCenterOnly: the password changes in vCenter but not in the
// Secret, and the session ends. The re-login is rejected; then every caller, SOAP and
// REST alike, is held back for 3 simulated minutes with at most 3 failed logins at
// vCenter, and new callers get the error without a stale client.
func TestPasswordRotatedInVCenterOnly(t *testing.T) {
	clk := &fakeClock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	vc, lock := lockoutSim(t, clk)
	creds := &secretCreds{c: Credentials{Username: lockoutUser, Password: lockoutPassword}}
	s := NewSession(vc, creds, 5*time.Second)
	setSessionClock(s, clk.Now)
	ctx := context.Background()
	c, err := s.Client(ctx)
	if err != nil {
		t.Fatal(err)
	}
	admin := NewSession(vc, staticCreds{Username: lockoutUser, Password: lockoutPassword}, 5*time.Second)
	ac, err := admin.Client(ctx)
	if err != nil {
		t.Fatal(err)
	}
	us, err := session.NewManager(c).UserSession(ctx)
	if err != nil || us == nil {
		t.Fatalf("UserSession: %v", err)
	}
	creds.set(Credentials{Username: lockoutUser, Password: wrongPassword})
	if err := session.NewManager(ac).TerminateSession(ctx, []string{us.Key}); err != nil {
		t.Fatal(err)
	}
	for range 61 { // 3 simulated seconds per round
		var wg sync.WaitGroup
		errs := make(chan error, 9)
		for range 3 {
			wg.Add(3)
			go func() { // a loop that kept the old client
				defer wg.Done()
				_, err := session.NewManager(c).UserSession(ctx)
				errs <- err
			}()
			go func() { // a loop that asks the session each time
				defer wg.Done()
				nc, err := s.Client(ctx)
				if err == nil {
					_, err = session.NewManager(nc).UserSession(ctx)
				}
				errs <- err
			}()
			go func() { // tags
				defer wg.Done()
				_, err := s.REST(ctx)
				errs <- err
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if !errors.Is(err, ErrUnauthorized) {
				t.Fatalf("call after the password changed: %v, want ErrUnauthorized", err)
			}
		}
		clk.Advance(3 * time.Second)
	}
	if n := lock.Failures(lockoutUser); n == 0 || n > 3 || lock.Locked(lockoutUser) {
		t.Errorf("failed logins in 3 simulated minutes = %d (locked %v), want 1 to 3 and not locked", n, lock.Locked(lockoutUser))
	}
	creds.set(Credentials{Username: lockoutUser, Password: lockoutPassword})
	if _, err := session.NewManager(c).UserSession(ctx); err != nil {
		t.Fatalf("call after the Secret was fixed: %v", err)
	}
}

// TestReloginWhileTheSessionLives: a call answered NotAuthenticated makes the session log
// in again, but the session may still be alive on vCenter (a proxy, a load balancer or a
// missing property answered for it). vCenter refuses a Login on a logged-in session with
// InvalidLogin; that must not count as a rejected password, or the right credentials
// would be held back for minutes.
func TestReloginWhileTheSessionLives(t *testing.T) {
	clk := &fakeClock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	vc, lock := lockoutSim(t, clk)
	s := NewSession(vc, staticCreds{Username: lockoutUser, Password: lockoutPassword}, 5*time.Second)
	setSessionClock(s, clk.Now)
	ctx := context.Background()
	if _, err := s.Client(ctx); err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	gen := s.gen
	s.mu.Unlock()
	if err := s.login(ctx, gen); err != nil { // what authRetry does after NotAuthenticated
		t.Fatalf("logging in again while the old session lives: %v", err)
	}
	c, err := s.Client(ctx)
	if err != nil {
		t.Fatalf("Client after the second login: %v", err)
	}
	if _, err := session.NewManager(c).UserSession(ctx); err != nil {
		t.Fatalf("call after the second login: %v", err)
	}
	if n := lock.Failures(lockoutUser); n != 0 {
		t.Errorf("%d failed logins counted by vCenter, want 0", n)
	}
}
