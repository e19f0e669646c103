package agent

import (
	"regexp"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"

	"github.com/vsphere-cloud/provider/api/v1alpha1"
)

// Facts is what the guest checks found.
type Facts struct {
	Identity      IdentityResult
	DiskUUIDs     bool
	ToolsProcess  bool
	CheckDisks    bool
	CheckProcList bool
}

// Desired is the Node state the agent wants.
type Desired struct {
	Labels     map[string]string // value "" means remove
	Taint      bool
	Conditions []corev1.NodeCondition
}

var labelValueRE = regexp.MustCompile(`[^A-Za-z0-9._-]`)

// labelValue makes s a valid label value: invalid characters become '_', at most 63
// characters, alphanumeric at both ends.
func labelValue(s string) string {
	s = labelValueRE.ReplaceAllString(s, "_")
	if len(s) > 63 {
		s = s[:63]
	}
	return strings.Trim(s, "._-")
}

// Compute derives labels, taint and conditions from the NodeVM (nil when cloud-controller
// has not written one yet) and the guest facts.
func Compute(nvm *v1alpha1.NodeVM, f Facts) Desired {
	d := Desired{Labels: map[string]string{v1alpha1.LabelNodeHost: "", v1alpha1.LabelNodeCluster: "", v1alpha1.LabelNodeDatacenter: ""}}
	cond := func(t corev1.NodeConditionType, ok bool, reason, msg string) {
		s := corev1.ConditionFalse
		if ok {
			s = corev1.ConditionTrue
		}
		d.Conditions = append(d.Conditions, corev1.NodeCondition{Type: t, Status: s, Reason: reason, Message: msg})
	}
	cond(v1alpha1.NodeConditionIdentityVerified, f.Identity.OK, f.Identity.Reason, f.Identity.Message)
	if f.CheckDisks {
		if f.DiskUUIDs {
			cond(v1alpha1.NodeConditionDiskUUIDEnabled, true, "DiskUUIDsVisible", "disks show their UUIDs under /dev/disk/by-id")
		} else {
			cond(v1alpha1.NodeConditionDiskUUIDEnabled, false, "DiskUUIDsNotVisible",
				"no disk shows a VMware UUID under /dev/disk/by-id: power the VM off, set disk.EnableUUID=TRUE in its advanced settings, power it on; persistent volumes cannot be found without it")
		}
	}
	if nvm == nil {
		if f.CheckProcList {
			cond(v1alpha1.NodeConditionToolsReady, f.ToolsProcess, map[bool]string{true: "ToolsProcessRunning", false: "ToolsProcessNotFound"}[f.ToolsProcess],
				"vmtoolsd process check in the guest; vCenter's view is not available yet")
		}
		return d
	}
	st := nvm.Status
	d.Labels[v1alpha1.LabelNodeHost] = labelValue(st.Host.Name)
	d.Labels[v1alpha1.LabelNodeCluster] = labelValue(st.Cluster)
	d.Labels[v1alpha1.LabelNodeDatacenter] = labelValue(st.Datacenter)

	switch st.ToolsRunningStatus {
	case "guestToolsRunning":
		cond(v1alpha1.NodeConditionToolsReady, true, "ToolsRunning", "VMware Tools is running")
	case "":
		cond(v1alpha1.NodeConditionToolsReady, false, "ToolsStatusUnknown", "vCenter reports no VMware Tools status; install open-vm-tools")
	default:
		cond(v1alpha1.NodeConditionToolsReady, false, "ToolsNotRunning",
			"vCenter reports VMware Tools as "+st.ToolsRunningStatus+": install or start open-vm-tools (systemctl enable --now open-vm-tools); without it node addresses cannot be discovered")
	}
	hc := meta.FindStatusCondition(st.Conditions, v1alpha1.ConditionHostReady)
	switch {
	case hc == nil:
		cond(v1alpha1.NodeConditionHostReady, false, "HostUnknown", "cloud-controller has not reported the ESXi host yet")
	case hc.Status == "True":
		cond(v1alpha1.NodeConditionHostReady, true, hc.Reason, hc.Message)
	default:
		cond(v1alpha1.NodeConditionHostReady, false, hc.Reason, hc.Message+"; new Pods are kept off this Node until the host is back")
		switch hc.Reason {
		case v1alpha1.ReasonMaintenance, v1alpha1.ReasonEnteringMaint, v1alpha1.ReasonDisconnected:
			d.Taint = true
		}
	}
	return d
}
