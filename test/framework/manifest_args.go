package framework

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// envArgs are the arguments of the shipped cloud-controller that name its Pod's
// surroundings (files, sockets, ports); StartCloudController supplies the test world's.
var envArgs = []string{"--cloud-config", "--csi-endpoint", "--secure-port", "--webhook-secure-port", "--leader-elect-resource-namespace"}

// CloudControllerArgs reads the arguments manifests/cloud-controller.yaml gives the
// cloud-controller container, without those that name the Pod's surroundings: what a
// benchmark runs is what users get.
func CloudControllerArgs() ([]string, error) {
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
			cm, ok := c.(map[string]any)
			if !ok || cm["name"] != "cloud-controller" {
				continue
			}
			args, _, err := unstructured.NestedStringSlice(cm, "args")
			if err != nil {
				return nil, err
			}
			var out []string
			for _, a := range args {
				name, _, _ := strings.Cut(a, "=")
				if !contains(envArgs, name) {
					out = append(out, a)
				}
			}
			return out, nil
		}
	}
	return nil, fmt.Errorf("manifests/cloud-controller.yaml has no cloud-controller container")
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
