// Command guestdisks stands in for the kernel and udev of the kind world's "VMs": the kind
// nodes are containers, so a disk the simulator attaches to a node's VM has no device in the
// node. guestdisks watches what vCenter (the simulator) says each VM has and mirrors it: each
// attached virtual disk becomes a loop device on the host over a sparse file that keeps the
// disk's contents across attach and detach (as a First Class Disk does), made visible in the
// node container with the /dev/disk/by-id/wwn-0x<disk uuid> link vsphere-csi-node looks for.
// A detached disk's link goes and its loop device is released; a grown disk grows.
// It runs on the host, as root, beside docker (hack/kind/up.sh starts it).
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/session"
	"github.com/vmware/govmomi/view"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

func main() {
	server := flag.String("vcenter", "", "the simulator's SDK URL, https://host:port/sdk")
	user := flag.String("username", "", "vCenter user")
	password := flag.String("password", "", "vCenter password (or $GUESTDISKS_PASSWORD)")
	thumbprint := flag.String("thumbprint", "", "the simulator's certificate SHA-1 thumbprint (it is self-signed): verified by it, as cloud-controller does")
	state := flag.String("state-dir", "", "where the disks' backing files live")
	interval := flag.Duration("interval", time.Second, "how often to read the VMs' devices")
	flag.Parse()
	if *password == "" {
		*password = os.Getenv("GUESTDISKS_PASSWORD")
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(log, *server, *user, *password, *thumbprint, *state, *interval); err != nil {
		log.Error("guestdisks stopped", "err", err)
		os.Exit(1)
	}
}

func run(log *slog.Logger, server, user, password, thumbprint, state string, interval time.Duration) error {
	u, err := url.Parse(server)
	if err != nil || u.Host == "" {
		return fmt.Errorf("--vcenter: %q is not https://host:port/sdk", server)
	}
	if state == "" {
		return fmt.Errorf("--state-dir: required")
	}
	if thumbprint == "" {
		return fmt.Errorf("--thumbprint: required (the simulator's certificate is self-signed)")
	}
	u.User = url.UserPassword(user, password)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	var c *govmomi.Client
	for c == nil {
		if c, err = login(ctx, u, thumbprint); err != nil {
			log.Info("Waiting for the simulator", "server", u.Host, "err", err.Error())
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(2 * time.Second):
			}
		}
	}
	m := newMirror(state, dockerNodes{}, log)
	defer m.releaseAll()
	log.Info("Mirroring attached disks into the kind nodes", "server", u.Host, "stateDir", state)
	for {
		vms, err := attachedDisks(ctx, c)
		if err != nil {
			log.Error("Reading the VMs' disks", "err", err)
		} else {
			m.sync(vms)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(interval):
		}
	}
}

// login connects to the simulator, verifying its certificate by thumbprint.
func login(ctx context.Context, u *url.URL, thumbprint string) (*govmomi.Client, error) {
	sc := soap.NewClient(u, false)
	sc.SetThumbprint(u.Host, thumbprint)
	vc, err := vim25.NewClient(ctx, sc)
	if err != nil {
		return nil, err
	}
	c := &govmomi.Client{Client: vc, SessionManager: session.NewManager(vc)}
	if err := c.Login(ctx, u.User); err != nil {
		return nil, err
	}
	return c, nil
}

// attachedDisks reads every VM's virtual disks: VM name -> disks.
func attachedDisks(ctx context.Context, c *govmomi.Client) (map[string][]disk, error) {
	v, err := view.NewManager(c.Client).CreateContainerView(ctx, c.ServiceContent.RootFolder, []string{"VirtualMachine"}, true)
	if err != nil {
		return nil, err
	}
	defer func() { _ = v.Destroy(context.Background()) }()
	var vms []mo.VirtualMachine
	if err := v.Retrieve(ctx, []string{"VirtualMachine"}, []string{"name", "config.hardware.device"}, &vms); err != nil {
		return nil, err
	}
	out := map[string][]disk{}
	for _, vm := range vms {
		if vm.Config == nil {
			continue
		}
		for _, d := range vm.Config.Hardware.Device {
			vd, ok := d.(*types.VirtualDisk)
			if !ok {
				continue
			}
			b, ok := vd.Backing.(*types.VirtualDiskFlatVer2BackingInfo)
			if !ok || b.Uuid == "" {
				continue
			}
			if vd.VDiskId == nil || vd.VDiskId.Id == "" {
				continue // the VM's own disks, not volumes (First Class Disks)
			}
			out[vm.Name] = append(out[vm.Name], disk{id: vd.VDiskId.Id, uuid: b.Uuid, bytes: vd.CapacityInBytes})
		}
	}
	return out, nil
}
