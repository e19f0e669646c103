package e2e

import (
	"context"
	"testing"

	"github.com/vsphere-cloud/provider/test/framework"
)

// TestManifestsApply applies every object of manifests/ server-side to a real API server,
// which validates each against its schema (kubectl apply -k applies the same files).
func TestManifestsApply(t *testing.T) {
	ctx := context.Background()
	cp, err := framework.StartControlPlane(artifactsDir(t, "manifests"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cp.Stop)
	files, err := framework.KustomizationResources()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if err := framework.ApplyManifests(ctx, cp, f); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}
