package framework

import (
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// envArgs are the arguments of the shipped cloud-controller that name its Pod's
// surroundings (files, sockets, ports); StartCloudController supplies the test world's.
var envArgs = []string{"--cloud-config", "--csi-endpoint", "--secure-port", "--webhook-secure-port", "--leader-elect-resource-namespace"}

// CloudControllerArgs reads the arguments manifests/cloud-controller.yaml gives the
// cloud-controller container, without those that name the Pod's surroundings: what a
// benchmark runs is what users get.
func CloudControllerArgs() ([]string, error) {
	c, err := cloudControllerContainer()
	if err != nil {
		return nil, err
	}
	args, _, err := unstructured.NestedStringSlice(c, "args")
	if err != nil {
		return nil, err
	}
	var out []string
	for _, a := range args {
		name, _, _ := strings.Cut(a, "=")
		if !slices.Contains(envArgs, name) {
			out = append(out, a)
		}
	}
	return out, nil
}

// CloudControllerMemoryLimit is the memory limit of the cloud-controller container in
// bytes, which the Pod hands to the program as VSPHERE_CLOUD_MEMORY_LIMIT; benchmarks
// run it with the same.
func CloudControllerMemoryLimit() (int64, error) {
	c, err := cloudControllerContainer()
	if err != nil {
		return 0, err
	}
	v, found, err := unstructured.NestedString(c, "resources", "limits", "memory")
	if err != nil || !found {
		return 0, fmt.Errorf("manifests/cloud-controller.yaml: cloud-controller has no resources.limits.memory (%v)", err)
	}
	q, err := resource.ParseQuantity(v)
	if err != nil {
		return 0, fmt.Errorf("manifests/cloud-controller.yaml: resources.limits.memory: %w", err)
	}
	return q.Value(), nil
}

// cloudControllerContainer is the cloud-controller container of the Deployment in
// manifests/cloud-controller.yaml.
func cloudControllerContainer() (map[string]any, error) {
	objs, err := ReadManifests("cloud-controller.yaml")
	if err != nil {
		return nil, err
	}
	for _, o := range objs {
		if o.GetKind() != "Deployment" {
			continue
		}
		containers, _, err := unstructured.NestedSlice(o.Object, "spec", "template", "spec", "containers")
		if err != nil {
			return nil, err
		}
		for _, c := range containers {
			if cm, ok := c.(map[string]any); ok && cm["name"] == "cloud-controller" {
				return cm, nil
			}
		}
	}
	return nil, fmt.Errorf("manifests/cloud-controller.yaml has no cloud-controller container")
}
