// Package provider implements k8s.io/cloud-provider's Interface for vSphere under the
// name "vsphere": InstancesV2 only (no Instances, Zones or Routes), answered from the
// inventory cache of package vsphere.
//
// The provider delegates: node-to-VM matching and cache freshness live in package
// vsphere, address selection in addresses.go. It never calls vCenter per request and
// never reports a VM as gone unless every vCenter's cache proves it.
package provider
