// Package agent is vsphere-node's placement and health loop for its own Node: it reads
// the Node's NodeVM (written by cloud-controller), adds what only the guest can see, and
// writes placement labels, conditions with reasons and fixes, and the host-maintenance
// taint. It never talks to vCenter and watches only its own Node and NodeVM.
//
// It does not drain Nodes (that is left to an optional, off-by-default step not built yet)
// and does not change anything but its own Node.
package agent
