// Package kubeclient builds what vsphere-cloud's programs share to talk to the API server:
// one scheme with the built-in and vsphere-cloud types, a controller-runtime client that
// speaks JSON, and an event recorder. It holds no state and starts no informers.
package kubeclient

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/record"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/vsphere-cloud/provider/api/v1alpha1"
)

// Scheme returns a new scheme with client-go's built-in types and vsphere-cloud's API.
func Scheme() *runtime.Scheme {
	s := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(s))
	utilruntime.Must(v1alpha1.AddToScheme(s))
	return s
}

// New returns a controller-runtime client over a copy of rc that identifies itself as
// userAgent (empty keeps rc's) and speaks JSON: vsphere-cloud's types have no protobuf
// encoding.
func New(rc *rest.Config, userAgent string) (client.Client, error) {
	rc = rest.CopyConfig(rc)
	if userAgent != "" {
		rc.UserAgent = userAgent
	}
	rc.ContentType = runtime.ContentTypeJSON
	cl, err := client.New(rc, client.Options{Scheme: Scheme()})
	if err != nil {
		return nil, fmt.Errorf("building a Kubernetes client (%s): %w", rc.UserAgent, err)
	}
	return cl, nil
}

// Recorder returns an event recorder that writes Events as component until ctx ends.
func Recorder(ctx context.Context, kube kubernetes.Interface, component string) record.EventRecorder {
	b := record.NewBroadcaster(record.WithContext(ctx))
	b.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: kube.CoreV1().Events("")})
	return b.NewRecorder(Scheme(), corev1.EventSource{Component: component})
}
