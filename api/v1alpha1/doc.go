// Package v1alpha1 holds vsphere-cloud's own API types (group vsphere-cloud.io).
//
// +kubebuilder:object:generate=true
// +groupName=vsphere-cloud.io
package v1alpha1
