package safehttp

import (
	"cmp"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"path"
	"strconv"
	"strings"
)

// ErrGatewayURL is wrapped in the error of a request (or redirect) to the
// gateway's own server outside the paths it may fetch from itself: a feed
// whose "enclosures" are our own /announce would make the gateway announce
// from its own address and mint downloads; our own feeds and torrents are no
// source either.
var ErrGatewayURL = errors.New("safehttp: the gateway's own URL")

// Gateway describes the gateway's own HTTP server, which fetched URLs must
// not reach except under Allow.
type Gateway struct {
	// URLs are base URLs naming the server (http.public_url, http://{listen});
	// a request to any of their host:port pairs is checked against Allow.
	URLs []string
	// Listen is the server's listen address (host:port). Dials to it are
	// refused outright, unless Options.Self, so that no other name of the
	// machine (localhost, another address of it) reaches it either.
	Listen string
	// Allow are the path prefixes that may be fetched from the gateway
	// itself (the built-in demo, "/demo/").
	Allow []string
}

// gatewayGuard is a compiled Gateway.
type gatewayGuard struct {
	hosts map[string]bool // lowercase host:port, default port made explicit
	allow []string
	// listen is the address dials are refused to; any address with this
	// port when listenAny (an unspecified listen host) and the address is
	// one of this machine's.
	listen    netip.AddrPort
	listenAny bool
	local     []netip.Addr
}

// compileGateway prepares g's checks. The URLs and the listen address are
// validated by config; one that does not parse is skipped.
func compileGateway(g *Gateway) *gatewayGuard {
	if g == nil {
		return nil
	}
	gg := &gatewayGuard{hosts: map[string]bool{}, allow: g.Allow}
	for _, raw := range g.URLs {
		if u, err := url.Parse(raw); err == nil && u.Host != "" {
			gg.hosts[hostPort(u)] = true
		}
	}
	host, port, err := net.SplitHostPort(g.Listen)
	if err != nil {
		return gg
	}
	a, err := netip.ParseAddr(cmp.Or(host, "0.0.0.0"))
	if err != nil {
		// A name: the address the server bound to.
		ips, err := net.LookupIP(host)
		if err != nil || len(ips) == 0 {
			return gg
		}
		a, _ = netip.AddrFromSlice(ips[0])
	}
	a = a.Unmap()
	n, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return gg
	}
	gg.listen = netip.AddrPortFrom(a, uint16(n))
	if host != "" && !a.IsUnspecified() {
		gg.hosts[strings.ToLower(net.JoinHostPort(host, port))] = true
	}
	if a.IsLoopback() {
		gg.hosts["localhost:"+port] = true
	}
	if a.IsUnspecified() {
		gg.listenAny = true
		if addrs, err := net.InterfaceAddrs(); err == nil {
			for _, ad := range addrs {
				if p, err := netip.ParsePrefix(ad.String()); err == nil {
					gg.local = append(gg.local, p.Addr().Unmap())
				}
			}
		}
	}
	return gg
}

// hostPort is u's lowercase host:port with the scheme's default port filled in.
func hostPort(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" {
			port = "443"
		}
	}
	return strings.ToLower(net.JoinHostPort(u.Hostname(), port))
}

// checkURL refuses u when it names the gateway and its path is not allowed.
func (g *gatewayGuard) checkURL(u *url.URL) error {
	if g == nil || !g.hosts[hostPort(u)] {
		return nil
	}
	p := path.Clean("/" + u.Path) // no "/demo/../announce"
	for _, a := range g.allow {
		if strings.HasPrefix(p+"/", a) {
			return nil
		}
	}
	return fmt.Errorf("safehttp: %s is served by this gateway itself (its tracker, feeds or torrents), which is never fetched as a feed or enclosure: %w",
		RedactURL(u.String()), ErrGatewayURL)
}

// checkDial refuses a dial to the gateway's own listening socket.
func (g *gatewayGuard) checkDial(a netip.AddrPort) error {
	if g == nil || !g.listen.IsValid() || a.Port() != g.listen.Port() {
		return nil
	}
	ip := a.Addr().WithZone("").Unmap()
	self := ip == g.listen.Addr()
	if g.listenAny {
		self = ip.IsLoopback() || ip.IsUnspecified()
		for _, l := range g.local {
			self = self || l == ip
		}
	}
	if self {
		return fmt.Errorf("safehttp: %s is this gateway's own server: %w", a, ErrGatewayURL)
	}
	return nil
}
