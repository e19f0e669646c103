package e2e

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	corelisters "k8s.io/client-go/listers/core/v1"
	storagelisters "k8s.io/client-go/listers/storage/v1"
)

// TestBenchVolumesAtScale (make bench, #14): 1,000 claims created together until all are
// Bound (BENCH pvc_1000_all_bound_seconds, target 60 s or less on the simulator, with
// BENCH create_vcenter_requests_per_volume_1000), then 500 of them attached across 50
// node VMs at once (BENCH attach_500_seconds). BENCH_SCALE_CLAIMS and BENCH_SCALE_NODES
// make it smaller.
//
// kube-controller-manager runs with the client rate docs/install.md (section 7) tells clusters
// that create claims in bulk to set: its PV controller writes the storage-provisioner
// annotation the external-provisioner waits for, and binds each claim, with about three writes
// per claim, at kubeadm's default 20 requests per second otherwise (1,000 claims then take
// about 250 s whatever the driver does). BENCH_KCM_FLAGS overrides it; set empty, KCM runs
// with its defaults.
func TestBenchVolumesAtScale(t *testing.T) {
	benchEnabled(t)
	kcmFlags, ok := os.LookupEnv("BENCH_KCM_FLAGS")
	if !ok {
		kcmFlags = "--kube-api-qps=100 --kube-api-burst=200"
		t.Setenv("BENCH_KCM_FLAGS", kcmFlags)
	}
	t.Logf("kube-controller-manager flags: %q", kcmFlags)
	claims, nodes := envInt("BENCH_SCALE_CLAIMS", 1000), envInt("BENCH_SCALE_NODES", 50)
	attaches := min(claims, 10*nodes)
	var names []string
	for i := range nodes {
		names = append(names, fmt.Sprintf("scale-node-%02d", i))
	}
	w := startFaultWorld(t, "bench-volumes-scale", names)
	for _, n := range names {
		w.joinNode(t, n)
	}
	// Claims, PVs and attachments are counted from watches: polling 1,000 of each loaded
	// the API server the benchmark measures.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f := informers.NewSharedInformerFactory(w.cp.Client, 0)
	seen := scaleObjects{claims: f.Core().V1().PersistentVolumeClaims().Lister(), pvs: f.Core().V1().PersistentVolumes().Lister(),
		vas: f.Storage().V1().VolumeAttachments().Lister()}
	f.Start(ctx.Done())
	f.WaitForCacheSync(ctx.Done())
	w.proxy.Reset()
	start := time.Now()
	parallel(claims, 20, func(i int) { w.claim(t, fmt.Sprintf("scale-%d", i)) })
	var provisioned time.Duration
	var pvs []string
	lastLog := start
	for {
		if time.Since(start) > 10*time.Minute {
			t.Fatal("claims not all bound within 10 minutes")
		}
		if time.Since(lastLog) >= 5*time.Second {
			lastLog = time.Now()
			t.Logf("after %s: %s", time.Since(start).Round(time.Second), seen.progress(t, "scale-"))
		}
		if provisioned == 0 && seen.provisioned(t, "scale-") >= claims {
			provisioned = time.Since(start)
		}
		if pvs = seen.boundPVs(t, "scale-", claims); pvs != nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	bound := time.Since(start)
	if provisioned == 0 {
		provisioned = bound
	}
	// Provisioned: a PV exists for every claim (the provisioner and our CSI service);
	// bound: kube-controller-manager's PV binder has bound them all, at its client rate.
	bench(fmt.Sprintf("pvc_%d_all_provisioned_seconds", claims), provisioned.Seconds(), "s")
	bench(fmt.Sprintf("pvc_%d_all_bound_seconds", claims), bound.Seconds(), "s")
	bench(fmt.Sprintf("create_vcenter_requests_per_volume_%d", claims), float64(w.proxy.Total())/float64(claims), "requests")
	t.Logf("%d claims bound in %s; vCenter requests:\n%s", claims, bound.Round(10*time.Millisecond), w.proxy.Summary())

	w.proxy.Reset()
	start = time.Now()
	parallel(attaches, 20, func(i int) { w.attachment(t, fmt.Sprintf("scale-va-%d", i), pvs[i], names[i%nodes]) })
	for seen.attached(t, "scale-va-") < attaches {
		if time.Since(start) > 10*time.Minute {
			t.Fatal("attachments not all attached within 10 minutes")
		}
		time.Sleep(200 * time.Millisecond)
	}
	took := time.Since(start)
	bench(fmt.Sprintf("attach_%d_seconds", attaches), took.Seconds(), "s")
	t.Logf("%d attaches across %d node VMs in %s; vCenter requests:\n%s", attaches, nodes, took.Round(10*time.Millisecond), w.proxy.Summary())
}

// scaleObjects are the watched claims, PVs and attachments of a scale benchmark.
type scaleObjects struct {
	claims corelisters.PersistentVolumeClaimLister
	pvs    corelisters.PersistentVolumeLister
	vas    storagelisters.VolumeAttachmentLister
}

// progress says how far claims whose names start with prefix are: handed to a provisioner by
// kube-controller-manager (its storage-provisioner annotation, which the external-provisioner
// waits for), provisioned (a PV exists), bound.
func (o scaleObjects) progress(t *testing.T, prefix string) string {
	list, err := o.claims.PersistentVolumeClaims("default").List(labels.Everything())
	if err != nil {
		t.Fatal(err)
	}
	total, annotated, bound := 0, 0, 0
	for _, c := range list {
		if !strings.HasPrefix(c.Name, prefix) {
			continue
		}
		total++
		if c.Annotations["volume.kubernetes.io/storage-provisioner"] != "" {
			annotated++
		}
		if c.Status.Phase == corev1.ClaimBound {
			bound++
		}
	}
	return fmt.Sprintf("%d claims, %d annotated for the provisioner, %d provisioned, %d bound",
		total, annotated, o.provisioned(t, prefix), bound)
}

// provisioned is the number of PVs made for claims whose names start with prefix.
func (o scaleObjects) provisioned(t *testing.T, prefix string) int {
	list, err := o.pvs.List(labels.Everything())
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, pv := range list {
		if ref := pv.Spec.ClaimRef; ref != nil && strings.HasPrefix(ref.Name, prefix) {
			n++
		}
	}
	return n
}

// boundPVs is the PV of each claim <prefix>0 .. <prefix>n-1 once all are bound, else nil.
func (o scaleObjects) boundPVs(t *testing.T, prefix string, n int) []string {
	list, err := o.claims.PersistentVolumeClaims("default").List(labels.Everything())
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]string{}
	for _, c := range list {
		if c.Status.Phase == corev1.ClaimBound {
			byName[c.Name] = c.Spec.VolumeName
		}
	}
	out := make([]string, n)
	for i := range out {
		if out[i] = byName[fmt.Sprintf("%s%d", prefix, i)]; out[i] == "" {
			return nil
		}
	}
	return out
}

// attached is the number of VolumeAttachments named <prefix>... that are attached.
func (o scaleObjects) attached(t *testing.T, prefix string) int {
	list, err := o.vas.List(labels.Everything())
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, va := range list {
		if strings.HasPrefix(va.Name, prefix) && va.Status.Attached {
			n++
		}
	}
	return n
}

// parallel runs f(0..n-1) with at most width at once.
func parallel(n, width int, f func(int)) {
	sem := make(chan struct{}, width)
	var wg sync.WaitGroup
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			f(i)
		})
	}
	wg.Wait()
}
