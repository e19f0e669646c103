package lbcontroller

import (
	"context"
	"encoding/json"
	"slices"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/vsphere-cloud/provider/api/v1alpha1"
)

// finalizersPatch is a JSON merge patch (RFC 7386) of an object's finalizers. With
// ResourceVersion set, the API server refuses it (Conflict) when the object changed
// since it was read.
type finalizersPatch struct {
	Metadata finalizersPatchMeta `json:"metadata"`
}

type finalizersPatchMeta struct {
	// Finalizers replaces the whole list: a merge patch cannot edit a list in place.
	Finalizers      []string `json:"finalizers"`
	ResourceVersion string   `json:"resourceVersion,omitempty"`
}

// finalizersPatchFor returns the merge patch that sets the finalizers to list, checked
// against resourceVersion unless it is empty.
func finalizersPatchFor(list []string, resourceVersion string) ([]byte, error) {
	if list == nil {
		list = []string{} // [] clears the list; null would too, but say what is meant
	}
	return json.Marshal(finalizersPatch{Metadata: finalizersPatchMeta{Finalizers: list, ResourceVersion: resourceVersion}})
}

// addFinalizer adds v1alpha1.FinalizerVIP to svc and returns the Service as written.
// The patch carries no resourceVersion: the list it writes is svc's own plus ours.
func addFinalizer(ctx context.Context, kube kubernetes.Interface, svc *corev1.Service) (*corev1.Service, error) {
	if slices.Contains(svc.Finalizers, v1alpha1.FinalizerVIP) {
		return svc, nil
	}
	patch, err := finalizersPatchFor(append(slices.Clone(svc.Finalizers), v1alpha1.FinalizerVIP), "")
	if err != nil {
		return nil, err
	}
	return kube.CoreV1().Services(svc.Namespace).Patch(ctx, svc.Name, types.MergePatchType, patch, metav1.PatchOptions{})
}

// removeFinalizer takes v1alpha1.FinalizerVIP off svc, if it has it. The patch is
// checked against svc's resourceVersion, so that a finalizer another controller added
// meanwhile is not dropped (the Conflict is retried). A Service already gone is fine.
func removeFinalizer(ctx context.Context, kube kubernetes.Interface, svc *corev1.Service) error {
	if !slices.Contains(svc.Finalizers, v1alpha1.FinalizerVIP) {
		return nil
	}
	rest := slices.DeleteFunc(slices.Clone(svc.Finalizers), func(f string) bool { return f == v1alpha1.FinalizerVIP })
	patch, err := finalizersPatchFor(rest, svc.ResourceVersion)
	if err != nil {
		return err
	}
	_, err = kube.CoreV1().Services(svc.Namespace).Patch(ctx, svc.Name, types.MergePatchType, patch, metav1.PatchOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}
