package vsphere

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/vmware/govmomi/vim25"

	"github.com/vsphere-cloud/provider/pkg/keyed"
	"github.com/vsphere-cloud/provider/pkg/vsphere/config"
)

// Manager holds one vCenter (its session, inventory watch, tags, event watch and the
// rest: see vCenter) per configured vCenter. Lookups are map reads under a read lock;
// they never call vCenter. One slow or unreachable vCenter only makes its own cache
// stale.
type Manager struct {
	vcenters []*vCenter
	once     sync.Once
	catalog  diskCatalog
	// memory, when set, names the VMs the cluster remembers for a UUID (NodeVM status).
	memory func(ctx context.Context, uuid string) []VMRef
	// clusterID is our container cluster in Cloud Native Storage.
	clusterID string
	// creating serializes creates per volume name.
	creating *keyed.Mutex
	// records, when set, keeps a record of each create (see CreateRecords).
	records CreateRecords
}

// SetMemory gives the Manager a durable memory of node VMs: after a restart, a Node whose
// VM left the inventory while cloud-controller was down can still be proven gone by
// asking vCenter about the managed object ID the cluster recorded. Call it before Start.
func (m *Manager) SetMemory(f func(ctx context.Context, uuid string) []VMRef) { m.memory = f }

// NewManager builds the session and the watches of every vCenter in cfg. Nothing
// connects until Start.
func NewManager(cfg *config.Config, creds CredentialSource) *Manager {
	RegisterMetrics()
	m := &Manager{clusterID: cfg.ClusterID, creating: keyed.New()}
	if m.clusterID == "" {
		m.clusterID = defaultClusterID
	}
	for _, vc := range cfg.VCenters {
		m.vcenters = append(m.vcenters, newVCenter(vc, creds, cfg))
	}
	return m
}

// Start runs every vCenter's inventory watch until ctx ends, then logs out. It returns at
// once.
func (m *Manager) Start(ctx context.Context) {
	m.once.Do(func() {
		for _, c := range m.vcenters {
			c.start(ctx)
		}
	})
}

// Sessions returns the sessions, one per vCenter, in configuration order.
func (m *Manager) Sessions() []*Session {
	out := make([]*Session, 0, len(m.vcenters))
	for _, c := range m.vcenters {
		out = append(out, c.sess)
	}
	return out
}

// Status reports each vCenter's cache state.
func (m *Manager) Status() []CacheStatus {
	out := make([]CacheStatus, 0, len(m.vcenters))
	for _, c := range m.vcenters {
		out = append(out, c.inventory.status())
	}
	return out
}

// WaitSynced waits until every vCenter's cache has read its first complete inventory,
// or ctx ends; the error then names the vCenters not read yet. Callers use it after a
// restart, so that a lookup waits seconds for the inventory instead of failing and being
// retried at a back-off.
func (m *Manager) WaitSynced(ctx context.Context) error {
	var pending []string
	for _, c := range m.vcenters {
		select {
		case <-c.inventory.synced:
		case <-ctx.Done():
			pending = append(pending, c.vc.Name)
		}
	}
	if len(pending) > 0 {
		return fmt.Errorf("%w: inventory of vCenter %s not read yet: %w", ErrUnavailable, strings.Join(pending, ", "), ctx.Err())
	}
	return nil
}

// OnChange registers f to be called (without locks held) after every batch of inventory
// changes. It replaces any earlier registration.
func (m *Manager) OnChange(f func(Change)) {
	for _, c := range m.vcenters {
		c.changes.set(f)
	}
}

// TrackDisks adds a node VM to its vCenter's disk watch (see diskWatch). The CSI controller
// calls it for every VM it publishes to or unpublishes from; attach and detach do too.
// Only these VMs are watched: following the devices of every node VM slowed the inventory
// stream, and with it how soon a Node follows its VM's vMotion.
func (m *Manager) TrackDisks(vm VM) {
	if c, err := m.vCenterFor(vm.VCenter); err == nil {
		c.disks.track(vm.Ref)
	}
}

// vCenterFor is the configured vCenter named vcenter.
// sessionFor returns the named vCenter and its logged-in client.
func (m *Manager) sessionFor(ctx context.Context, vcenter string) (*vCenter, *vim25.Client, error) {
	c, err := m.vCenterFor(vcenter)
	if err != nil {
		return nil, nil, err
	}
	client, err := c.sess.Client(ctx)
	if err != nil {
		return nil, nil, err
	}
	return c, client, nil
}

func (m *Manager) vCenterFor(vcenter string) (*vCenter, error) {
	for _, c := range m.vcenters {
		if c.vc.Name == vcenter {
			return c, nil
		}
	}
	return nil, fmt.Errorf("%w: vCenter %q is not configured", ErrNotFound, vcenter)
}
