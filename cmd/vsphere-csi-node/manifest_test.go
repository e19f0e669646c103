package main

import (
	"os"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	"sigs.k8s.io/yaml"

	"github.com/vsphere-cloud/provider/internal/cmdflags"
)

// The DaemonSet's csi-node container runs this program with flags it accepts.
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
		if len(c.Command) == 0 || c.Command[0] != "/vsphere-csi-node" {
			continue
		}
		found = true
		if _, err := cmdflags.Parse("vsphere-csi-node", append([]string{"--node-name=n1"}, c.Args...), &Options{}); err != nil {
			t.Fatalf("container %s: %v", c.Name, err)
		}
	}
	if !found {
		t.Fatal("no container in manifests/vsphere-node.yaml runs /vsphere-csi-node")
	}
}
