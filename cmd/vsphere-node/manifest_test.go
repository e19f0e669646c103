package main

import (
	"os"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	"sigs.k8s.io/yaml"

	"github.com/vsphere-cloud/provider/internal/cmdflags"
)

// The DaemonSet's containers that run this program (the image's entrypoint) pass flags it
// accepts.
func TestManifestArgsAreValid(t *testing.T) {
	b, err := os.ReadFile("../../manifests/vsphere-node.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var ds appsv1.DaemonSet
	if err := yaml.Unmarshal(b, &ds); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, c := range ds.Spec.Template.Spec.Containers {
		if c.Image == "" || len(c.Command) > 0 || c.Name != "vsphere-node" {
			continue
		}
		found = true
		if _, err := cmdflags.Parse("vsphere-node", append([]string{"--node-name=n1"}, c.Args...), &Options{}); err != nil {
			t.Fatalf("container %s: %v", c.Name, err)
		}
	}
	if !found {
		t.Fatal("no vsphere-node container in manifests/vsphere-node.yaml")
	}
}
