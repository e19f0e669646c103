// Package chartcheck proves that the Helm chart's default render and the kustomize base are
// the same objects, with helm and kustomize as pinned Go modules (no downloaded binaries).
package chartcheck

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"sort"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

const (
	manifests = "../../../manifests"
	chartDir  = "../../../charts/vsphere-cloud"
)

func TestChartRendersTheKustomizeBase(t *testing.T) {
	resMap, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), manifests)
	if err != nil {
		t.Fatalf("kustomize build: %v", err)
	}
	kyaml, err := resMap.AsYaml()
	if err != nil {
		t.Fatal(err)
	}
	want := objects(t, "kustomize", kyaml)

	ch, err := loader.Load(chartDir)
	if err != nil {
		t.Fatalf("loading the chart: %v", err)
	}
	vals, err := chartutil.ToRenderValues(ch, map[string]any{}, chartutil.ReleaseOptions{Name: "vsphere-cloud", Namespace: "vsphere-cloud-system", IsInstall: true}, chartutil.DefaultCapabilities)
	if err != nil {
		t.Fatal(err)
	}
	rendered, err := engine.Render(ch, vals)
	if err != nil {
		t.Fatalf("helm template: %v", err)
	}
	var all bytes.Buffer
	names := make([]string, 0, len(rendered))
	for n := range rendered {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(&all, "---\n%s\n", rendered[n])
	}
	for _, crd := range ch.CRDObjects() {
		fmt.Fprintf(&all, "---\n%s\n", crd.File.Data)
	}
	got := objects(t, "helm", all.Bytes())

	for key, w := range want {
		g, ok := got[key]
		if !ok {
			t.Errorf("%s: in the kustomize base, not in the chart", key)
			continue
		}
		if !reflect.DeepEqual(w, g) {
			t.Errorf("%s differs:\nkustomize: %v\nhelm:      %v", key, w, g)
		}
	}
	for key := range got {
		if _, ok := want[key]; !ok {
			t.Errorf("%s: in the chart, not in the kustomize base", key)
		}
	}
	if len(want) < 20 {
		t.Fatalf("only %d objects: the comparison is not looking at the manifests", len(want))
	}
}

func objects(t *testing.T, source string, data []byte) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	for {
		var o map[string]any
		if err := dec.Decode(&o); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			t.Fatalf("%s output: %v", source, err)
		}
		if len(o) == 0 {
			continue
		}
		md, _ := o["metadata"].(map[string]any)
		key := strings.Join([]string{fmt.Sprint(o["kind"]), fmt.Sprint(md["namespace"]), fmt.Sprint(md["name"])}, "/")
		if _, dup := out[key]; dup {
			t.Fatalf("%s renders %s twice", source, key)
		}
		out[key] = o
	}
	return out
}
