// Package announce is vsphere-node's half of LoadBalancer Services: for every VIP it
// elects one eligible node through a Lease, and that node adds the address to its
// interface on the VIP's vSphere network and announces it (gratuitous ARP for IPv4,
// unsolicited neighbour advertisements for IPv6). kube-proxy then delivers the traffic.
package announce
