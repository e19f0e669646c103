// Package placement keeps one NodeVM object per Node, describing where the Node's VM runs
// (vCenter, datacenter, cluster, ESXi host, resource pool, folder, datastores, networks)
// and how it is (power, VMware Tools, host state), from the inventory cache's update
// stream. It runs in cloud-controller.
//
// Every value comes from the cache, and a stale cache is shown as a False InventoryFresh
// condition rather than hidden; vCenter is called only to mark the VM and, once per VM,
// to read its devices for the volume limit (capacity.go). It does not label, drain or
// taint Nodes for their placement; vsphere-node does that from the NodeVM. It writes
// Nodes for one thing only: failover on proof (failover.go), the out-of-service taint
// and a False Ready condition when the cache proves a Node's VM powered off or gone.
package placement
