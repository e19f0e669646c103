package framework

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/utils/ptr"
)

// resources maps the kinds our manifests use to their resources.
var resources = map[string]struct {
	gvr        schema.GroupVersionResource
	namespaced bool
}{
	"Namespace":                        {schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}, false},
	"ServiceAccount":                   {schema.GroupVersionResource{Version: "v1", Resource: "serviceaccounts"}, true},
	"ClusterRole":                      {schema.GroupVersionResource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterroles"}, false},
	"ClusterRoleBinding":               {schema.GroupVersionResource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterrolebindings"}, false},
	"Role":                             {schema.GroupVersionResource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "roles"}, true},
	"RoleBinding":                      {schema.GroupVersionResource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "rolebindings"}, true},
	"CustomResourceDefinition":         {schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}, false},
	"ConfigMap":                        {schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}, true},
	"Deployment":                       {schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}, true},
	"DaemonSet":                        {schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "daemonsets"}, true},
	"PodDisruptionBudget":              {schema.GroupVersionResource{Group: "policy", Version: "v1", Resource: "poddisruptionbudgets"}, true},
	"CSIDriver":                        {schema.GroupVersionResource{Group: "storage.k8s.io", Version: "v1", Resource: "csidrivers"}, false},
	"StorageClass":                     {schema.GroupVersionResource{Group: "storage.k8s.io", Version: "v1", Resource: "storageclasses"}, false},
	"VIPPool":                          {schema.GroupVersionResource{Group: "vsphere-cloud.io", Version: "v1alpha1", Resource: "vippools"}, false},
	"ValidatingAdmissionPolicy":        {schema.GroupVersionResource{Group: "admissionregistration.k8s.io", Version: "v1", Resource: "validatingadmissionpolicies"}, false},
	"ValidatingAdmissionPolicyBinding": {schema.GroupVersionResource{Group: "admissionregistration.k8s.io", Version: "v1", Resource: "validatingadmissionpolicybindings"}, false},
}

// KustomizationResources lists the files manifests/kustomization.yaml names, in order.
func KustomizationResources() ([]string, error) {
	objs, err := ReadManifests("kustomization.yaml")
	if err != nil {
		return nil, err
	}
	if len(objs) != 1 {
		return nil, fmt.Errorf("kustomization.yaml: want one document, got %d", len(objs))
	}
	list, _, err := unstructured.NestedStringSlice(objs[0].Object, "resources")
	return list, err
}

// ReadManifests decodes every object of the YAML files under manifests/ named by files.
func ReadManifests(files ...string) ([]*unstructured.Unstructured, error) {
	var out []*unstructured.Unstructured
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(ManifestsDir(), f))
		if err != nil {
			return nil, err
		}
		dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(b), 4096)
		for {
			obj := &unstructured.Unstructured{}
			if err := dec.Decode(&obj.Object); err != nil {
				if errors.Is(err, io.EOF) {
					break
				}
				return nil, fmt.Errorf("%s: %w", f, err)
			}
			if len(obj.Object) > 0 {
				out = append(out, obj)
			}
		}
	}
	return out, nil
}

// ApplyManifests applies the files' objects server-side, as `kubectl apply
// --server-side` would.
func ApplyManifests(ctx context.Context, cp *ControlPlane, files ...string) error {
	objs, err := ReadManifests(files...)
	if err != nil {
		return err
	}
	dyn, err := dynamic.NewForConfig(cp.Config)
	if err != nil {
		return err
	}
	for _, o := range objs {
		r, ok := resources[o.GetKind()]
		if !ok {
			return fmt.Errorf("%s %s: kind not known to the test framework", o.GetKind(), o.GetName())
		}
		var ri dynamic.ResourceInterface = dyn.Resource(r.gvr)
		if r.namespaced {
			ri = dyn.Resource(r.gvr).Namespace(o.GetNamespace())
		}
		var err error
		// A kind from a CRD applied just before is served once the CRD is established.
		WaitFor(15*time.Second, 100*time.Millisecond, func() bool {
			_, err = ri.Apply(ctx, o.GetName(), o, metav1.ApplyOptions{FieldManager: "vsphere-cloud-e2e", Force: true})
			return !apierrors.IsNotFound(err)
		})
		if err != nil {
			return fmt.Errorf("applying %s %s: %w", o.GetKind(), o.GetName(), err)
		}
	}
	return nil
}

// ServiceAccountKubeconfig writes a kubeconfig that authenticates as the ServiceAccount
// with a token from the TokenRequest API, so a binary runs with exactly the RBAC the
// manifests give it.
func ServiceAccountKubeconfig(ctx context.Context, cp *ControlPlane, namespace, name string) (string, error) {
	return tokenKubeconfig(ctx, cp, namespace, name, "", authenticationv1.TokenRequestSpec{})
}

// NodeAgentKubeconfig writes a kubeconfig for the vsphere-node ServiceAccount whose token is
// bound to a Pod on nodeName, as kubelet's projected token in the DaemonSet is: the API
// server then puts the node's name in every request (authentication.kubernetes.io/node-name),
// which the manifests' admission policy checks. It creates that Pod (which no kubelet runs)
// Kubeconfigs are made once per node.
func NodeAgentKubeconfig(ctx context.Context, cp *ControlPlane, nodeName string) (string, error) {
	cp.nodeKubeconfigsMu.Lock()
	defer cp.nodeKubeconfigsMu.Unlock()
	if path, ok := cp.nodeKubeconfigs[nodeName]; ok {
		return path, nil
	}
	pods := cp.Client.CoreV1().Pods(Namespace)
	name := "vsphere-node-" + nodeName
	pod, err := pods.Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		pod, err = pods.Create(ctx, &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": "vsphere-node"}},
			Spec: corev1.PodSpec{
				NodeName: nodeName, ServiceAccountName: "vsphere-node",
				Containers: []corev1.Container{{Name: "vsphere-node", Image: "vsphere-cloud/vsphere-node:test"}},
			},
		}, metav1.CreateOptions{})
	}
	if err != nil {
		return "", fmt.Errorf("pod for node %s's agent token: %w", nodeName, err)
	}
	path, err := tokenKubeconfig(ctx, cp, Namespace, "vsphere-node", nodeName, authenticationv1.TokenRequestSpec{
		BoundObjectRef: &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: pod.Name, UID: pod.UID},
	})
	if err != nil {
		return "", err
	}
	if cp.nodeKubeconfigs == nil {
		cp.nodeKubeconfigs = map[string]string{}
	}
	cp.nodeKubeconfigs[nodeName] = path
	return path, nil
}

func tokenKubeconfig(ctx context.Context, cp *ControlPlane, namespace, name, suffix string, spec authenticationv1.TokenRequestSpec) (string, error) {
	spec.ExpirationSeconds = ptr.To[int64](24 * 3600)
	tr, err := cp.Client.CoreV1().ServiceAccounts(namespace).CreateToken(ctx, name, &authenticationv1.TokenRequest{Spec: spec}, metav1.CreateOptions{})
	if err != nil {
		return "", fmt.Errorf("token for %s/%s: %w", namespace, name, err)
	}
	if suffix != "" {
		name += "-" + suffix
	}
	kc := clientcmdapi.NewConfig()
	kc.Clusters["local"] = &clientcmdapi.Cluster{Server: cp.Config.Host, CertificateAuthority: cp.Config.CAFile}
	kc.AuthInfos[name] = &clientcmdapi.AuthInfo{Token: tr.Status.Token}
	kc.Contexts["local"] = &clientcmdapi.Context{Cluster: "local", AuthInfo: name}
	kc.CurrentContext = "local"
	path := filepath.Join(cp.Dir, strings.ReplaceAll(namespace+"-"+name, "/", "-")+".kubeconfig")
	return path, clientcmd.WriteToFile(*kc, path)
}

// InstallManifests applies the namespace, CRDs, RBAC and CSIDriver of manifests/ and gives the
// control plane kubeconfigs for the cloud-controller and vsphere-node ServiceAccounts,
// which StartCloudController and StartNodeAgent then use: a permission missing from the
// manifests fails the tests.
func InstallManifests(ctx context.Context, cp *ControlPlane) error {
	if err := ApplyManifests(ctx, cp, "namespace.yaml"); err != nil {
		return err
	}
	if err := InstallCRDs(ctx, cp); err != nil {
		return err
	}
	if err := ApplyManifests(ctx, cp, "rbac-cloud-controller.yaml", "rbac-vsphere-node.yaml", "drain/rbac-vsphere-node-drain.yaml",
		"rbac-csi-controller.yaml", "csidriver.yaml", "admission-vsphere-node.yaml"); err != nil {
		return err
	}
	var err error
	if cp.ControllerKubeconfig, err = ServiceAccountKubeconfig(ctx, cp, Namespace, "cloud-controller"); err != nil {
		return err
	}
	cp.NodeKubeconfig, err = ServiceAccountKubeconfig(ctx, cp, Namespace, "vsphere-node")
	return err
}

// Namespace is the manifests' namespace.
const Namespace = "vsphere-cloud-system"

// KubeconfigVia copies a kubeconfig with the API server reached at server (a forwarder)
// while still verifying the serving certificate's 127.0.0.1 identity.
func KubeconfigVia(path, server string) (string, error) {
	kc, err := clientcmd.LoadFromFile(path)
	if err != nil {
		return "", err
	}
	for _, c := range kc.Clusters {
		c.Server = "https://" + server
		c.TLSServerName = "127.0.0.1"
	}
	out := strings.TrimSuffix(path, ".kubeconfig") + "-via-" + strings.NewReplacer(".", "-", ":", "-").Replace(server) + ".kubeconfig"
	return out, clientcmd.WriteToFile(*kc, out)
}
