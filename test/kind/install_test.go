package kind

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"

	"github.com/vsphere-cloud/provider/test/repo"
)

const systemNamespace = "vsphere-cloud-system"

// testPreflightJob: manifests/preflight/job.yaml, as users run it, checks the account, the
// configuration and the Nodes' VMs from inside the cluster and completes.
func testPreflightJob(t *testing.T) {
	ctx := context.Background()
	b, err := os.ReadFile(repo.Path("manifests", "preflight", "job.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	obj, _, err := clientgoscheme.Codecs.UniversalDeserializer().Decode(b, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	job, ok := obj.(*batchv1.Job)
	if !ok {
		t.Fatalf("manifests/preflight/job.yaml holds a %T, not a Job", obj)
	}
	if _, err := w.kube.BatchV1().Jobs(systemNamespace).Create(ctx, job, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		bg := metav1.DeletePropagationBackground
		_ = w.kube.BatchV1().Jobs(systemNamespace).Delete(context.Background(), job.Name, metav1.DeleteOptions{PropagationPolicy: &bg})
	})
	var status batchv1.JobStatus
	waitFor(t, 3*time.Minute, "the preflight Job to finish", func(ctx context.Context) (bool, string) {
		j, err := w.kube.BatchV1().Jobs(systemNamespace).Get(ctx, job.Name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		status = j.Status
		return j.Status.Succeeded > 0 || j.Status.Failed > 0, fmt.Sprintf("active %d", j.Status.Active)
	})
	logs := jobLogs(ctx, t, job.Name)
	t.Logf("preflight:\n%s", logs)
	if status.Succeeded == 0 {
		t.Fatalf("the preflight Job failed")
	}
	if n := strings.Count(logs, "disk.EnableUUID"); n != 3 {
		t.Errorf("the preflight table checks disk.EnableUUID on %d VMs, want the 3 Nodes' (was the Node list read in the Pod?)", n)
	}
}

func jobLogs(ctx context.Context, t *testing.T, job string) string {
	pods, err := w.kube.CoreV1().Pods(systemNamespace).List(ctx, metav1.ListOptions{LabelSelector: "job-name=" + job})
	if err != nil || len(pods.Items) == 0 {
		t.Fatalf("the Job's Pod: %v (%d found)", err, len(pods.Items))
	}
	logs, err := podLogs(ctx, systemNamespace, pods.Items[0].Name)
	if err != nil {
		t.Fatal(err)
	}
	return logs
}

// forbidden matches the API server's RBAC refusal as client-go reports it ("... is forbidden:
// User \"system:serviceaccount:...\" cannot list resource ..."). Other 403s are not about the
// manifests' RBAC: an eviction into a terminating namespace, the admission policy refusing a
// node a Lease another node holds (by design).
var forbidden = regexp.MustCompile(`forbidden: User "[^"]*" cannot `)

// testNoForbiddenInLogs: the manifests' RBAC is sufficient: no component of vsphere-cloud
// (cloud-controller, the CSI sidecars, vsphere-node, vsphere-csi-node) was refused a request
// by RBAC after everything above ran.
func testNoForbiddenInLogs(t *testing.T) {
	ctx := context.Background()
	pods, err := w.kube.CoreV1().Pods(systemNamespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, p := range pods.Items {
		if p.Labels["app.kubernetes.io/part-of"] != "vsphere-cloud" || p.Status.Phase != corev1.PodRunning {
			continue
		}
		for _, c := range p.Spec.Containers {
			b, err := w.kube.CoreV1().Pods(systemNamespace).GetLogs(p.Name, &corev1.PodLogOptions{Container: c.Name}).DoRaw(ctx)
			if err != nil {
				t.Errorf("logs of %s/%s: %v", p.Name, c.Name, err)
				continue
			}
			checked++
			for _, line := range strings.Split(string(b), "\n") {
				if forbidden.MatchString(line) {
					t.Errorf("%s/%s: %s", p.Name, c.Name, line)
				}
			}
		}
	}
	if checked < 7 { // cloud-controller and four sidecars, vsphere-node, vsphere-csi-node
		t.Fatalf("read the logs of %d containers; want every component's", checked)
	}
}
