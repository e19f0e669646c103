package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// VolumeOperationSpec records a volume create that cloud-controller submitted to vCenter.
// It is written after vCenter accepted the task and before its end is awaited, so that a
// retry, a restart or another replica waits on that task instead of creating a second
// volume (the upstream CSI driver keeps CnsVolumeOperationRequest for the same reason).
type VolumeOperationSpec struct {
	// VolumeName is the CSI volume name (pvc-<uid>).
	VolumeName string `json:"volumeName"`
	// VCenter is the configured name of the vCenter the task runs in.
	VCenter string `json:"vcenter"`
	// Task is the managed object ID of the vCenter task (task-123).
	// +optional
	Task string `json:"task,omitempty"`
	// VolumeID is the volume's First Class Disk ID, once the task succeeded.
	// +optional
	VolumeID string `json:"volumeID,omitempty"`
	// Error is why the task failed; the next attempt submits a new one.
	// +optional
	Error string `json:"error,omitempty"`
}

// VolumeOperation is one volume create in flight or done, named after the volume (or a
// hash of its name when that is no valid object name), in cloud-controller's namespace.
// cloud-controller deletes it with the volume.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Namespaced,shortName=volop
// +kubebuilder:printcolumn:name="Volume",type=string,JSONPath=`.spec.volumeName`
// +kubebuilder:printcolumn:name="Task",type=string,JSONPath=`.spec.task`
// +kubebuilder:printcolumn:name="ID",type=string,JSONPath=`.spec.volumeID`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type VolumeOperation struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec VolumeOperationSpec `json:"spec"`
}

// VolumeOperationList is a list of VolumeOperations.
//
// +kubebuilder:object:root=true
type VolumeOperationList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []VolumeOperation `json:"items"`
}
