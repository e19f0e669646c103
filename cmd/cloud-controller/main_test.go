package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
)

// TestBadConfigExitsOne runs the real command line with bad configurations: each must end
// with status 1 before anything connects.
func TestBadConfigExitsOne(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ name, yaml string }{
		{"url as server", "vcenter:\n  a:\n    server: https://vc/sdk\n    secretName: s\n    secretNamespace: ns\n"},
		{"no credentials", "vcenter:\n  a:\n    server: vc\n"},
		{"password in file", "global:\n  password: x\nvcenter:\n  a:\n    server: vc\n    secretName: s\n    secretNamespace: ns\n"},
		{"empty", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, tc.name+".yaml")
			if err := os.WriteFile(path, []byte(tc.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			old := os.Args
			defer func() { os.Args = old }()
			os.Args = []string{"cloud-controller", "--cloud-config", path, "--kubeconfig", filepath.Join(dir, "none")}
			if code := run(); code != 1 {
				t.Errorf("exit status %d, want 1", code)
			}
		})
	}
	t.Run("missing --cloud-config", func(t *testing.T) {
		old := os.Args
		defer func() { os.Args = old }()
		os.Args = []string{"cloud-controller"}
		if code := run(); code != 1 {
			t.Errorf("exit status %d, want 1", code)
		}
	})
}

// TestNothingConnectsBeforeTheFrameworkAcceptsItsOptions runs the real command line with a
// valid cloud config but an option the framework rejects: it must exit 1 without a single
// request to the API server (the vSphere credentials are read from a Secret there), as
// the vSphere connections start only once logging is set up and every option is valid.
func TestNothingConnectsBeforeTheFrameworkAcceptsItsOptions(t *testing.T) {
	var requests atomic.Int32
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		http.Error(w, "not served", http.StatusServiceUnavailable)
	}))
	defer api.Close()
	dir := t.TempDir()
	kubeconfig := filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(kubeconfig, []byte(fmt.Sprintf(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: %q}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
`, api.URL)), 0o600); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "vsphere.yaml")
	if err := os.WriteFile(conf, []byte("vcenter:\n  a:\n    server: 127.0.0.1\n    port: 1\n    secretName: s\n    secretNamespace: ns\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	old := os.Args
	defer func() { os.Args = old }()
	os.Args = []string{"cloud-controller", "--cloud-config", conf, "--kubeconfig", kubeconfig,
		"--secure-port=0", "--controllers=no-such-controller"}
	if code := run(); code != 1 {
		t.Errorf("exit status %d, want 1", code)
	}
	time.Sleep(time.Second) // anything started in the background has asked by now
	if n := requests.Load(); n != 0 {
		t.Errorf("%d requests reached the API server for a command line the framework rejects", n)
	}
}
