package framework

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"

	"github.com/vsphere-cloud/provider/pkg/volumes"
)

// GuestDisks stands in for a node VM's kernel and udev: when vCenter attaches a disk to
// the VM, a block device appears at <DevRoot>/disk/by-id/wwn-0x<disk uuid>. Here the
// device is a real loop device over a sparse file that keeps the disk's contents across
// attach and detach, as a First Class Disk does. Everything above the device (format,
// mount, resize) is the real thing. Needs root.
type GuestDisks struct {
	DevRoot string
	dir     string
	mu      sync.Mutex
	files   map[string]string // volume ID -> backing file
	loops   map[string]string // volume ID -> /dev/loopN while attached
	uuids   map[string]string // volume ID -> disk uuid while attached
}

// NewGuestDisks keeps backing files and the fake /dev under dir.
func NewGuestDisks(dir string) (*GuestDisks, error) {
	g := &GuestDisks{DevRoot: filepath.Join(dir, "dev"), dir: dir, files: map[string]string{}, loops: map[string]string{}, uuids: map[string]string{}}
	if err := os.MkdirAll(filepath.Join(g.DevRoot, "disk", "by-id"), 0o755); err != nil {
		return nil, err
	}
	return g, nil
}

// Attached makes the volume's disk appear with the UUID vCenter reported.
func (g *GuestDisks) Attached(volumeID, diskUUID string, sizeBytes int64) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if _, ok := g.loops[volumeID]; ok {
		return nil
	}
	file, ok := g.files[volumeID]
	if !ok {
		file = filepath.Join(g.dir, "disk-"+volumeID+".img")
		f, err := os.Create(file)
		if err != nil {
			return err
		}
		err = f.Truncate(sizeBytes)
		_ = f.Close()
		if err != nil {
			return err
		}
		g.files[volumeID] = file
	}
	out, err := exec.Command("losetup", "--find", "--show", file).CombinedOutput()
	if err != nil {
		return fmt.Errorf("losetup %s: %v: %s", file, err, out)
	}
	loop := strings.TrimSpace(string(out))
	link := volumes.DevicePath(g.DevRoot, diskUUID)
	_ = os.Remove(link)
	if err := os.Symlink(loop, link); err != nil {
		return err
	}
	g.loops[volumeID], g.uuids[volumeID] = loop, diskUUID
	return nil
}

// Detached removes the volume's device.
func (g *GuestDisks) Detached(volumeID string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.detachLocked(volumeID)
}

func (g *GuestDisks) detachLocked(volumeID string) error {
	loop, ok := g.loops[volumeID]
	if !ok {
		return nil
	}
	_ = os.Remove(volumes.DevicePath(g.DevRoot, g.uuids[volumeID]))
	delete(g.loops, volumeID)
	delete(g.uuids, volumeID)
	if out, err := exec.Command("losetup", "-d", loop).CombinedOutput(); err != nil {
		return fmt.Errorf("losetup -d %s: %v: %s", loop, err, out)
	}
	return nil
}

// Grown makes the guest see the disk's new size, as a SCSI rescan would.
func (g *GuestDisks) Grown(volumeID string, sizeBytes int64) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	file, ok := g.files[volumeID]
	if !ok {
		return nil
	}
	if err := os.Truncate(file, sizeBytes); err != nil {
		return err
	}
	if loop, ok := g.loops[volumeID]; ok {
		if out, err := exec.Command("losetup", "-c", loop).CombinedOutput(); err != nil {
			return fmt.Errorf("losetup -c %s: %v: %s", loop, err, out)
		}
	}
	return nil
}

// Attachments is how many disks are attached now.
func (g *GuestDisks) Attachments() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.loops)
}

// Close detaches every loop device.
func (g *GuestDisks) Close() {
	g.mu.Lock()
	defer g.mu.Unlock()
	for id := range g.loops {
		_ = g.detachLocked(id)
	}
}
