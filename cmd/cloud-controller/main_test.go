package main

import (
	"os"
	"path/filepath"
	"testing"
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
