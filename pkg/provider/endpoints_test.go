package provider

import (
	"context"
	"slices"
	"testing"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/vsphere-cloud/provider/api/v1alpha1"
	"github.com/vsphere-cloud/provider/pkg/vsphere"
	"github.com/vsphere-cloud/provider/pkg/vsphere/config"
)

// TestControlPlaneEndpointIsNoNodeAddress: VMware Tools reports the control-plane
// endpoint on the holder's NIC; it never becomes the Node's address.
func TestControlPlaneEndpointIsNoNodeAddress(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	kube := fake.NewClientset(&coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{
		Name: "vsphere-cloud-control-plane-endpoint", Namespace: "kube-system",
		Labels:      map[string]string{v1alpha1.LabelControlPlaneEndpoint: "true"},
		Annotations: map[string]string{v1alpha1.AnnotationControlPlaneEndpoint: "10.0.0.50"},
	}})
	inv := &fakeInventory{vm: vsphere.VM{VCenter: "a", UUID: "4214c5e2-1111-2222-3333-444455556666", Fresh: true,
		NICs: []vsphere.NIC{{IPs: []string{"10.0.0.50", "10.0.0.9"}}}}}
	c := New(&config.Config{VCenters: []config.VCenterConfig{{Name: "a", IPFamilies: []string{"ipv4"}}}}, inv)
	c.endpoints = startEndpoints(ctx, kube)
	i, _ := c.InstancesV2()
	md, err := i.InstanceMetadata(ctx, node("", "E2C51442-1111-2222-3333-444455556666"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range md.NodeAddresses {
		if a.Type == corev1.NodeInternalIP {
			got = append(got, a.Address)
		}
	}
	if slices.Contains(got, "10.0.0.50") || !slices.Contains(got, "10.0.0.9") {
		t.Errorf("InternalIPs = %v: want 10.0.0.9 and never the endpoint 10.0.0.50", got)
	}
}
