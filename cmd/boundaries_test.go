// Package cmd_test checks what each program links: the build's own record of the
// boundaries that .golangci.yml's depguard rules state file by file.
package cmd_test

import (
	"os/exec"
	"strings"
	"testing"
)

// The node programs run on every node with the node's own credentials, which a compromised
// node holds: they must not link vCenter code, a vSphere client or the cloud-provider
// framework (cloud-controller's), directly or through any dependency.
func TestNodeProgramsLinkNoVCenterCode(t *testing.T) {
	forbidden := []string{
		"github.com/vsphere-cloud/provider/pkg/vsphere",
		"github.com/vmware/govmomi",
		"k8s.io/cloud-provider",
	}
	for _, program := range []string{"./vsphere-node", "./vsphere-csi-node"} {
		t.Run(program, func(t *testing.T) {
			out, err := exec.Command("go", "list", "-deps", program).Output()
			if err != nil {
				t.Fatalf("go list -deps %s: %v", program, err)
			}
			deps := strings.Fields(string(out))
			if len(deps) < 50 {
				t.Fatalf("go list -deps %s listed %d packages; expected the program's whole closure", program, len(deps))
			}
			for _, dep := range deps {
				for _, f := range forbidden {
					if dep == f || strings.HasPrefix(dep, f+"/") {
						t.Errorf("%s links %s", program, dep)
					}
				}
			}
		})
	}
}

// cloud-controller is the one program that talks to vCenter: the check above is not
// vacuous.
func TestCloudControllerLinksVCenterCode(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "./cloud-controller").Output()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "github.com/vsphere-cloud/provider/pkg/vsphere\n") {
		t.Fatal("cloud-controller does not link pkg/vsphere; the boundary test would prove nothing")
	}
}
