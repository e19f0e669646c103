// Package kind runs the end-to-end scenarios on the kind cluster hack/kind/up.sh makes: real
// kubelets and containerd in three node containers, our images from the Dockerfile, installed
// as users install it, and the simulator inside the cluster with the nodes as its VMs.
// hack/kind/test.sh brings the cluster up both ways (kustomize and Helm) and runs this
// package on each; it reads the cluster's settings from _output/kind/env (KIND_ENV).
package kind

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/vsphere-cloud/provider/api/v1alpha1"
	"github.com/vsphere-cloud/provider/test/repo"
)

// world is the running kind cluster.
type world struct {
	env     map[string]string
	kube    kubernetes.Interface
	crc     client.Client
	sim     *simControl
	cp      string   // the control-plane node
	workers []string // the two workers, sorted
}

var w *world

func TestMain(m *testing.M) {
	var err error
	if w, err = connect(); err != nil {
		if os.Getenv("VSPHERE_CLOUD_KIND_REQUIRED") != "" {
			fmt.Fprintln(os.Stderr, "kind:", err)
			os.Exit(1)
		}
		fmt.Fprintln(os.Stderr, "SKIP kind (run make test-kind, or make kind-up first):", err)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestKind runs the scenarios in order: the last one stops a node's container.
func TestKind(t *testing.T) {
	t.Logf("install: %s", w.env["KIND_INSTALL"])
	t.Run("NodesInitialized", testNodesInitialized)
	t.Run("PreflightJob", testPreflightJob)
	t.Run("VolumeMovesBetweenWorkers", testVolumeMovesBetweenWorkers)
	t.Run("HostMaintenanceDrains", testHostMaintenanceDrains)
	t.Run("LoadBalancerFromHost", testLoadBalancerFromHost)
	t.Run("NoForbiddenInLogs", testNoForbiddenInLogs)
	t.Run("VIPFailoverWhenNodeStops", testVIPFailover)
}

func envPath() string {
	if p := os.Getenv("KIND_ENV"); p != "" {
		return p
	}
	return repo.Path("_output", "kind", "env")
}

func connect() (*world, error) {
	env, err := readEnv(envPath())
	if err != nil {
		return nil, err
	}
	rc, err := clientcmd.BuildConfigFromFlags("", env["KUBECONFIG"])
	if err != nil {
		return nil, fmt.Errorf("KUBECONFIG: %w", err)
	}
	rc.QPS, rc.Burst = 50, 100
	kube, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, err
	}
	scheme := clientgoscheme.Scheme
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		return nil, err
	}
	crc, err := client.New(rc, client.Options{Scheme: scheme})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	nodes, err := kube.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("the kind cluster does not answer: %w", err)
	}
	x := &world{env: env, kube: kube, crc: crc}
	for _, n := range nodes.Items {
		if _, ok := n.Labels["node-role.kubernetes.io/control-plane"]; ok {
			x.cp = n.Name
		} else {
			x.workers = append(x.workers, n.Name)
		}
	}
	sort.Strings(x.workers)
	if x.cp == "" || len(x.workers) != 2 {
		return nil, fmt.Errorf("want one control-plane node and two workers, have %d Nodes", len(nodes.Items))
	}
	if x.sim, err = newSimControl(env["VCSIM_URL"], env["VCSIM_THUMBPRINT"]); err != nil {
		return nil, err
	}
	return x, nil
}

func readEnv(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			out[k] = v
		}
	}
	for _, k := range []string{"KUBECONFIG", "VCSIM_URL", "VCSIM_THUMBPRINT", "KIND_TEST_IMAGE", "KIND_VIPS"} {
		if out[k] == "" {
			return nil, fmt.Errorf("%s: %s is not set", path, k)
		}
	}
	return out, sc.Err()
}

// waitFor polls cond every half second until it holds, failing the test after timeout with
// what it waited for and the last error or state cond reported.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func(ctx context.Context) (bool, string)) time.Duration {
	t.Helper()
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	last := ""
	for {
		ok, state := cond(ctx)
		if ok {
			return time.Since(start)
		}
		last = state
		select {
		case <-ctx.Done():
			t.Fatalf("after %s still waiting for %s: %s", timeout, what, last)
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// docker runs the docker CLI (the kind nodes are its containers).
func docker(args ...string) (string, error) {
	out, err := exec.Command("docker", args...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("docker %s: %w: %s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out)), nil
}

// testNamespace creates a namespace for one scenario, deleted when it ends.
func testNamespace(t *testing.T, name string) string {
	t.Helper()
	ctx := context.Background()
	_, err := w.kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.kube.CoreV1().Namespaces().Delete(context.Background(), name, metav1.DeleteOptions{}) })
	return name
}

// testPod is a Pod of the test image pinned to a node.
func testPod(name, node string, command string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": name}},
		Spec: corev1.PodSpec{
			NodeSelector:                  map[string]string{"kubernetes.io/hostname": node},
			RestartPolicy:                 corev1.RestartPolicyNever,
			TerminationGracePeriodSeconds: ptrInt64(1),
			Containers: []corev1.Container{{
				Name: "main", Image: w.env["KIND_TEST_IMAGE"], ImagePullPolicy: corev1.PullNever,
				Command: []string{"sh", "-c", command},
			}},
		},
	}
}

func ptrInt64(v int64) *int64 { return &v }

// podLogs returns a Pod's log.
func podLogs(ctx context.Context, ns, name string) (string, error) {
	b, err := w.kube.CoreV1().Pods(ns).GetLogs(name, &corev1.PodLogOptions{}).DoRaw(ctx)
	return string(b), err
}

// waitPodPhase waits for a Pod to reach phase, failing early (with its log) if it fails.
func waitPodPhase(t *testing.T, ns, name string, phase corev1.PodPhase, timeout time.Duration) {
	t.Helper()
	waitFor(t, timeout, fmt.Sprintf("Pod %s/%s %s", ns, name, phase), func(ctx context.Context) (bool, string) {
		p, err := w.kube.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		if p.Status.Phase == corev1.PodFailed && phase != corev1.PodFailed {
			logs, _ := podLogs(ctx, ns, name)
			t.Fatalf("Pod %s/%s failed: %s; log: %s", ns, name, p.Status.Message, logs)
		}
		return p.Status.Phase == phase, describePod(ctx, p)
	})
}

// describePod is a Pod's phase, conditions and the namespace's recent warning events.
func describePod(ctx context.Context, p *corev1.Pod) string {
	var b strings.Builder
	fmt.Fprintf(&b, "phase %s", p.Status.Phase)
	for _, c := range p.Status.Conditions {
		if c.Status != corev1.ConditionTrue {
			fmt.Fprintf(&b, "; %s=%s %s %s", c.Type, c.Status, c.Reason, c.Message)
		}
	}
	evs, err := w.kube.CoreV1().Events(p.Namespace).List(ctx, metav1.ListOptions{FieldSelector: "type=Warning"})
	if err == nil {
		for _, e := range evs.Items {
			fmt.Fprintf(&b, "; event %s/%s %s: %s", e.InvolvedObject.Kind, e.InvolvedObject.Name, e.Reason, e.Message)
		}
	}
	return b.String()
}
