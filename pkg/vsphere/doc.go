// Package vsphere is the only package that talks to vCenter: one session per vCenter,
// an inventory cache fed by the PropertyCollector's WaitForUpdatesEx, tag lookups for
// zones and regions, and the classification of vSphere faults into a few sentinel
// errors.
//
// It does not decide anything about Kubernetes objects: callers (pkg/provider and the
// controllers) get domain values (VM, Host) and sentinel errors, and map them to their
// own answers at their edge. It never stores credentials beyond the session that uses
// them and never prints them.
package vsphere
