package csicontroller

import (
	"context"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

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

// Each write of a record is one request, whether it creates the record or replaces it: the
// second write of every volume create used to cost three (create, get, update), which bounded
// creates in bulk on the records client.
func TestCreateRecordsWriteOnce(t *testing.T) {
	s := runtime.NewScheme()
	_ = v1alpha1.AddToScheme(s)
	calls := map[string]int{}
	count := func(verb string) { calls[verb]++ }
	cl := fake.NewClientBuilder().WithScheme(s).WithInterceptorFuncs(interceptor.Funcs{
		Get: func(ctx context.Context, c client.WithWatch, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
			count("get")
			return c.Get(ctx, key, obj, opts...)
		},
		Create: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.CreateOption) error {
			count("create")
			return c.Create(ctx, obj, opts...)
		},
		Update: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.UpdateOption) error {
			count("update")
			return c.Update(ctx, obj, opts...)
		},
		Patch: func(ctx context.Context, c client.WithWatch, obj client.Object, patch client.Patch, opts ...client.PatchOption) error {
			count("patch")
			return c.Patch(ctx, obj, patch, opts...)
		},
	}).Build()
	r := CreateRecords{Client: cl, Namespace: "vsphere-cloud-system"}
	ctx := context.Background()
	rec := vsphere.CreateRecord{Name: "pvc-0b5f3c1e-1111-2222-3333-444455556666", VCenter: "vc", Task: "task-7"}
	if err := r.Put(ctx, rec); err != nil {
		t.Fatal(err)
	}
	rec.VolumeID, rec.Task = "fcd-1", ""
	if err := r.Put(ctx, rec); err != nil {
		t.Fatal(err)
	}
	if n := calls["get"] + calls["create"] + calls["update"] + calls["patch"]; n != 2 {
		t.Errorf("two writes of one record took %d requests (%v), want 2", n, calls)
	}
	got, ok, err := r.Get(ctx, rec.Name)
	if err != nil || !ok || got != rec {
		t.Fatalf("got %+v, %v, %v; want %+v (a field the new write leaves out is gone)", got, ok, err, rec)
	}
}
