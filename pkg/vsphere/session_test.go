package vsphere

import (
	"context"
	"testing"

	"github.com/vmware/govmomi/session"
	"github.com/vmware/govmomi/simulator"
)

func TestSessionTerminatedIsReestablished(t *testing.T) {
	e := startSim(t, simulator.VPX(), nil)
	ctx := context.Background()
	c, err := e.mgr.Sessions()[0].Client(ctx)
	if err != nil {
		t.Fatal(err)
	}
	admin := simClient(t, e)
	us, err := session.NewManager(c).UserSession(ctx)
	if err != nil || us == nil {
		t.Fatalf("UserSession: %v", err)
	}
	if err := session.NewManager(admin).TerminateSession(ctx, []string{us.Key}); err != nil {
		t.Fatal(err)
	}
	// The next call through the session succeeds after a transparent re-login.
	us2, err := session.NewManager(c).UserSession(ctx)
	if err != nil {
		t.Fatalf("call after termination: %v", err)
	}
	if us2 == nil || us2.Key == us.Key {
		t.Fatalf("session after termination = %+v, want a new session", us2)
	}
	if n := e.mgr.Sessions()[0].Logins(); n < 2 {
		t.Errorf("logins = %d, want a re-login", n)
	}
}
