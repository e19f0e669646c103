package loadbalancer

import (
	"fmt"
	"math/big"
	"net/netip"
	"strings"
)

// Range is an inclusive range of addresses of one family.
type Range struct {
	From, To netip.Addr
}

// Contains reports whether ip is in the range.
func (r Range) Contains(ip netip.Addr) bool {
	return ip.BitLen() == r.From.BitLen() && r.From.Compare(ip) <= 0 && ip.Compare(r.To) <= 0
}

// Overlaps reports whether two ranges share an address.
func (r Range) Overlaps(o Range) bool {
	return r.From.BitLen() == o.From.BitLen() && r.From.Compare(o.To) <= 0 && o.From.Compare(r.To) <= 0
}

// Size is the number of addresses in the range.
func (r Range) Size() *big.Int {
	n := new(big.Int).Sub(new(big.Int).SetBytes(r.To.AsSlice()), new(big.Int).SetBytes(r.From.AsSlice()))
	return n.Add(n, big.NewInt(1))
}

func (r Range) String() string {
	if r.From == r.To {
		return r.From.String()
	}
	return r.From.String() + "-" + r.To.String()
}

// ParseRange parses a CIDR ("10.0.0.0/28", "fd00::/120"), an inclusive range
// ("10.0.0.5-10.0.0.9") or a single address. An IPv4 CIDR of four or more addresses
// leaves out its network and broadcast addresses.
func ParseRange(s string) (Range, error) {
	s = strings.TrimSpace(s)
	switch {
	case strings.Contains(s, "/"):
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return Range{}, fmt.Errorf("%q is not a valid CIDR", s)
		}
		if p.Addr().Zone() != "" {
			return Range{}, fmt.Errorf("%q: zoned addresses are not allowed", s)
		}
		if p.Addr().Is4In6() {
			return Range{}, fmt.Errorf("%q is an IPv4-mapped IPv6 CIDR; write the IPv4 CIDR", s)
		}
		if p.Masked() != p {
			return Range{}, fmt.Errorf("%q has host bits set; the network is %s", s, p.Masked())
		}
		from := p.Addr()
		to := lastAddr(p)
		if from.Is4() && p.Bits() <= 30 {
			from, to = from.Next(), to.Prev()
		}
		if spansMapped(from, to) {
			return Range{}, fmt.Errorf("%q includes the IPv4-mapped addresses ::ffff:0:0/96, which are no IPv6 VIPs; use a smaller CIDR", s)
		}
		return Range{From: from, To: to}, nil
	case strings.Contains(s, "-"):
		a, b, _ := strings.Cut(s, "-")
		from, err1 := netip.ParseAddr(strings.TrimSpace(a))
		to, err2 := netip.ParseAddr(strings.TrimSpace(b))
		if err1 != nil || err2 != nil || from.Zone() != "" || to.Zone() != "" {
			return Range{}, fmt.Errorf("%q is not a range of two addresses", s)
		}
		from, to = from.Unmap(), to.Unmap()
		if from.BitLen() != to.BitLen() {
			return Range{}, fmt.Errorf("%q mixes IPv4 and IPv6", s)
		}
		if to.Less(from) {
			return Range{}, fmt.Errorf("%q ends before it starts", s)
		}
		if spansMapped(from, to) {
			return Range{}, fmt.Errorf("%q includes IPv4-mapped addresses (::ffff:0:0/96), which are no IPv6 VIPs", s)
		}
		return Range{From: from, To: to}, nil
	default:
		ip, err := netip.ParseAddr(s)
		if err != nil || ip.Zone() != "" {
			return Range{}, fmt.Errorf("%q is not an address, a range or a CIDR", s)
		}
		ip = ip.Unmap()
		return Range{From: ip, To: ip}, nil
	}
}

// mapped is the IPv4-mapped IPv6 block, ::ffff:0:0/96.
var mapped = Range{From: netip.MustParseAddr("::ffff:0:0"), To: netip.AddrFrom16([16]byte{10: 0xff, 11: 0xff, 12: 0xff, 13: 0xff, 14: 0xff, 15: 0xff})}

// spansMapped reports whether the IPv6 range from-to shares an address with ::ffff:0:0/96.
func spansMapped(from, to netip.Addr) bool {
	return from.Is6() && Range{From: from, To: to}.Overlaps(mapped)
}

func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 1 << (7 - uint(i%8))
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}
