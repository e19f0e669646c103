package e2e

import (
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vsphere-cloud/provider/test/framework"
)

// profileFlags serves cloud-controller's /debug/pprof on a free port when
// BENCH_CCM_PROFILE is set, to find where a benchmark's CPU goes.
func profileFlags(t *testing.T) (flags []string, port int) {
	if os.Getenv("BENCH_CCM_PROFILE") == "" {
		return nil, 0
	}
	port, err := framework.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return []string{fmt.Sprintf("--secure-port=%d", port)}, port
}

// profileCPU writes a CPU profile of cloud-controller over d into the test's artifacts,
// in the background; the admin's client certificate authenticates (the framework's
// delegated authentication reads the API server's client CA).
func (e *benchEnv) profileCPU(t *testing.T, d time.Duration) {
	if e.profilePort == 0 {
		return
	}
	cert, err := tls.LoadX509KeyPair(filepath.Join(e.cp.Dir, "pki", "admin.crt"), filepath.Join(e.cp.Dir, "pki", "admin.key"))
	if err != nil {
		t.Fatal(err)
	}
	// The serving certificate is cloud-controller's self-signed one; this is a local
	// diagnostic read.
	c := &http.Client{Timeout: d + 30*time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{
		Certificates: []tls.Certificate{cert}, InsecureSkipVerify: true, //nolint:gosec // local diagnostic
	}}}
	go e.fetchProfile(t, c, fmt.Sprintf("profile?seconds=%d", int(d.Seconds())), "cloud-controller.cpu.pprof")
	e.profiles = c
}

// profileHeap writes cloud-controller's heap profile into the test's artifacts.
func (e *benchEnv) profileHeap(t *testing.T) {
	if e.profiles != nil {
		e.fetchProfile(t, e.profiles, "heap", "cloud-controller.heap.pprof")
	}
}

func (e *benchEnv) fetchProfile(t *testing.T, c *http.Client, path, name string) {
	out := filepath.Join(e.dir, name)
	res, err := c.Get(fmt.Sprintf("https://127.0.0.1:%d/debug/pprof/%s", e.profilePort, path))
	if err != nil {
		t.Logf("profile %s: %v", path, err)
		return
	}
	defer res.Body.Close()
	f, err := os.Create(out)
	if err != nil {
		t.Logf("profile %s: %v", path, err)
		return
	}
	defer f.Close()
	if _, err := io.Copy(f, res.Body); err == nil {
		t.Logf("cloud-controller profile %s (HTTP %d): %s", path, res.StatusCode, out)
	}
}
