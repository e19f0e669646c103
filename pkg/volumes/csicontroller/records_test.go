package csicontroller

import (
	"context"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/vsphere-cloud/provider/api/v1alpha1"
	"github.com/vsphere-cloud/provider/pkg/vsphere"
)

func TestCreateRecordsRoundTrip(t *testing.T) {
	s := runtime.NewScheme()
	_ = v1alpha1.AddToScheme(s)
	r := CreateRecords{Client: fake.NewClientBuilder().WithScheme(s).Build(), Namespace: "vsphere-cloud-system"}
	ctx := context.Background()
	for _, name := range []string{"pvc-0b5f3c1e-1111-2222-3333-444455556666", "Sanity Volume/1 " + strings.Repeat("x", 300)} {
		if _, ok, err := r.Get(ctx, name); ok || err != nil {
			t.Fatalf("%q before any Put: ok %v, %v", name, ok, err)
		}
		want := vsphere.CreateRecord{Name: name, VCenter: "vc", Task: "task-7"}
		if err := r.Put(ctx, want); err != nil {
			t.Fatal(err)
		}
		want.VolumeID = "fcd-1"
		if err := r.Put(ctx, want); err != nil {
			t.Fatal(err)
		}
		got, ok, err := r.Get(ctx, name)
		if err != nil || !ok || got != want {
			t.Fatalf("%q: got %+v, %v, %v; want %+v", name, got, ok, err, want)
		}
		if err := r.Delete(ctx, name); err != nil {
			t.Fatal(err)
		}
		if err := r.Delete(ctx, name); err != nil {
			t.Fatalf("second delete: %v", err)
		}
		if _, ok, _ := r.Get(ctx, name); ok {
			t.Errorf("%q still recorded after Delete", name)
		}
	}
}
