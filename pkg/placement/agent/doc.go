// Package agent is vsphere-node's placement and health loop for its own Node: it reads
// the Node's NodeVM (written by cloud-controller), adds what only the guest can see, and
// writes placement labels, conditions with reasons and fixes, and the host-maintenance
// taint. It never talks to vCenter and watches only its own Node and NodeVM.
//
// It changes nothing but its own Node, except that with --drain-on-host-maintenance
// (off by default) RunDrain evicts the Node's Pods, respecting PodDisruptionBudgets, while
// its ESXi host enters or is in maintenance mode.
package agent
