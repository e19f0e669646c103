package placement

import (
	"errors"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vsphere-cloud/provider/api/v1alpha1"
	"github.com/vsphere-cloud/provider/pkg/vsphere"
)

// desiredStatus turns a lookup result into a NodeVM status, keeping condition transition
// times from prev. duplicateOf names the other Nodes that resolve to the same VM.
func desiredStatus(prev v1alpha1.NodeVMStatus, vm vsphere.VM, lookupErr error, duplicateOf []string) v1alpha1.NodeVMStatus {
	st := v1alpha1.NodeVMStatus{Conditions: append([]metav1.Condition(nil), prev.Conditions...)}
	set := func(typ string, ok bool, reason, msg string) {
		s := metav1.ConditionFalse
		if ok {
			s = metav1.ConditionTrue
		}
		meta.SetStatusCondition(&st.Conditions, metav1.Condition{Type: typ, Status: s, Reason: reason, Message: msg})
	}
	switch {
	case errors.Is(lookupErr, vsphere.ErrNotFound):
		set(v1alpha1.ConditionVMFound, false, v1alpha1.ReasonNotFound, "no VM in any vCenter matches this Node's providerID, SystemUUID or name")
		return keepPlacement(prev, st)
	case errors.Is(lookupErr, vsphere.ErrAmbiguous):
		set(v1alpha1.ConditionVMFound, false, v1alpha1.ReasonDuplicateUUID, lookupErr.Error()+"; VMs cloned without a new BIOS UUID must get one (uuid.bios) before they join")
		return keepPlacement(prev, st)
	case lookupErr != nil:
		set(v1alpha1.ConditionVMFound, false, v1alpha1.ReasonLookupFailed, lookupErr.Error())
		set(v1alpha1.ConditionInventoryFresh, false, v1alpha1.ReasonStale, lookupErr.Error())
		return keepPlacement(prev, st)
	}
	st.VCenter, st.Datacenter, st.VM, st.VMName, st.UUID = vm.VCenter, vm.Datacenter, vm.Ref, vm.Name, vm.UUID
	st.Cluster, st.ResourcePool, st.Folder = vm.Cluster, vm.ResourcePool, vm.Folder
	st.Datastores = append([]string(nil), vm.Datastores...)
	for _, n := range vm.NICs {
		st.NICs = append(st.NICs, v1alpha1.NIC{Network: n.Network, MAC: n.MAC, IPs: append([]string(nil), n.IPs...)})
	}
	st.PowerState, st.ToolsRunningStatus, st.GuestHeartbeat = string(vm.PowerState), vm.ToolsRunningStatus, vm.GuestHeartbeat
	st.Host = v1alpha1.HostState{Name: vm.Host, ConnectionState: vm.HostConnection, InMaintenanceMode: vm.HostInMaintenance,
		EnteringMaintenanceMode: vm.HostEnteringMaintenance, InQuarantineMode: vm.HostInQuarantine}
	st.HAProtected, st.Zone, st.Region = vm.HAProtected, vm.Zone, vm.Region

	if len(duplicateOf) > 0 {
		set(v1alpha1.ConditionVMFound, false, v1alpha1.ReasonDuplicateUUID,
			"Nodes "+strings.Join(duplicateOf, ", ")+" resolve to the same VM "+vm.Name+" ("+vm.UUID+"): their guests were probably cloned with one BIOS UUID; give each VM its own uuid.bios and re-register the Nodes")
	} else {
		set(v1alpha1.ConditionVMFound, true, v1alpha1.ReasonFound, "VM "+vm.Name+" in "+vm.VCenter+"/"+vm.Datacenter)
	}
	switch {
	case vm.HostConnection != "" && vm.HostConnection != "connected":
		set(v1alpha1.ConditionHostReady, false, v1alpha1.ReasonDisconnected, "ESXi host "+vm.Host+" is "+vm.HostConnection)
	case vm.HostEnteringMaintenance:
		set(v1alpha1.ConditionHostReady, false, v1alpha1.ReasonEnteringMaint, "ESXi host "+vm.Host+" is entering maintenance mode; its VMs are about to be evacuated")
	case vm.HostInMaintenance:
		set(v1alpha1.ConditionHostReady, false, v1alpha1.ReasonMaintenance, "ESXi host "+vm.Host+" is in maintenance mode")
	case vm.HostInQuarantine:
		set(v1alpha1.ConditionHostReady, false, v1alpha1.ReasonQuarantine, "ESXi host "+vm.Host+" is in quarantine mode (Proactive HA)")
	default:
		// No host name here: a vMotion between healthy hosts must not rewrite the condition
		// (the host is in status.host.name and in the Node's label).
		set(v1alpha1.ConditionHostReady, true, v1alpha1.ReasonConnected, "the ESXi host is connected and not in maintenance or quarantine")
	}
	if vm.Fresh {
		set(v1alpha1.ConditionInventoryFresh, true, v1alpha1.ReasonFresh, "from a current inventory")
	} else {
		msg := "vCenter cannot be reached; placement may be out of date"
		if vm.Stale != nil {
			msg = vm.Stale.Error()
		}
		set(v1alpha1.ConditionInventoryFresh, false, v1alpha1.ReasonStale, msg)
	}
	return st
}

// keepPlacement keeps the last known placement when the VM cannot be resolved now.
func keepPlacement(prev, st v1alpha1.NodeVMStatus) v1alpha1.NodeVMStatus {
	c := st.Conditions
	st = *prev.DeepCopy()
	st.Conditions = c
	return st
}
