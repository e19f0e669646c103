package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vsphere-cloud/provider/api/v1alpha1"
	"github.com/vsphere-cloud/provider/test/framework"
)

// TestControlPlaneEndpoint: three kube-apiservers on one etcd, each in its own network
// namespace with its own `vsphere-node control-plane run`; a client keeps using
// https://VIP:6443. Killing the holder's API server, then the next holder's agent, moves
// the endpoint; it is never on two nodes.
func TestControlPlaneEndpoint(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: network namespaces, a bridge and veth pairs")
	}
	dir := artifactsDir(t, "control-plane-endpoint")
	cp, err := framework.StartControlPlane(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cp.Stop)
	const vip, prefix = "10.78.0.50", "10.78.0."
	seg, err := framework.NewSegment("brcp", prefix+"1", 24)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(seg.Close)
	etcd, err := framework.StartForward(prefix+"1:0", cp.EtcdHostPort())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(etcd.Close)
	kc, err := cp.AdminKubeconfigFor("cp-endpoint.kubeconfig", "https://127.0.0.1:6443")
	if err != nil {
		t.Fatal(err)
	}
	nodes := []string{"cpn-0", "cpn-1", "cpn-2"}
	apis, agents := map[string]*framework.Process{}, map[string]*framework.Process{}
	for i, n := range nodes {
		if err := seg.AddNamespace(n, fmt.Sprintf("%s%d", prefix, 11+i), ""); err != nil {
			t.Fatal(err)
		}
		if apis[n], err = cp.StartAPIServerIn("kube-apiserver-"+n, n, fmt.Sprintf("%s%d", prefix, 11+i), vip, etcd.Addr()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(apis[n].Stop)
	}
	for _, n := range nodes {
		agents[n], err = framework.Start(dir, "endpoint-agent-"+n, "ip", "netns", "exec", n, filepath.Join(framework.BinDir(), "vsphere-node"),
			"control-plane", "run", "--vip="+vip, "--interface=eth0", "--node-name="+n, "--kubeconfig="+kc,
			"--bootstrap-kubeconfig=/nonexistent", "--local-api-server-name=", "--v=2")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(agents[n].Stop)
	}
	t.Cleanup(func() {
		if t.Failed() {
			for n, p := range agents {
				t.Logf("agent %s:\n%s", n, p.Tail(2500))
			}
		}
	})
	client, err := cp.AdminHTTPClient()
	if err != nil {
		t.Fatal(err)
	}
	client.Timeout = 500 * time.Millisecond
	client.Transport.(*http.Transport).DisableKeepAlives = true // each probe finds the current holder
	holders := func() []string {
		var out []string
		for _, n := range nodes {
			if seg.HasAddress(n, vip) {
				out = append(out, n)
			}
		}
		return out
	}
	// The watcher samples every 50 ms: the address on two nodes at once fails the test;
	// the client probes the endpoint and records when it last answered.
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	var twice atomic.Int32
	var lastOK atomic.Int64
	wg.Add(2)
	go func() {
		defer wg.Done()
		for ctx.Err() == nil {
			if h := holders(); len(h) > 1 {
				twice.Add(1)
				t.Errorf("the endpoint is on %v at once", h)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()
	go func() {
		defer wg.Done()
		for ctx.Err() == nil {
			if resp, err := client.Get("https://" + vip + ":6443/readyz"); err == nil {
				if resp.StatusCode == http.StatusOK {
					lastOK.Store(time.Now().UnixNano())
				}
				_ = resp.Body.Close()
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()
	holder := func(t *testing.T, not string, within time.Duration) (string, time.Duration) {
		t.Helper()
		start := time.Now()
		var h []string
		if !framework.WaitFor(within, 50*time.Millisecond, func() bool {
			h = holders()
			return len(h) == 1 && h[0] != not && time.Unix(0, lastOK.Load()).After(start)
		}) {
			t.Fatalf("endpoint holders %v (want one other than %q answering) after %s", h, not, within)
		}
		return h[0], time.Since(start)
	}
	first, took := holder(t, "", 90*time.Second)
	t.Logf("%s holds the endpoint; answered %s after the agents started", first, took.Round(time.Millisecond))
	lease, err := cp.Client.CoordinationV1().Leases("kube-system").Get(context.Background(), "vsphere-cloud-control-plane-endpoint", metav1.GetOptions{})
	if err != nil || lease.Annotations[v1alpha1.AnnotationControlPlaneEndpoint] != vip || lease.Labels[v1alpha1.LabelControlPlaneEndpoint] != "true" {
		t.Fatalf("the endpoint's Lease does not name its address for cloud-controller: %+v, %v", lease, err)
	}

	t.Run("the holder's API server dies: the endpoint moves", func(t *testing.T) {
		apis[first].Kill()
		next, took := holder(t, first, 30*time.Second)
		t.Logf("endpoint moved %s -> %s and answered in %s", first, next, took.Round(time.Millisecond))
		bench("cp_vip_failover_seconds", took.Seconds(), "s")
		first = next
	})
	t.Run("the holder's agent is killed: its address expires, the endpoint moves", func(t *testing.T) {
		agents[first].Kill()
		next, took := holder(t, first, 30*time.Second)
		t.Logf("endpoint moved %s -> %s after its agent was killed, answered in %s", first, next, took.Round(time.Millisecond))
		bench("cp_vip_failover_agent_killed_seconds", took.Seconds(), "s")
	})
	if twice.Load() > 0 {
		t.Errorf("the endpoint was on two nodes %d times", twice.Load())
	}
}
