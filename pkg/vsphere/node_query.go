package vsphere

import (
	corev1 "k8s.io/api/core/v1"

	"github.com/vsphere-cloud/provider/pkg/providerid"
)

// NodeQuery identifies a Kubernetes node's VM. UUIDs are tried before names.
type NodeQuery struct {
	// ProviderUUID is the UUID from an existing providerID, in config.uuid byte order.
	// When set, only it is used: a node that has a providerID is never re-matched by name.
	ProviderUUID string
	// SystemUUID is kubelet's SystemUUID; both byte orders are tried.
	SystemUUID string
	// Name is the node name, matched against VM names and then guest host names.
	Name string
	// Known are VMs the caller remembers for this node (a NodeVM's status): with a
	// ProviderUUID that no VM in the inventory has, vCenter is asked about them, since
	// only vCenter answering ManagedObjectNotFound proves a VM gone.
	Known []VMRef
}

// QueryForNode is how a Node is looked up: by its providerID's UUID once it has one, else by
// SystemUUID and name. ours is false for a providerID of another provider; q then holds
// the SystemUUID and name.
func QueryForNode(node *corev1.Node) (q NodeQuery, ours bool) {
	q = NodeQuery{SystemUUID: node.Status.NodeInfo.SystemUUID, Name: node.Name}
	id := node.Spec.ProviderID
	if id == "" {
		return q, true
	}
	uuid, ok := providerid.UUID(id)
	if !ok || uuid == "" {
		return q, false
	}
	return NodeQuery{ProviderUUID: uuid, Name: node.Name}, true
}
