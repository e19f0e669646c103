// Package loadbalancer gives LoadBalancer Services virtual IPs from VIPPools (in
// cloud-controller, which checks every address against the VM guest IPs vCenter reports)
// and announces them from one elected, healthy node per address (in vsphere-node).
package loadbalancer
