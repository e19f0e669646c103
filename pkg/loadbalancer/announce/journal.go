package announce

import (
	"bufio"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// Journal is a Dataplane that records, in a file on the host (a tmpfs such as /run, so a
// reboot clears it with the addresses), every VIP it has put on an interface. An agent
// that was killed leaves its addresses behind; Recover removes them at the next start,
// before anything is read from the API server, so a restart while the node's API traffic
// is cut cannot leave an address that another node takes over in the meantime.
type Journal struct {
	Dataplane
	// Path is the journal file.
	Path string

	mu  sync.Mutex
	set map[string]bool // "ifname ip"
}

// NewJournal wraps d with the journal at path.
func NewJournal(d Dataplane, path string) *Journal {
	return &Journal{Dataplane: d, Path: path, set: map[string]bool{}}
}

// Recover removes every address the journal holds from its interface and empties it. It
// returns how many it removed.
func (j *Journal) Recover() (int, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	f, err := os.Open(j.Path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, j.writeLocked()
	}
	if err != nil {
		return 0, err
	}
	var errs []error
	n := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		ifname, addr, ok := strings.Cut(strings.TrimSpace(sc.Text()), " ")
		ip, perr := netip.ParseAddr(addr)
		if !ok || perr != nil {
			continue
		}
		if err := j.Dataplane.Remove(ifname, ip); err != nil {
			errs = append(errs, err)
			j.set[ifname+" "+ip.String()] = true // try again next time
			continue
		}
		n++
	}
	_ = f.Close()
	if err := sc.Err(); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, j.writeLocked())
	return n, errors.Join(errs...)
}

// AddUntil records ip, then puts it on the interface: the journal never misses an address.
func (j *Journal) AddUntil(ifname string, ip netip.Addr, lifetime time.Duration) error {
	j.mu.Lock()
	var err error
	if key := ifname + " " + ip.String(); !j.set[key] { // renewals do not rewrite the file
		j.set[key] = true
		err = j.writeLocked()
	}
	j.mu.Unlock()
	if err != nil {
		return fmt.Errorf("recording VIP %s in %s: %w", ip, j.Path, err)
	}
	return j.Dataplane.AddUntil(ifname, ip, lifetime)
}

// Remove takes ip off the interface, then forgets it.
func (j *Journal) Remove(ifname string, ip netip.Addr) error {
	if err := j.Dataplane.Remove(ifname, ip); err != nil {
		return err
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	delete(j.set, ifname+" "+ip.String())
	return j.writeLocked()
}

func (j *Journal) writeLocked() error {
	lines := make([]string, 0, len(j.set))
	for k := range j.set {
		lines = append(lines, k)
	}
	sort.Strings(lines)
	if err := os.MkdirAll(filepath.Dir(j.Path), 0o700); err != nil {
		return err
	}
	tmp := j.Path + ".tmp"
	if err := os.WriteFile(tmp, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, j.Path)
}
