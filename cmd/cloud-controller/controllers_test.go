package main

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// The shipped manifest runs every controller of ours: a controller missing from its
// --controllers list never runs for users.
func TestManifestRunsEveryControllerOfOurs(t *testing.T) {
	b, err := os.ReadFile("../../manifests/cloud-controller.yaml")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`--controllers=(\S+)`).FindSubmatch(b)
	if m == nil {
		t.Fatal("manifests/cloud-controller.yaml passes no --controllers")
	}
	listed := strings.Split(string(m[1]), ",")
	for name := range controllerInitializers(&csiOptions{}, &placementOptions{}, &dependencies{}) {
		if strings.HasPrefix(name, "vsphere-") && !slices.Contains(listed, name) {
			t.Errorf("controller %s is not in the manifest's --controllers (%s)", name, m[1])
		}
	}
}
