package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// GroupVersion is vsphere-cloud.io/v1alpha1.
var GroupVersion = schema.GroupVersion{Group: "vsphere-cloud.io", Version: "v1alpha1"}

// AddToScheme registers the types of this package.
func AddToScheme(s *runtime.Scheme) error {
	s.AddKnownTypes(GroupVersion, &NodeVM{}, &NodeVMList{}, &VIPPool{}, &VIPPoolList{}, &VolumeOperation{}, &VolumeOperationList{})
	metav1.AddToGroupVersion(s, GroupVersion)
	return nil
}
