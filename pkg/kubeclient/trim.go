package kubeclient

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/cache"
)

// Informer caches hold every Node and every Pod of the cluster; at 10,000 Nodes (and
// their Pods) what nobody in cloud-controller reads is most of its memory. These
// transforms drop it before an object is cached. Writes stay correct: a Node update
// from the cache (the framework's cloud-node controller) leaves managedFields unset,
// which the API server reads as "unchanged", and the Node resource ignores status, so
// the images dropped here are never written back.

// TrimNode is a cache.TransformFunc for Node informers: it drops managedFields and the
// images list kubelet reports (up to 50 entries per Node).
func TrimNode(obj any) (any, error) {
	if n, ok := obj.(*corev1.Node); ok {
		n.ManagedFields = nil
		n.Status.Images = nil
	}
	return obj, nil
}

// TrimPod is a cache.TransformFunc for Pod informers that read only a Pod's identity,
// labels, phase and the claims it mounts (CNS volume metadata): it keeps those and the
// object's metadata without managedFields, annotations and owner references.
func TrimPod(obj any) (any, error) {
	p, ok := obj.(*corev1.Pod)
	if !ok {
		return obj, nil
	}
	out := &corev1.Pod{TypeMeta: p.TypeMeta, ObjectMeta: p.ObjectMeta}
	out.ManagedFields, out.Annotations, out.OwnerReferences = nil, nil, nil
	for _, v := range p.Spec.Volumes {
		if v.PersistentVolumeClaim != nil {
			out.Spec.Volumes = append(out.Spec.Volumes, corev1.Volume{
				Name: v.Name, VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: v.PersistentVolumeClaim},
			})
		}
	}
	out.Spec.NodeName = p.Spec.NodeName
	out.Status.Phase = p.Status.Phase
	return out, nil
}

var (
	_ cache.TransformFunc = TrimNode
	_ cache.TransformFunc = TrimPod
)
