package announce

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/mdlayher/arp"
	"github.com/mdlayher/ndp"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Dataplane puts addresses on interfaces and announces them. The kernel implementation
// needs CAP_NET_ADMIN (addresses) and CAP_NET_RAW (ARP and NDP packets).
type Dataplane interface {
	// AddUntil puts ip on the interface, or extends it, with a kernel lifetime: the kernel
	// removes it when lifetime runs out, even if this process is gone by then.
	AddUntil(ifname string, ip netip.Addr, lifetime time.Duration) error
	Remove(ifname string, ip netip.Addr) error
	// Announce tells the segment that ip is at this interface's MAC.
	Announce(ifname string, ip netip.Addr) error
	// Addresses lists the addresses on the interface, with their prefix lengths.
	Addresses(ifname string) ([]netip.Prefix, error)
}

// Kernel is the Dataplane of the running kernel.
type Kernel struct{}

func addrFor(ifname string, ip netip.Addr) (netlink.Link, *netlink.Addr, error) {
	link, err := netlink.LinkByName(ifname)
	if err != nil {
		return nil, nil, fmt.Errorf("interface %s: %w", ifname, err)
	}
	a := &netlink.Addr{IPNet: &net.IPNet{IP: ip.AsSlice(), Mask: net.CIDRMask(ip.BitLen(), ip.BitLen())}}
	if ip.Is6() {
		a.Flags = unix.IFA_F_NODAD // answer at once; the address is unique by allocation
	}
	return link, a, nil
}

// Add puts ip/32 (or /128) on the interface; an address already there is fine.
func (Kernel) Add(ifname string, ip netip.Addr) error {
	link, a, err := addrFor(ifname, ip)
	if err != nil {
		return err
	}
	if err := netlink.AddrAdd(link, a); err != nil && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("adding %s to %s: %w", ip, ifname, err)
	}
	return nil
}

// Remove takes ip off the interface; an address not there is fine.
func (Kernel) Remove(ifname string, ip netip.Addr) error {
	link, a, err := addrFor(ifname, ip)
	if err != nil {
		return err
	}
	if err := netlink.AddrDel(link, a); err != nil && !errors.Is(err, unix.EADDRNOTAVAIL) && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("removing %s from %s: %w", ip, ifname, err)
	}
	return nil
}

// Addresses lists the interface's IPv4 and IPv6 addresses.
func (Kernel) Addresses(ifname string) ([]netip.Prefix, error) {
	link, err := netlink.LinkByName(ifname)
	if err != nil {
		return nil, fmt.Errorf("interface %s: %w", ifname, err)
	}
	list, err := netlink.AddrList(link, netlink.FAMILY_ALL)
	if err != nil {
		return nil, fmt.Errorf("listing addresses of %s: %w", ifname, err)
	}
	out := make([]netip.Prefix, 0, len(list))
	for _, a := range list {
		ip, ok := netip.AddrFromSlice(a.IP)
		if !ok || a.IPNet == nil {
			continue
		}
		ones, _ := a.Mask.Size()
		out = append(out, netip.PrefixFrom(ip.Unmap(), ones))
	}
	return out, nil
}

// Announce sends a gratuitous ARP request (IPv4) or an unsolicited neighbour
// advertisement with the override flag (IPv6) to every host on the segment.
func (Kernel) Announce(ifname string, ip netip.Addr) error {
	ifi, err := net.InterfaceByName(ifname)
	if err != nil {
		return fmt.Errorf("interface %s: %w", ifname, err)
	}
	if ip.Is4() {
		c, err := arp.Dial(ifi)
		if err != nil {
			return fmt.Errorf("ARP on %s: %w", ifname, err)
		}
		defer c.Close()
		_ = c.SetWriteDeadline(time.Now().Add(time.Second))
		bcast := net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
		p, err := arp.NewPacket(arp.OperationRequest, ifi.HardwareAddr, ip.AsSlice(), bcast, ip.AsSlice())
		if err != nil {
			return err
		}
		return c.WriteTo(p, bcast)
	}
	c, _, err := ndp.Listen(ifi, ndp.LinkLocal)
	if err != nil {
		return fmt.Errorf("NDP on %s: %w", ifname, err)
	}
	defer c.Close()
	_ = c.SetWriteDeadline(time.Now().Add(time.Second))
	na := &ndp.NeighborAdvertisement{Override: true, TargetAddress: ip, Options: []ndp.Option{
		&ndp.LinkLayerAddress{Direction: ndp.Target, Addr: ifi.HardwareAddr},
	}}
	return c.WriteTo(na, nil, netip.IPv6LinkLocalAllNodes())
}

// AddUntil puts ip/32 (or /128) on the interface with a valid and preferred lifetime of
// lifetime, rounded down to whole seconds and at least one, replacing an earlier one: the
// kernel removes the address when it runs out (its expiry timer may add up to about a
// second), so that a holder that dies without removing it is fenced all the same. Each
// renewal calls it again.
func (Kernel) AddUntil(ifname string, ip netip.Addr, lifetime time.Duration) error {
	link, a, err := addrFor(ifname, ip)
	if err != nil {
		return err
	}
	secs := max(int(lifetime/time.Second), 1)
	a.ValidLft, a.PreferedLft = secs, secs
	if err := netlink.AddrReplace(link, a); err != nil {
		return fmt.Errorf("adding %s to %s for %ds: %w", ip, ifname, secs, err)
	}
	return nil
}
