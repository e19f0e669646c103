package loadbalancer

import (
	"net/netip"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vsphere-cloud/provider/api/v1alpha1"
)

// lbService is a LoadBalancer Service with one TCP port and a sharing key.
func lbService(ns, name, key string, port int32, policy corev1.ServiceExternalTrafficPolicy, requested string) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Annotations: map[string]string{v1alpha1.AnnotationSharingKey: key, v1alpha1.AnnotationLoadBalancerIPs: requested}},
		Spec: corev1.ServiceSpec{
			Type: corev1.ServiceTypeLoadBalancer, ExternalTrafficPolicy: policy, IPFamilies: []corev1.IPFamily{corev1.IPv4Protocol},
			Ports: []corev1.ServicePort{{Protocol: corev1.ProtocolTCP, Port: port}},
		},
	}
}

func assignService(t *testing.T, a *Allocator, svc *corev1.Service) ([]netip.Addr, error) {
	t.Helper()
	r, err := RequestFor(svc)
	if err != nil {
		t.Fatal(err)
	}
	return a.Assign(r)
}

// TestSharingKeyIsPrivateToItsNamespace: a namespace that copies another's sharing key
// neither joins its address automatically nor by asking for it.
func TestSharingKeyIsPrivateToItsNamespace(t *testing.T) {
	a := NewAllocator([]Pool{{Name: "p", Ranges: mustRanges(t, "10.0.0.1-10.0.0.3"), AutoAssign: true}}, nil)
	victim, err := assignService(t, a, lbService("team-a", "web", "k", 80, "", ""))
	if err != nil || victim[0] != netip.MustParseAddr("10.0.0.1") {
		t.Fatalf("team-a/web: %v, %v", victim, err)
	}
	if got, err := assignService(t, a, lbService("team-a", "dns", "k", 53, "", "")); err != nil || got[0] != victim[0] {
		t.Fatalf("team-a/dns with the same key got %v, %v; want to share %s", got, err, victim[0])
	}
	got, err := assignService(t, a, lbService("intruder", "ssh", "k", 22, "", ""))
	if err != nil || got[0] == victim[0] {
		t.Fatalf("intruder/ssh with team-a's key got %v, %v; want an address of its own", got, err)
	}
	if _, err := assignService(t, a, lbService("intruder", "ssh2", "k", 2222, "", "10.0.0.1")); reason(err) != ReasonSharingConflict {
		t.Fatalf("intruder asking for team-a's shared address: err = %v, want %s", err, ReasonSharingConflict)
	}
}

// TestSharingAcrossNamespacesWhereThePoolAllows: spec.shareAcrossNamespaces opens a
// pool's addresses to one key in every namespace.
func TestSharingAcrossNamespacesWhereThePoolAllows(t *testing.T) {
	a := NewAllocator([]Pool{{Name: "p", Ranges: mustRanges(t, "10.0.0.1-10.0.0.3"), AutoAssign: true, ShareAcrossNamespaces: true}}, nil)
	first, err := assignService(t, a, lbService("team-a", "web", "k", 80, "", ""))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := assignService(t, a, lbService("team-b", "dns", "k", 53, "", "")); err != nil || got[0] != first[0] {
		t.Fatalf("team-b with the key in a sharing pool got %v, %v; want %s", got, err, first[0])
	}
}

// TestSharingNeedsOneTrafficPolicy: Services of one address share its announcing node,
// so Local and Cluster cannot be mixed.
func TestSharingNeedsOneTrafficPolicy(t *testing.T) {
	a := NewAllocator([]Pool{{Name: "p", Ranges: mustRanges(t, "10.0.0.1-10.0.0.3"), AutoAssign: true}}, nil)
	first, err := assignService(t, a, lbService("a", "web", "k", 80, corev1.ServiceExternalTrafficPolicyLocal, ""))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := assignService(t, a, lbService("a", "dns", "k", 53, corev1.ServiceExternalTrafficPolicyCluster, "")); reason(err) != ReasonSharingConflict {
		t.Fatalf("Cluster joining a Local Service's address: err = %v, want %s", err, ReasonSharingConflict)
	}
	if _, err := assignService(t, a, lbService("a", "dns2", "k", 54, "", first[0].String())); reason(err) != ReasonSharingConflict {
		t.Fatalf("an unset policy (Cluster) asking for a Local Service's address: err = %v, want %s", err, ReasonSharingConflict)
	}
	if got, err := assignService(t, a, lbService("a", "dns3", "k", 55, corev1.ServiceExternalTrafficPolicyLocal, "")); err != nil || got[0] != first[0] {
		t.Fatalf("Local joining Local: %v, %v; want %s", got, err, first[0])
	}
}
