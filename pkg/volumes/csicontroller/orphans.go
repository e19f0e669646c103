package csicontroller

import (
	"context"
	"fmt"
	"strings"
	"time"

	"k8s.io/klog/v2"

	"github.com/vsphere-cloud/provider/pkg/volumes"
	"github.com/vsphere-cloud/provider/pkg/vsphere"
)

// MinOrphanGrace is the least time a disk must stay orphaned before it may be deleted: a
// new disk has no PV for the seconds between CreateVolume and the provisioner's PV create.
const MinOrphanGrace = time.Hour

// Orphans reports volumes of this cluster in Cloud Native Storage made for claims (named
// pvc-*) that no PersistentVolume of this driver refers to (another cluster's volumes, and
// disks no cluster registered, are not ours to judge), as a log line and the orphan_disks metric. It deletes them only
// when DeleteAfter is set (an operator's opt-in), only after they stayed orphaned, detached
// and proven so for that long, and never when any answer was uncertain.
type Orphans struct {
	Disks       Disks
	Attachments Attachments
	// VolumeHandles lists the volume handles of every PV of this driver.
	VolumeHandles func(ctx context.Context) (map[string]bool, error)
	Period        time.Duration
	// DeleteAfter is zero (never delete) or at least MinOrphanGrace.
	DeleteAfter time.Duration
	now         func() time.Time
	since       map[string]time.Time
}

// Run checks every Period until ctx ends.
func (o *Orphans) Run(ctx context.Context) {
	t := time.NewTicker(o.Period)
	defer t.Stop()
	for {
		if _, err := o.Check(ctx); err != nil {
			klog.FromContext(ctx).Info("Orphan disk check skipped", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Check runs once and returns the orphans found.
func (o *Orphans) Check(ctx context.Context) ([]vsphere.Disk, error) {
	if o.DeleteAfter != 0 && o.DeleteAfter < MinOrphanGrace {
		return nil, fmt.Errorf("orphan deletion grace %s is below the minimum %s", o.DeleteAfter, MinOrphanGrace)
	}
	now := time.Now
	if o.now != nil {
		now = o.now
	}
	if o.since == nil {
		o.since = map[string]time.Time{}
	}
	recs, err := o.Disks.ClusterVolumes(ctx)
	if err != nil {
		return nil, err
	}
	disks := make([]vsphere.Disk, 0, len(recs))
	for _, r := range recs {
		d, ok := o.Disks.KnownDisk(ctx, r.ID)
		if !ok {
			d = vsphere.Disk{ID: r.ID, Name: r.Name, VCenter: r.VCenter, CapacityMiB: r.CapacityMiB}
		}
		disks = append(disks, d)
	}
	handles, err := o.VolumeHandles(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing PersistentVolumes: %w", err)
	}
	log := klog.FromContext(ctx)
	var orphans []vsphere.Disk
	current := map[string]bool{}
	for _, d := range disks {
		if !strings.HasPrefix(d.Name, "pvc-") || handles[d.ID] {
			continue
		}
		orphans = append(orphans, d)
		current[d.ID] = true
		first, ok := o.since[d.ID]
		if !ok {
			first = now()
			o.since[d.ID] = first
		}
		log.Info("Orphaned disk: no PersistentVolume refers to it", "volumeID", d.ID, "volumeName", d.Name, "datastore", d.Datastore,
			"vcenter", d.VCenter, "file", d.File, "orphanedFor", now().Sub(first).Round(time.Second))
		if o.DeleteAfter == 0 || now().Sub(first) < o.DeleteAfter {
			continue
		}
		// vCenter's current record of the disk (its datacenter), then of who uses it.
		cur, err := o.Disks.Disk(ctx, d.ID)
		if err != nil {
			log.Info("Orphaned disk kept: it could not be read", "volumeID", d.ID, "err", err)
			continue
		}
		d = cur
		if vms, err := o.Attachments.DiskUsers(ctx, d); err != nil || len(vms) > 0 {
			log.Info("Orphaned disk kept: it is attached, or attachments are not known", "volumeID", d.ID, "attachedTo", len(vms), "err", err)
			continue
		}
		if err := o.Disks.DeleteDisk(ctx, d.ID); err != nil {
			log.Error(err, "Deleting orphaned disk failed", "volumeID", d.ID)
			continue
		}
		log.Info("Deleted orphaned disk (orphan deletion is on)", "volumeID", d.ID, "volumeName", d.Name)
		delete(current, d.ID)
	}
	for id := range o.since {
		if !current[id] {
			delete(o.since, id)
		}
	}
	volumes.OrphanDisks.Set(float64(len(current)))
	return orphans, nil
}
