// Package controller is the cloud-controller side of LoadBalancer Services: the
// cloudprovider.LoadBalancer for class-less Services, our own controller for Services of
// loadbalancer.Class, VIPPool status, and the Service conditions. It is apart from the
// allocation logic in package loadbalancer so that vsphere-node, which uses that logic
// to announce addresses, does not link k8s.io/cloud-provider.
package controller
