// Package volumes is the CSI driver disk.vsphere-cloud.io: the Controller service (served
// by cloud-controller, which alone talks to vCenter) creates, attaches, grows and
// snapshots First Class Disks; the Node service (served by vsphere-node) finds an
// attached disk by its UUID, formats, mounts and grows it. Neither keeps state of its
// own: vCenter and the node's mount table are the truth.
package volumes
