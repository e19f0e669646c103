package lbcontroller

import (
	"context"
	"encoding/json"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vsphere-cloud/provider/api/v1alpha1"
)

// TestFinalizersPatchIsJSON: the patch is valid JSON that says exactly the list and the
// resourceVersion given, whatever they hold; Go's %q quoting is not JSON (\v, \x7f,
// \a), which the patch must not depend on.
func TestFinalizersPatchIsJSON(t *testing.T) {
	for _, tc := range []struct {
		name string
		list []string
		rv   string
	}{
		{name: "ours alone", list: []string{v1alpha1.FinalizerVIP}, rv: "42"},
		{name: "none left", list: nil, rv: "42"},
		{name: "quotes and backslashes", list: []string{`example.com/"quoted"`, `example.com/back\slash`}, rv: `4"2`},
		{name: "unicode", list: []string{"例え.jp/ファイナライザー", "example.com/\u00fcber", "example.com/\u2028line"}},
		{name: "control characters Go quotes unlike JSON", list: []string{"example.com/\v\a\x7f\x00"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			patch, err := finalizersPatchFor(tc.list, tc.rv)
			if err != nil {
				t.Fatal(err)
			}
			if !json.Valid(patch) {
				t.Fatalf("not JSON: %s", patch)
			}
			var got struct {
				Metadata struct {
					Finalizers      *[]string `json:"finalizers"`
					ResourceVersion *string   `json:"resourceVersion"`
				} `json:"metadata"`
			}
			if err := json.Unmarshal(patch, &got); err != nil {
				t.Fatal(err)
			}
			if got.Metadata.Finalizers == nil || !slices.Equal(*got.Metadata.Finalizers, tc.list) {
				t.Errorf("finalizers in %s, want %q", patch, tc.list)
			}
			if rv := got.Metadata.ResourceVersion; (tc.rv == "") != (rv == nil) || rv != nil && *rv != tc.rv {
				t.Errorf("resourceVersion in %s, want %q", patch, tc.rv)
			}
		})
	}
}

// TestFinalizerPatchesKeepOtherFinalizers: adding and removing ours through the API keeps
// every other finalizer as it was, whatever its name holds.
func TestFinalizerPatchesKeepOtherFinalizers(t *testing.T) {
	others := []string{`example.com/"quoted"`, "例え.jp/ファイナライザー", `example.com/back\slash`}
	svc := lbService("web", nil, func(s *corev1.Service) { s.Finalizers = slices.Clone(others) })
	h := newTestServices(t, true, svc)
	ctx := context.Background()
	added, err := addFinalizer(ctx, h.kube, svc)
	if err != nil {
		t.Fatal(err)
	}
	if want := append(slices.Clone(others), v1alpha1.FinalizerVIP); !slices.Equal(added.Finalizers, want) {
		t.Fatalf("after adding: %q, want %q", added.Finalizers, want)
	}
	if err := removeFinalizer(ctx, h.kube, added); err != nil {
		t.Fatal(err)
	}
	got, err := h.kube.CoreV1().Services("default").Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Finalizers, others) {
		t.Fatalf("after removing: %q, want %q", got.Finalizers, others)
	}
}
