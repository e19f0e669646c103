// Package volumes is the CSI driver disk.vsphere-cloud.io: the gRPC server, the Identity
// service and the Node service. The Controller service is pkg/volumes/csicontroller, served
// by cloud-controller, which alone talks to vCenter; the Node service, served by the
// vsphere-csi-node container of the vsphere-node DaemonSet with no vCenter credentials,
// finds an attached disk by its UUID, formats, mounts and grows it. Neither keeps state of
// its own: vCenter and the node's mount table are the truth.
package volumes
