// Package cpvip holds the control-plane endpoint of a kubeadm cluster: the address that
// kubeadm's controlPlaneEndpoint names, announced by exactly one control-plane node whose
// local kube-apiserver answers its health check. vsphere-node runs it as a static Pod on
// every control-plane node (`vsphere-node control-plane run`), in place of kube-vip.
//
// The holder is elected through a Lease written to the local API server (so it works
// before the endpoint itself answers, during kubeadm init), and announces with the same
// ARP/NDP code as Service VIPs (pkg/loadbalancer/announce). Fencing is the same rule,
// enforced twice: the holder drops the address at the send time of its last successful
// Lease write plus the Lease duration minus a margin, and the address carries that
// deadline as its kernel lifetime, so it goes even if the agent is killed. Other nodes take
// over no earlier than a Lease duration after they saw the Lease last change.
package cpvip
