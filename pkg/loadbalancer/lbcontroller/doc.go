// Package lbcontroller is the cloud-controller side of LoadBalancer Services: the
// cloudprovider.LoadBalancer for class-less Services, a Service controller for Services
// of v1alpha1.ServiceClassVIP (address, finalizer, status) that also keeps the Allocated and
// Announced conditions of every Service served, a VIPPool controller that writes the
// pools' status, and the reaper of lapsed VIP Leases.
//
// It does not pick addresses (package loadbalancer does, and vsphere-node shares that
// logic without linking k8s.io/cloud-provider), it does not announce addresses
// (vsphere-node's announce agent does), and it keeps no state of its own across restarts:
// allocations are rebuilt from the Services' status when it starts.
package lbcontroller
