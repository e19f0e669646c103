package main

import (
	"fmt"
	"io"
	"net/netip"

	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"
)

// defaultImage is the vsphere-node image of the manifests (manifest_test.go checks it).
const defaultImage = "ghcr.io/vsphere-cloud/vsphere-node:v0.1.0"

// manifestOptions configure `vsphere-node control-plane manifest`.
type manifestOptions struct {
	VIP, Interface, Image string
	Bootstrap             bool
}

func (o *manifestOptions) flags(fs *pflag.FlagSet) {
	fs.StringVar(&o.VIP, "vip", "", "the control-plane endpoint's address")
	fs.StringVar(&o.Interface, "interface", "", "the interface that carries it")
	fs.StringVar(&o.Image, "image", defaultImage, "the vsphere-node image")
	fs.BoolVar(&o.Bootstrap, "bootstrap", false, "for the node that runs kubeadm init: also mount /etc/kubernetes/super-admin.conf, "+
		"which kubeadm 1.29+ writes only there and which alone works until init has granted admin.conf its rights")
}

// writeControlPlaneManifest prints the static Pod for /etc/kubernetes/manifests/.
func writeControlPlaneManifest(w io.Writer, args []string) error {
	o := &manifestOptions{}
	fs := pflag.NewFlagSet("vsphere-node control-plane manifest", pflag.ContinueOnError)
	o.flags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if _, err := netip.ParseAddr(o.VIP); err != nil {
		return fmt.Errorf("--vip: %q is not an IP address", o.VIP)
	}
	if o.Interface == "" {
		return fmt.Errorf("--interface: required")
	}
	y, err := yaml.Marshal(controlPlanePod(o))
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "# vsphere-cloud control-plane endpoint: %s on %s. Put in /etc/kubernetes/manifests/ on every control-plane node.\n%s", o.VIP, o.Interface, y)
	return err
}

func controlPlanePod(o *manifestOptions) *corev1.Pod {
	file := corev1.HostPathFile
	mounts := []corev1.VolumeMount{{Name: "kubeconfig", MountPath: "/etc/kubernetes/admin.conf", ReadOnly: true}}
	vols := []corev1.Volume{{Name: "kubeconfig", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/etc/kubernetes/admin.conf", Type: &file}}}}
	if o.Bootstrap {
		mounts = append(mounts, corev1.VolumeMount{Name: "bootstrap-kubeconfig", MountPath: "/etc/kubernetes/super-admin.conf", ReadOnly: true})
		vols = append(vols, corev1.Volume{Name: "bootstrap-kubeconfig", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/etc/kubernetes/super-admin.conf", Type: &file}}})
	}
	return &corev1.Pod{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{Name: "vsphere-cloud-control-plane-endpoint", Namespace: "kube-system", Labels: map[string]string{"app.kubernetes.io/name": "vsphere-cloud-control-plane-endpoint"}},
		Spec: corev1.PodSpec{
			HostNetwork: true, PriorityClassName: "system-node-critical",
			Containers: []corev1.Container{{
				Name: "endpoint", Image: o.Image,
				Args: []string{"control-plane", "run", "--vip=" + o.VIP, "--interface=" + o.Interface},
				SecurityContext: &corev1.SecurityContext{
					Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}, Add: []corev1.Capability{"NET_ADMIN", "NET_RAW"}},
					AllowPrivilegeEscalation: ptr.To(false), ReadOnlyRootFilesystem: ptr.To(true),
				},
				VolumeMounts: mounts,
			}},
			Volumes: vols,
		},
	}
}
