package repo

import (
	"os"
	"path/filepath"
	"testing"
)

func TestRootHoldsTheModule(t *testing.T) {
	root := Root()
	if _, err := os.Stat(filepath.Join(root, "test", "repo", "root.go")); err != nil {
		t.Fatalf("Root() = %s, which does not hold test/repo/root.go: %v", root, err)
	}
	if got, want := Path("manifests"), filepath.Join(root, "manifests"); got != want {
		t.Fatalf("Path(manifests) = %s, want %s", got, want)
	}
}

func TestDeclaresModuleReadsTheModuleLine(t *testing.T) {
	dir := t.TempDir()
	other := filepath.Join(dir, "go.mod")
	if err := os.WriteFile(other, []byte("// c\nmodule github.com/vsphere-cloud/provider/hack/tools\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if declaresModule(other) {
		t.Fatal("a tools module's go.mod was taken for the repository's")
	}
	if err := os.WriteFile(other, []byte("module github.com/vsphere-cloud/provider\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if !declaresModule(other) {
		t.Fatal("the repository's go.mod was not recognised")
	}
}
