package main

import (
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// disk is one virtual disk attached to a VM.
type disk struct {
	id    string // the First Class Disk's ID
	uuid  string // the virtual disk's UUID, as the guest sees it (wwn)
	bytes int64
}

// nodes changes a kind node container's /dev.
type nodes interface {
	run(node, script string) error
}

// dockerNodes runs scripts in node containers with docker exec (kind names the containers
// after the nodes).
type dockerNodes struct{}

func (dockerNodes) run(node, script string) error {
	out, err := exec.Command("docker", "exec", node, "sh", "-ec", script).CombinedOutput()
	if err != nil {
		return fmt.Errorf("docker exec %s: %v: %s", node, err, out)
	}
	return nil
}

// attachment is a disk mirrored into a node.
type attachment struct {
	node, loop, link string
	bytes            int64
}

type mirror struct {
	dir      string
	nodes    nodes
	log      *slog.Logger
	attached map[string]attachment // disk ID -> where it is
}

func newMirror(dir string, n nodes, log *slog.Logger) *mirror {
	return &mirror{dir: dir, nodes: n, log: log, attached: map[string]attachment{}}
}

// sync makes the nodes' devices match what vCenter says each VM has.
func (m *mirror) sync(vms map[string][]disk) {
	want := map[string]bool{}
	for vm, disks := range vms {
		for _, d := range disks {
			want[d.id] = true
			a, ok := m.attached[d.id]
			if ok && a.node != vm {
				m.release(d.id) // moved without our seeing the detach
				ok = false
			}
			if !ok {
				if err := m.attach(vm, d); err != nil {
					m.log.Error("Attaching a disk in the node", "node", vm, "disk", d.id, "err", err)
				}
				continue
			}
			if d.bytes > a.bytes {
				if err := m.grow(d.id, d.bytes); err != nil {
					m.log.Error("Growing a disk in the node", "node", vm, "disk", d.id, "err", err)
				}
			}
		}
	}
	for id := range m.attached {
		if !want[id] {
			m.release(id)
		}
	}
}

func (m *mirror) file(id string) string {
	return filepath.Join(m.dir, "disk-"+strings.NewReplacer("/", "_", " ", "_").Replace(id)+".img")
}

func (m *mirror) attach(node string, d disk) error {
	file := m.file(d.id)
	f, err := os.OpenFile(file, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return err
	}
	st, err := f.Stat()
	if err == nil && st.Size() < d.bytes {
		err = f.Truncate(d.bytes)
	}
	_ = f.Close()
	if err != nil {
		return err
	}
	out, err := exec.Command("losetup", "--find", "--show", file).CombinedOutput()
	if err != nil {
		return fmt.Errorf("losetup %s: %v: %s", file, err, out)
	}
	loop := strings.TrimSpace(string(out))
	var st2 unix.Stat_t
	if err := unix.Stat(loop, &st2); err != nil {
		_ = exec.Command("losetup", "-d", loop).Run()
		return err
	}
	link := "/dev/disk/by-id/wwn-0x" + strings.ToLower(strings.NewReplacer("-", "", " ", "").Replace(d.uuid))
	script := fmt.Sprintf("[ -b %[1]s ] || mknod %[1]s b %[2]d %[3]d; mkdir -p /dev/disk/by-id; ln -sfn %[1]s %[4]s",
		loop, unix.Major(uint64(st2.Rdev)), unix.Minor(uint64(st2.Rdev)), link)
	if err := m.nodes.run(node, script); err != nil {
		_ = exec.Command("losetup", "-d", loop).Run()
		return err
	}
	m.attached[d.id] = attachment{node: node, loop: loop, link: link, bytes: d.bytes}
	m.log.Info("Disk attached in the node", "node", node, "disk", d.id, "device", loop, "link", link)
	return nil
}

func (m *mirror) grow(id string, bytes int64) error {
	a := m.attached[id]
	if err := os.Truncate(m.file(id), bytes); err != nil {
		return err
	}
	if out, err := exec.Command("losetup", "-c", a.loop).CombinedOutput(); err != nil {
		return fmt.Errorf("losetup -c %s: %v: %s", a.loop, err, out)
	}
	a.bytes = bytes
	m.attached[id] = a
	m.log.Info("Disk grown in the node", "node", a.node, "disk", id, "bytes", bytes)
	return nil
}

// release removes the disk's link from its node and frees the loop device; the backing file
// keeps the contents for the next attach.
func (m *mirror) release(id string) {
	a := m.attached[id]
	if err := m.nodes.run(a.node, "rm -f "+a.link); err != nil {
		m.log.Error("Removing a disk's link in the node", "node", a.node, "disk", id, "err", err)
	}
	if out, err := exec.Command("losetup", "-d", a.loop).CombinedOutput(); err != nil {
		m.log.Error("Releasing a loop device", "device", a.loop, "err", fmt.Sprintf("%v: %s", err, out))
	}
	delete(m.attached, id)
	m.log.Info("Disk detached from the node", "node", a.node, "disk", id)
}

func (m *mirror) releaseAll() {
	for id := range m.attached {
		m.release(id)
	}
}
