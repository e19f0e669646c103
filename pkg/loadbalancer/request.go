package loadbalancer

import (
	"net/netip"

	corev1 "k8s.io/api/core/v1"

	"github.com/vsphere-cloud/provider/api/v1alpha1"
)

// Serves reports whether this product serves the Service: type LoadBalancer with no class
// (when class-less Services are served) or our class.
func Serves(svc *corev1.Service, classless bool) bool {
	if svc.Spec.Type != corev1.ServiceTypeLoadBalancer {
		return false
	}
	if svc.Spec.LoadBalancerClass == nil {
		return classless
	}
	return *svc.Spec.LoadBalancerClass == v1alpha1.ServiceClassVIP
}

// RequestFor describes what a Service asks for.
func RequestFor(svc *corev1.Service) (Request, error) {
	r := Request{
		Service: svc.Namespace + "/" + svc.Name, Namespace: svc.Namespace,
		SharingKey: svc.Annotations[v1alpha1.AnnotationSharingKey], Pool: svc.Annotations[v1alpha1.AnnotationPool],
		TrafficPolicy: string(svc.Spec.ExternalTrafficPolicy),
	}
	for _, f := range svc.Spec.IPFamilies {
		r.Families = append(r.Families, Family(f))
	}
	if len(r.Families) == 0 { // not yet defaulted by the API server (tests, old objects)
		r.Families = []Family{IPv4}
	}
	for _, p := range svc.Spec.Ports {
		proto := string(p.Protocol)
		if proto == "" {
			proto = string(corev1.ProtocolTCP)
		}
		r.Ports = append(r.Ports, Port{Protocol: proto, Port: p.Port})
	}
	var err error
	r.Requested, err = ParseRequested(svc.Spec.LoadBalancerIP, svc.Annotations[v1alpha1.AnnotationLoadBalancerIPs])
	return r, err
}

// IngressIPs are the addresses in the Service's status.
func IngressIPs(svc *corev1.Service) []netip.Addr {
	var out []netip.Addr
	for _, in := range svc.Status.LoadBalancer.Ingress {
		if ip, err := netip.ParseAddr(in.IP); err == nil {
			out = append(out, ip.Unmap())
		}
	}
	return out
}

// StatusFor is the load balancer status for the addresses: ipMode VIP, since the node
// that answers is the destination.
func StatusFor(ips []netip.Addr) *corev1.LoadBalancerStatus {
	st := &corev1.LoadBalancerStatus{}
	vip := corev1.LoadBalancerIPModeVIP
	for _, ip := range ips {
		st.Ingress = append(st.Ingress, corev1.LoadBalancerIngress{IP: ip.String(), IPMode: &vip})
	}
	return st
}
