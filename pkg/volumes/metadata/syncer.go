package metadata

import (
	"context"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	coreinformers "k8s.io/client-go/informers/core/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"

	"github.com/vsphere-cloud/provider/pkg/volumes"
	"github.com/vsphere-cloud/provider/pkg/vsphere"
)

// Backend is what the syncer needs from vCenter; *vsphere.Manager implements it.
type Backend interface {
	KnownDisk(ctx context.Context, id string) (vsphere.Disk, bool)
	Disk(ctx context.Context, id string) (vsphere.Disk, error)
	UpdateVolumeMetadata(ctx context.Context, vcenter, id string, set, remove []vsphere.VolumeEntity) error
	ClusterVolumes(ctx context.Context) ([]vsphere.VolumeRecord, error)
	RegisterVolume(ctx context.Context, id, name string, entities []vsphere.VolumeEntity) error
}

const podsByClaim = "claim"

// Syncer pushes each volume's entities to CNS when they change, and repairs drift with a
// periodic full sync. Work is keyed by PV name.
type Syncer struct {
	backend Backend
	pvs     corelisters.PersistentVolumeLister
	claims  corelisters.PersistentVolumeClaimLister
	pods    cache.Indexer
	synced  []cache.InformerSynced
	queue   workqueue.TypedRateLimitingInterface[string]
	period  time.Duration
	// Debounce is how long a change waits before it is pushed, so that a claim's binding
	// or a Pod's start, which change several objects in a row, costs one update.
	Debounce time.Duration

	mu     sync.Mutex
	pushed map[string]string                 // PV -> fingerprint CNS has
	known  map[string][]vsphere.VolumeEntity // PV -> entities CNS has
}

// New makes a syncer on the given informers; period is the full sync's.
func New(b Backend, pvs coreinformers.PersistentVolumeInformer, claims coreinformers.PersistentVolumeClaimInformer, pods coreinformers.PodInformer, period time.Duration) (*Syncer, error) {
	if err := pods.Informer().AddIndexers(cache.Indexers{podsByClaim: func(obj any) ([]string, error) {
		p, ok := obj.(*corev1.Pod)
		if !ok {
			return nil, nil
		}
		return claimsOf(p), nil
	}}); err != nil {
		return nil, err
	}
	s := &Syncer{
		backend: b, pvs: pvs.Lister(), claims: claims.Lister(), pods: pods.Informer().GetIndexer(), period: period,
		synced: []cache.InformerSynced{pvs.Informer().HasSynced, claims.Informer().HasSynced, pods.Informer().HasSynced},
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "volume-metadata"}),
		pushed: map[string]string{}, known: map[string][]vsphere.VolumeEntity{}, Debounce: 2 * time.Second,
	}
	onPV := func(obj any) {
		if pv, ok := obj.(*corev1.PersistentVolume); ok && ours(pv) {
			s.queue.AddAfter(pv.Name, s.Debounce)
		}
	}
	onClaim := func(obj any) {
		if c, ok := tombstone(obj).(*corev1.PersistentVolumeClaim); ok && c.Spec.VolumeName != "" {
			s.queue.AddAfter(c.Spec.VolumeName, s.Debounce)
		}
	}
	onPod := func(obj any) {
		p, ok := tombstone(obj).(*corev1.Pod)
		if !ok {
			return
		}
		for _, key := range claimsOf(p) {
			ns, name, _ := cache.SplitMetaNamespaceKey(key)
			if c, err := s.claims.PersistentVolumeClaims(ns).Get(name); err == nil && c.Spec.VolumeName != "" {
				s.queue.AddAfter(c.Spec.VolumeName, s.Debounce)
			}
		}
	}
	handlers := []struct {
		inf cache.SharedIndexInformer
		f   func(any)
	}{{pvs.Informer(), onPV}, {claims.Informer(), onClaim}, {pods.Informer(), onPod}}
	for _, h := range handlers {
		if _, err := h.inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc: h.f, UpdateFunc: func(_, n any) { h.f(n) }, DeleteFunc: h.f,
		}); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func ours(pv *corev1.PersistentVolume) bool {
	return pv.Spec.CSI != nil && pv.Spec.CSI.Driver == volumes.DriverName && pv.Spec.CSI.VolumeHandle != ""
}

func tombstone(obj any) any {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		return t.Obj
	}
	return obj
}

// Run works the queue and runs the full sync every period until ctx ends.
func (s *Syncer) Run(ctx context.Context, workers int) {
	defer utilruntime.HandleCrash()
	defer s.queue.ShutDown()
	log := klog.FromContext(ctx).WithValues("controller", "volume-metadata")
	ctx = klog.NewContext(ctx, log)
	if !cache.WaitForCacheSync(ctx.Done(), s.synced...) {
		return
	}
	fullSync := func(ctx context.Context) {
		drift, err := s.FullSync(ctx)
		if err != nil {
			log.Error(err, "Full sync of volume metadata failed; next at the next period")
			return
		}
		log.V(2).Info("Full sync of volume metadata done", "drifted", drift)
	}
	// The first full sync learns what CNS has, so that a restart or a new leader pushes
	// only what differs instead of every volume.
	fullSync(ctx)
	for range workers {
		go wait.UntilWithContext(ctx, s.work, time.Second)
	}
	wait.JitterUntilWithContext(ctx, fullSync, s.period, 0.1, false)
}

func (s *Syncer) work(ctx context.Context) {
	for {
		key, quit := s.queue.Get()
		if quit {
			return
		}
		err := s.sync(ctx, key)
		if err != nil {
			updateErrors.Inc()
			klog.FromContext(ctx).Error(err, "Updating volume metadata failed; retrying", "pv", key)
			s.queue.AddRateLimited(key)
		} else {
			s.queue.Forget(key)
		}
		s.queue.Done(key)
	}
}

// entities is what CNS should show for pv now.
func (s *Syncer) entities(pv *corev1.PersistentVolume) []vsphere.VolumeEntity {
	var claim *corev1.PersistentVolumeClaim
	if ref := pv.Spec.ClaimRef; ref != nil {
		if c, err := s.claims.PersistentVolumeClaims(ref.Namespace).Get(ref.Name); err == nil && c.UID == ref.UID && c.Spec.VolumeName == pv.Name {
			claim = c
		}
	}
	var pods []*corev1.Pod
	if claim != nil {
		objs, _ := s.pods.ByIndex(podsByClaim, claim.Namespace+"/"+claim.Name)
		for _, o := range objs {
			if p, ok := o.(*corev1.Pod); ok {
				pods = append(pods, p)
			}
		}
	}
	return desired(pv, claim, pods)
}

// sync pushes one PV's entities if they differ from what CNS was last known to have.
func (s *Syncer) sync(ctx context.Context, name string) error {
	pv, err := s.pvs.Get(name)
	if apierrors.IsNotFound(err) || (err == nil && !ours(pv)) {
		s.forget(name)
		return nil
	}
	if err != nil {
		return err
	}
	want := s.entities(pv)
	if awaitingBind(pv, want) {
		return nil // the claim's binding enqueues the PV again
	}
	fp := fingerprint(want)
	s.mu.Lock()
	if _, seen := s.pushed[name]; !seen {
		// A volume this driver provisioned got its PV and claim from the create
		// (--extra-create-metadata): only what differs from that is pushed. Were it
		// otherwise, the full sync finds and repairs it.
		if created := createdWith(pv, want); created != nil {
			s.pushed[name], s.known[name] = fingerprint(created), created
		}
	}
	done, have := s.pushed[name] == fp, s.known[name]
	s.mu.Unlock()
	if done {
		return nil
	}
	vc, err := s.vcenterOf(ctx, pv.Spec.CSI.VolumeHandle)
	if err != nil {
		return err
	}
	if err := s.backend.UpdateVolumeMetadata(ctx, vc, pv.Spec.CSI.VolumeHandle, want, stale(have, want)); err != nil {
		return err
	}
	s.remember(name, want)
	klog.FromContext(ctx).V(4).Info("Updated volume metadata", "pv", name, "volumeID", pv.Spec.CSI.VolumeHandle, "entities", len(want))
	return nil
}

func (s *Syncer) vcenterOf(ctx context.Context, id string) (string, error) {
	if d, ok := s.backend.KnownDisk(ctx, id); ok {
		return d.VCenter, nil
	}
	d, err := s.backend.Disk(ctx, id)
	if err != nil {
		return "", err
	}
	return d.VCenter, nil
}

func (s *Syncer) remember(name string, es []vsphere.VolumeEntity) {
	s.mu.Lock()
	s.pushed[name], s.known[name] = fingerprint(es), es
	s.mu.Unlock()
}

func (s *Syncer) forget(name string) {
	s.mu.Lock()
	delete(s.pushed, name)
	delete(s.known, name)
	s.mu.Unlock()
}

// FullSync compares every volume CNS records for the cluster with its PV, claim and Pods,
// repairs those that differ, and returns how many did (the drift, also a metric).
func (s *Syncer) FullSync(ctx context.Context) (int, error) {
	recs, err := s.backend.ClusterVolumes(ctx)
	if err != nil {
		return 0, err
	}
	byID := make(map[string]vsphere.VolumeRecord, len(recs))
	for _, r := range recs {
		byID[r.ID] = r
	}
	pvs, err := s.pvs.List(labels.Everything())
	if err != nil {
		return 0, err
	}
	drift, registered := 0, 0
	var errs []error
	for _, pv := range pvs {
		if !ours(pv) {
			continue
		}
		rec, ok := byID[pv.Spec.CSI.VolumeHandle]
		if !ok {
			// A static PV's disk, or one made before CNS was the control path: register
			// it, so that vCenter shows it too.
			want := s.entities(pv)
			if err := s.backend.RegisterVolume(ctx, pv.Spec.CSI.VolumeHandle, pv.Name, want); err != nil {
				errs = append(errs, err)
				continue
			}
			registered++
			s.remember(pv.Name, want)
			continue
		}
		want := s.entities(pv)
		if fingerprint(rec.Entities) == fingerprint(want) {
			s.remember(pv.Name, want)
			continue
		}
		drift++
		if err := s.backend.UpdateVolumeMetadata(ctx, rec.VCenter, rec.ID, want, stale(rec.Entities, want)); err != nil {
			updateErrors.Inc()
			errs = append(errs, err)
			s.forget(pv.Name)
			continue
		}
		s.remember(pv.Name, want)
	}
	lastDrift.Set(float64(drift))
	driftTotal.Add(float64(drift))
	if registered > 0 {
		klog.FromContext(ctx).Info("Registered volumes CNS did not know for this cluster", "volumes", registered)
	}
	if len(errs) > 0 {
		return drift, fmt.Errorf("%d volumes not repaired or registered, first: %w", len(errs), errs[0])
	}
	return drift, nil
}
