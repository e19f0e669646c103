// Package csicontroller is the CSI Controller service of disk.vsphere-cloud.io, served by
// cloud-controller for the standard sidecars (provisioner, attacher, resizer,
// snapshotter): it creates, attaches, grows, snapshots and deletes First Class Disks
// through four role ports (interfaces.go) that *vsphere.Manager implements, batches
// attaches and detaches per VM, and reports (and on opt-in deletes) orphaned disks.
//
// It does not talk to vCenter itself, decide which node a Pod runs on, or touch a node's
// devices (pkg/volumes' Node service does); it maps pkg/vsphere's sentinel errors to gRPC
// codes in one place (errors.go).
package csicontroller
