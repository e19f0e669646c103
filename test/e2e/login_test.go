package e2e

import (
	"context"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vsphere-cloud/provider/test/framework"
)

// TestWrongPasswordDoesNotLockTheAccount runs cloud-controller for a minute with a wrong
// password in its Secret against hack/vcsim, which locks an account after 5 failed
// logins within 180 s as vCenter Single Sign-On does. Every loop of cloud-controller
// wants a session, yet the account stays usable (an administrator can log in), and once
// the Secret holds the right password cloud-controller logs in without waiting for its
// back-off and initializes a Node.
func TestWrongPasswordDoesNotLockTheAccount(t *testing.T) {
	ctx := context.Background()
	inv := &framework.SimInventory{Datacenters: 1, Clusters: 1, Hosts: 1,
		VMs: []framework.SimVM{{Name: "locksmith", UUID: framework.TestUUID("locksmith"), Hostname: "locksmith", IPs: []string{"10.0.0.7"}}}}
	_, cp, sim := startWorld(t, "login-lockout", inv)
	if err := framework.SetCredentials(ctx, cp, "127.0.0.1", framework.SimUser, "wrong-Pa55word"); err != nil {
		t.Fatal(err)
	}
	conf := framework.CloudConfig("127.0.0.1", sim.Port, sim.CAFile, "inventory:\n  maxWait: 2s\n  callTimeout: 3s\n")
	ccm, err := framework.StartCloudController(cp, "cloud-controller", conf)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ccm.Stop)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("cloud-controller log tail:\n%s", ccm.Tail(4000))
		}
		if ccm.LogContains(framework.SimPassword) || ccm.LogContains("wrong-Pa55word") {
			t.Error("a vCenter password appears in cloud-controller's log")
		}
	})
	if err := framework.RegisterNode(ctx, cp.Client, "locksmith", framework.TestUUID("locksmith")); err != nil {
		t.Fatal(err)
	}
	if !framework.WaitFor(30*time.Second, 200*time.Millisecond, func() bool { return ccm.LogContains("rejected the login of user") }) {
		t.Fatal("cloud-controller did not report the rejected login")
	}
	// The loops retry every few seconds; the code before the login gate made a failed
	// login on each retry and had the account locked within seconds.
	time.Sleep(60 * time.Second)
	if ccm.Exited() {
		t.Fatal("cloud-controller exited")
	}
	if !ccm.LogContains("or at once when the credentials Secret changes") {
		t.Error("the log does not say that logins are held back until the Secret changes")
	}
	if _, err := sim.Client(ctx); err != nil {
		t.Fatalf("administrator login after a minute of wrong passwords: %v (the account is locked)", err)
	}
	if err := framework.EnsureCredentials(ctx, cp, "127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if !framework.WaitFor(45*time.Second, 200*time.Millisecond, func() bool {
		n, err := cp.Client.CoreV1().Nodes().Get(ctx, "locksmith", metav1.GetOptions{})
		return err == nil && framework.Initialized(n)
	}) {
		t.Fatal("the Node was not initialized after the Secret was fixed (the login is still held back, or the account is locked)")
	}
	t.Logf("Node initialized %s after the Secret was fixed", time.Since(start).Round(time.Second))
}
