package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestOptionsValidateNamesTheFlag(t *testing.T) {
	for _, tc := range []struct {
		args []string
		flag string
	}{
		{[]string{"--node-name="}, "--node-name"},
		{[]string{"--node-name=n1", "--csi-endpoint=/csi/csi.sock"}, "--csi-endpoint"},
		{[]string{"--node-name=n1", "--csi-endpoint=unix://"}, "--csi-endpoint"},
		{[]string{"--node-name=n1", "--dev-root="}, "--dev-root"},
		{[]string{"--node-name=n1", "--sys-root="}, "--sys-root"},
		{[]string{"--node-name=n1", "--csi-device-wait=10ms"}, "--csi-device-wait"},
	} {
		o := &Options{}
		fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
		o.AddFlags(fs)
		if err := fs.Parse(tc.args); err != nil {
			t.Fatal(err)
		}
		if err := o.Validate(); err == nil || !strings.Contains(err.Error(), tc.flag) {
			t.Errorf("%v: error %v does not name %s", tc.args, err, tc.flag)
		}
	}
	o := &Options{}
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	o.AddFlags(fs)
	if err := fs.Parse([]string{"--node-name=n1"}); err != nil {
		t.Fatal(err)
	}
	if err := o.Validate(); err != nil || o.Endpoint != "unix:///csi/csi.sock" || o.DeviceWait != 30*time.Second {
		t.Errorf("defaults: %+v, %v", o, err)
	}
}

type nodes map[string]*corev1.Node

func (n nodes) Get(_ context.Context, name string, _ metav1.GetOptions) (*corev1.Node, error) {
	if node, ok := n[name]; ok {
		return node, nil
	}
	return nil, &notFound{name}
}

type notFound struct{ name string }

func (e *notFound) Error() string { return "nodes \"" + e.name + "\" not found" }

func TestNodeIdentityComesFromTheProviderID(t *testing.T) {
	ctx := context.Background()
	n := nodes{
		"ok": {ObjectMeta: metav1.ObjectMeta{Name: "ok", Labels: map[string]string{corev1.LabelTopologyZone: "z1", corev1.LabelTopologyRegion: "r1"}},
			Spec: corev1.NodeSpec{ProviderID: "vsphere://4214C5E2-1111-2222-3333-444455556666"}},
		"uninitialized": {ObjectMeta: metav1.ObjectMeta{Name: "uninitialized"}},
		"foreign":       {ObjectMeta: metav1.ObjectMeta{Name: "foreign"}, Spec: corev1.NodeSpec{ProviderID: "aws:///i-1"}},
	}
	id, err := nodeIdentity(ctx, n, "ok")
	if err != nil || id.ID != "4214c5e2-1111-2222-3333-444455556666" || id.Zone != "z1" || id.Region != "r1" {
		t.Errorf("identity = %+v, %v", id, err)
	}
	for name, want := range map[string]string{"uninitialized": "cloud-controller sets it", "foreign": "no vsphere:// providerID", "missing": "reading Node missing"} {
		if _, err := nodeIdentity(ctx, n, name); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want it to say %q", name, err, want)
		}
	}
}
