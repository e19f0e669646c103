package vsphere

import (
	corev1 "k8s.io/api/core/v1"

	"github.com/vsphere-cloud/provider/pkg/providerid"
)

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
