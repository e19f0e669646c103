// Package repo finds this repository's checkout from a test, whatever the build flags: with
// -trimpath (the Makefile builds everything with it) runtime.Caller names no directory.
package repo

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
)

// module is the path go.mod declares at the repository's root.
const module = "github.com/vsphere-cloud/provider"

// Root is the directory holding the repository's go.mod, found from the working directory
// upwards (go test runs each test in its package's directory). It panics outside the checkout,
// where no test of this repository can run.
func Root() string {
	dir, err := os.Getwd()
	if err != nil {
		panic("repo: " + err.Error())
	}
	for {
		if declaresModule(filepath.Join(dir, "go.mod")) {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			panic("repo: no go.mod of " + module + " above the working directory")
		}
		dir = parent
	}
}

// Path joins elements onto Root.
func Path(elem ...string) string {
	return filepath.Join(append([]string{Root()}, elem...)...)
}

func declaresModule(goMod string) bool {
	f, err := os.Open(goMod)
	if err != nil {
		return false
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if line := strings.TrimSpace(s.Text()); strings.HasPrefix(line, "module ") {
			return strings.TrimSpace(strings.TrimPrefix(line, "module ")) == module
		}
	}
	return false
}
