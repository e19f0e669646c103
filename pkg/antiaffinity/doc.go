// Package antiaffinity keeps vSphere VM-VM anti-affinity rules for groups of Nodes, so
// that DRS keeps their VMs on different ESXi hosts: control-plane Nodes, and Nodes that
// share a value of the label vsphere-cloud.io/anti-affinity-group. It runs in
// cloud-controller (the vsphere-anti-affinity controller, leader only).
//
// In each vSphere cluster, a group with at least two VMs there has one rule named
// vsphere-cloud/<cluster name>-<kube-system UID, 8 characters>/<group>; rules follow Nodes joining, leaving and moving
// between clusters. Only rules with that name prefix are ever changed: rules others made
// are never touched. Nothing changes while any group member's VM cannot be resolved from
// a fresh inventory. The placement controller reports group members that share a host
// (the NodeVM condition AntiAffinity).
package antiaffinity
