package vsphere

import "context"

// CreateRecord is what is known of a volume create submitted to vCenter.
type CreateRecord struct {
	// Name is the volume name.
	Name string
	// VCenter is the configured name of the vCenter the task runs in.
	VCenter string
	// Task is the task's managed object ID.
	Task string
	// VolumeID is the volume's ID once the task succeeded.
	VolumeID string
	// Error is why the task failed.
	Error string
}

// CreateRecords keep a record of each volume create outside this process (in the
// Kubernetes API: VolumeOperation), written after vCenter accepted the task and before its
// end is awaited: a retry, a restart or another replica finds the task and waits on it
// instead of creating a second volume.
type CreateRecords interface {
	// Get returns the record of name; ok is false when there is none.
	Get(ctx context.Context, name string) (r CreateRecord, ok bool, err error)
	// Put creates or replaces the record of r.Name.
	Put(ctx context.Context, r CreateRecord) error
	// Delete removes the record of name; none is success.
	Delete(ctx context.Context, name string) error
}

// SetCreateRecords gives the Manager a place for its create records. Without one (tests,
// tools) a create killed while its task runs may leave a second volume behind.
func (m *Manager) SetCreateRecords(r CreateRecords) { m.records = r }
