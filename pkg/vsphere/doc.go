// Package vsphere is the only package that talks to vCenter. For each configured vCenter
// it keeps one session and, built on it, an inventory cache fed by the PropertyCollector's
// WaitForUpdatesEx, tag lookups for zones and regions (read once per resync), and, when
// asked, a watch of the VM and host events that matter to Nodes (vcenter.go shows how
// these parts fit). It also carries the volume calls (Cloud Native Storage) and
// classifies vSphere faults into a few sentinel errors.
//
// It does not decide anything about Kubernetes objects: callers (pkg/provider and the
// controllers) get domain values (VM, Host) and sentinel errors, and map them to their
// own answers at their edge. It never stores credentials beyond the session that uses
// them and never prints them.
package vsphere
