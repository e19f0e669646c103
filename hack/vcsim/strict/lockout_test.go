package strict

import (
	"context"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/vmware/govmomi/fault"
	"github.com/vmware/govmomi/session"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vapi/rest"
	_ "github.com/vmware/govmomi/vapi/simulator" // REST logins
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

var valid = url.UserPassword("user", "pass")

// serve runs a simulator that accepts only valid, with policy installed when install is
// true.
func serve(t *testing.T, policy LockoutPolicy, install bool) (*url.URL, *Lockout, *clock) {
	t.Helper()
	m := simulator.VPX()
	if err := m.Create(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Remove)
	clk := &clock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	var l *Lockout
	if install {
		l = InstallLockout(m, valid, policy, clk.now)
	}
	m.Service.RegisterEndpoints = true
	m.Service.Listen = &url.URL{User: valid}
	s := m.Service.NewServer()
	t.Cleanup(s.Close)
	u := *s.URL
	u.User = nil
	return &u, l, clk
}

// soapLogin logs in over SOAP and reports whether it succeeded; any fault but
// InvalidLogin fails the test.
func soapLogin(t *testing.T, u *url.URL, user *url.Userinfo) bool {
	t.Helper()
	ctx := context.Background()
	c, err := vim25.NewClient(ctx, soap.NewClient(u, true))
	if err != nil {
		t.Fatal(err)
	}
	err = session.NewManager(c).Login(ctx, user)
	if err != nil && !fault.Is(err, &types.InvalidLogin{}) {
		t.Fatalf("login: %v, want success or InvalidLogin", err)
	}
	return err == nil
}

// restLogin logs in over REST and reports whether it succeeded; any error but 401 fails
// the test.
func restLogin(t *testing.T, u *url.URL, user *url.Userinfo) bool {
	t.Helper()
	ctx := context.Background()
	c, err := vim25.NewClient(ctx, soap.NewClient(u, true))
	if err != nil {
		t.Fatal(err)
	}
	err = rest.NewClient(c).Login(ctx, user)
	if err != nil && !rest.IsStatusError(err, http.StatusUnauthorized) {
		t.Fatalf("REST login: %v, want success or 401", err)
	}
	return err == nil
}

var wrong = url.UserPassword("user", "wrong")

// TestSimulatorAloneNeverLocks records the leniency that Lockout closes: govmomi's
// simulator accepts the right password after any number of failures.
func TestSimulatorAloneNeverLocks(t *testing.T) {
	u, _, _ := serve(t, DefaultLockoutPolicy, false)
	for range 10 {
		if soapLogin(t, u, wrong) {
			t.Fatal("wrong password accepted")
		}
	}
	if !soapLogin(t, u, valid) {
		t.Fatal("the simulator locked the account by itself; Lockout may no longer be needed")
	}
}

func TestLockout(t *testing.T) {
	for _, tc := range []struct {
		name  string
		login func(*testing.T, *url.URL, *url.Userinfo) bool
	}{{"SOAP", soapLogin}, {"REST", restLogin}} {
		t.Run(tc.name+": 5 failures in 180s lock the account for 300s, right password included", func(t *testing.T) {
			u, l, clk := serve(t, DefaultLockoutPolicy, true)
			for i := range 5 {
				if tc.login(t, u, wrong) {
					t.Fatal("wrong password accepted")
				}
				if got, want := l.Locked("user"), i == 4; got != want {
					t.Fatalf("after %d failures locked = %v, want %v", i+1, got, want)
				}
				clk.advance(40 * time.Second) // 5 failures within 160 s
			}
			if tc.login(t, u, valid) {
				t.Fatal("the right password was accepted while the account is locked")
			}
			clk.advance(300*time.Second - 40*time.Second - time.Millisecond)
			if tc.login(t, u, valid) {
				t.Fatal("unlocked before the unlock time")
			}
			if n := l.Failures("user"); n != 5 {
				t.Errorf("failures = %d, want 5 (attempts while locked do not count)", n)
			}
			clk.advance(time.Millisecond)
			if !tc.login(t, u, valid) {
				t.Fatal("still locked after the unlock time")
			}
		})
	}
	t.Run("failures spread over more than the interval do not lock", func(t *testing.T) {
		u, l, clk := serve(t, DefaultLockoutPolicy, true)
		for range 12 {
			if soapLogin(t, u, wrong) {
				t.Fatal("wrong password accepted")
			}
			clk.advance(46 * time.Second) // at most 4 failures within any 180 s
		}
		if l.Locked("user") || !soapLogin(t, u, valid) {
			t.Fatal("locked by failures spread over more than 180 s")
		}
	})
	t.Run("a successful login clears the failures", func(t *testing.T) {
		u, l, _ := serve(t, DefaultLockoutPolicy, true)
		for range 4 {
			soapLogin(t, u, wrong)
		}
		if !soapLogin(t, u, valid) {
			t.Fatal("right password refused after 4 failures")
		}
		for range 4 {
			soapLogin(t, u, wrong)
		}
		if l.Locked("user") {
			t.Fatal("locked after 4 failures since the last success")
		}
	})
	t.Run("unlock time 0 keeps the account locked", func(t *testing.T) {
		u, l, clk := serve(t, LockoutPolicy{MaxFailures: 2, FailureInterval: time.Minute}, true)
		soapLogin(t, u, wrong)
		soapLogin(t, u, wrong)
		clk.advance(24 * time.Hour)
		if !l.Locked("user") || soapLogin(t, u, valid) {
			t.Fatal("unlocked by itself")
		}
	})
}

func TestParseLockoutPolicy(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want LockoutPolicy
		ok   bool
	}{
		{DefaultLockoutPolicy.String(), DefaultLockoutPolicy, true},
		{"5/180s/300s", DefaultLockoutPolicy, true},
		{"3/1m/0s", LockoutPolicy{MaxFailures: 3, FailureInterval: time.Minute}, true},
		{"off", LockoutPolicy{}, true},
		{"5/180s", LockoutPolicy{}, false},
		{"0/180s/300s", LockoutPolicy{}, false},
		{"5/x/300s", LockoutPolicy{}, false},
		{"5/180s/-1s", LockoutPolicy{}, false},
	} {
		got, err := ParseLockoutPolicy(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseLockoutPolicy(%q) = %v, %v; want %v, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}
