package metadata

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/vsphere-cloud/provider/pkg/volumes"
	"github.com/vsphere-cloud/provider/pkg/vsphere"
)

// fakeCNS records entities per volume and merges updates as CNS does.
type fakeCNS struct {
	mu         sync.Mutex
	vols       map[string]map[string]vsphere.VolumeEntity
	updates    int
	registered []string
}

func (f *fakeCNS) KnownDisk(_ context.Context, id string) (vsphere.Disk, bool) {
	return vsphere.Disk{ID: id, VCenter: "vc"}, true
}
func (f *fakeCNS) Disk(_ context.Context, id string) (vsphere.Disk, error) {
	return vsphere.Disk{ID: id, VCenter: "vc"}, nil
}
func (f *fakeCNS) UpdateVolumeMetadata(_ context.Context, _, id string, set, remove []vsphere.VolumeEntity) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.updates++
	if f.vols[id] == nil {
		f.vols[id] = map[string]vsphere.VolumeEntity{}
	}
	for _, e := range remove {
		delete(f.vols[id], e.Key())
	}
	for _, e := range set {
		f.vols[id][e.Key()] = e
	}
	return nil
}
func (f *fakeCNS) RegisterVolume(_ context.Context, id, _ string, es []vsphere.VolumeEntity) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.registered = append(f.registered, id)
	f.vols[id] = map[string]vsphere.VolumeEntity{}
	for _, e := range es {
		f.vols[id][e.Key()] = e
	}
	return nil
}
func (f *fakeCNS) ClusterVolumes(context.Context) ([]vsphere.VolumeRecord, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []vsphere.VolumeRecord
	for id, es := range f.vols {
		r := vsphere.VolumeRecord{ID: id, VCenter: "vc"}
		for _, e := range es {
			r.Entities = append(r.Entities, e)
		}
		out = append(out, r)
	}
	return out, nil
}
func (f *fakeCNS) show(id string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var es []vsphere.VolumeEntity
	for _, e := range f.vols[id] {
		es = append(es, e)
	}
	return fingerprint(es)
}

func objects() (*corev1.PersistentVolume, *corev1.PersistentVolumeClaim, *corev1.Pod) {
	claim := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "data", Namespace: "shop", UID: "c1", Labels: map[string]string{"app": "db"}},
		Spec: corev1.PersistentVolumeClaimSpec{VolumeName: "pvc-1"}}
	pv := &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: "pvc-1"}, Spec: corev1.PersistentVolumeSpec{
		PersistentVolumeSource: corev1.PersistentVolumeSource{CSI: &corev1.CSIPersistentVolumeSource{Driver: volumes.DriverName, VolumeHandle: "vol-1"}},
		ClaimRef:               &corev1.ObjectReference{Namespace: "shop", Name: "data", UID: "c1"},
	}}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "db-0", Namespace: "shop"}, Spec: corev1.PodSpec{Volumes: []corev1.Volume{{Name: "d",
		VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data"}}}}}}
	return pv, claim, pod
}

func start(t *testing.T, cns *fakeCNS, objs ...any) (*Syncer, *fake.Clientset) {
	t.Helper()
	cs := fake.NewClientset()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	for _, o := range objs {
		var err error
		switch x := o.(type) {
		case *corev1.PersistentVolume:
			_, err = cs.CoreV1().PersistentVolumes().Create(ctx, x, metav1.CreateOptions{})
		case *corev1.PersistentVolumeClaim:
			_, err = cs.CoreV1().PersistentVolumeClaims(x.Namespace).Create(ctx, x, metav1.CreateOptions{})
		case *corev1.Pod:
			_, err = cs.CoreV1().Pods(x.Namespace).Create(ctx, x, metav1.CreateOptions{})
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	f := informers.NewSharedInformerFactory(cs, 0)
	s, err := New(cns, f.Core().V1().PersistentVolumes(), f.Core().V1().PersistentVolumeClaims(), f.Core().V1().Pods(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	s.Debounce = 10 * time.Millisecond
	f.Start(ctx.Done())
	go s.Run(ctx, 1)
	return s, cs
}

func eventually(t *testing.T, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 5 s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A bound claim used by a Pod shows as PV, claim (labels, refers to the PV) and Pod
// (refers to the claim); the Pod's end removes it from CNS, and a claim relabelled is
// updated.
func TestEntitiesFollowClaimsAndPods(t *testing.T) {
	cns := &fakeCNS{vols: map[string]map[string]vsphere.VolumeEntity{}}
	pv, claim, pod := objects()
	_, cs := start(t, cns, pv, claim, pod)
	want := "PERSISTENT_VOLUME//pvc-1\nPERSISTENT_VOLUME_CLAIM/shop/data app=db -> PERSISTENT_VOLUME//pvc-1\nPOD/shop/db-0 -> PERSISTENT_VOLUME_CLAIM/shop/data"
	eventually(t, "PV, claim and Pod in CNS", func() bool { return cns.show("vol-1") == want })

	ctx := context.Background()
	if err := cs.CoreV1().Pods("shop").Delete(ctx, "db-0", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the Pod gone from CNS", func() bool { return !strings.Contains(cns.show("vol-1"), "POD/") })
	claim.Labels["tier"] = "gold"
	if _, err := cs.CoreV1().PersistentVolumeClaims("shop").Update(ctx, claim, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the claim's new label in CNS", func() bool { return strings.Contains(cns.show("vol-1"), "app=db tier=gold") })
}

// An entity changed behind our back (an administrator, a lost update) is drift: the full
// sync repairs it and counts it; a second sync finds none.
func TestFullSyncRepairsDrift(t *testing.T) {
	cns := &fakeCNS{vols: map[string]map[string]vsphere.VolumeEntity{}}
	pv, claim, pod := objects()
	s, _ := start(t, cns, pv, claim, pod)
	eventually(t, "metadata pushed", func() bool { return strings.Contains(cns.show("vol-1"), "POD/") })
	cns.mu.Lock()
	delete(cns.vols["vol-1"], "POD/shop/db-0")
	cns.vols["vol-1"]["POD/shop/gone"] = vsphere.VolumeEntity{Type: vsphere.EntityPod, Name: "gone", Namespace: "shop"}
	cns.mu.Unlock()
	drift, err := s.FullSync(context.Background())
	if err != nil || drift != 1 {
		t.Fatalf("full sync: drift %d, %v; want 1", drift, err)
	}
	if got := cns.show("vol-1"); strings.Contains(got, "gone") || !strings.Contains(got, "POD/shop/db-0") {
		t.Fatalf("after the repair CNS shows:\n%s", got)
	}
	if drift, err := s.FullSync(context.Background()); err != nil || drift != 0 {
		t.Fatalf("second full sync: drift %d, %v; want 0", drift, err)
	}
}

// A PV whose disk CNS does not record for the cluster (a static PV, a disk made before
// CNS was the control path) is registered by the full sync, with its entities.
func TestFullSyncRegistersVolumesCNSDoesNotKnow(t *testing.T) {
	cns := &fakeCNS{vols: map[string]map[string]vsphere.VolumeEntity{}}
	pv, claim, pod := objects()
	s, _ := start(t, cns, pv, claim, pod)
	eventually(t, "metadata pushed", func() bool { return strings.Contains(cns.show("vol-1"), "POD/") })
	cns.mu.Lock()
	delete(cns.vols, "vol-1") // CNS forgot it
	before := len(cns.registered)
	cns.mu.Unlock()
	if _, err := s.FullSync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(cns.registered) != before+1 || cns.registered[before] != "vol-1" || !strings.Contains(cns.show("vol-1"), "POD/shop/db-0") {
		t.Fatalf("registered %v; CNS shows:\n%s", cns.registered, cns.show("vol-1"))
	}
}

// A volume this driver provisioned has its PV and claim from the create: nothing is
// pushed for it until something differs (here, a Pod starts using the claim).
func TestCreateMetadataIsNotPushedAgain(t *testing.T) {
	pv, claim, pod := objects()
	pv.Annotations = map[string]string{provisionedBy: volumes.DriverName}
	claim.Labels = nil
	pvE := vsphere.VolumeEntity{Type: vsphere.EntityPV, Name: pv.Name}
	claimE := vsphere.VolumeEntity{Type: vsphere.EntityPVC, Name: claim.Name, Namespace: claim.Namespace, Refers: &pvE}
	cns := &fakeCNS{vols: map[string]map[string]vsphere.VolumeEntity{}}
	_, cs := start(t, cns)
	time.Sleep(100 * time.Millisecond) // past the first full sync
	// The provisioner's create: CNS records the PV and claim; then the claim and PV appear.
	cns.mu.Lock()
	cns.vols["vol-1"] = map[string]vsphere.VolumeEntity{pvE.Key(): pvE, claimE.Key(): claimE}
	cns.mu.Unlock()
	ctx := context.Background()
	// As under load: the PV exists before its claim is bound to it.
	bound := claim.Spec.VolumeName
	claim.Spec.VolumeName = ""
	if _, err := cs.CoreV1().PersistentVolumeClaims("shop").Create(ctx, claim, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().PersistentVolumes().Create(ctx, pv, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	claim.Spec.VolumeName = bound
	if _, err := cs.CoreV1().PersistentVolumeClaims("shop").Update(ctx, claim, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	cns.mu.Lock()
	n := cns.updates
	cns.mu.Unlock()
	if n != 0 {
		t.Fatalf("%d metadata updates for a volume whose create recorded its PV and claim", n)
	}
	if _, err := cs.CoreV1().Pods("shop").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the Pod in CNS", func() bool { return strings.Contains(cns.show("vol-1"), "POD/shop/db-0") })
}
