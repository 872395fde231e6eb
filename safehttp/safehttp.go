// Package safehttp builds http.Clients that refuse to connect to private,
// loopback and other non-public addresses, so that a feed URL (or a redirect,
// or a DNS answer) chosen by a stranger cannot reach services on our network.
package safehttp

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"
)

// ErrForbiddenAddress is wrapped in the error of any dial to a refused address.
var ErrForbiddenAddress = errors.New("safehttp: forbidden address")

// ErrForbiddenScheme is wrapped in the error of a request (or redirect) whose
// scheme is not http or https.
var ErrForbiddenScheme = errors.New("safehttp: forbidden scheme")

// ErrTooManyRedirects is wrapped in the error returned when a request is
// redirected more than Options.MaxRedirects times.
var ErrTooManyRedirects = errors.New("safehttp: too many redirects")

// Options configures NewClient.
type Options struct {
	AllowPrivate  bool          // config fetch.allow_private_networks
	MaxRedirects  int           // 0 means the default, 5; negative follows no redirect
	Timeout       time.Duration // whole-request timeout (0 = none; enclosure downloads use 0)
	HeaderTimeout time.Duration // time to wait for response headers; default 30s
	UserAgent     string        // set on every request when non-empty
	// Gateway, when set, refuses the gateway's own URLs outside Gateway.Allow
	// on every request and redirect, and dials to its listen address.
	Gateway *Gateway
	// Self marks the client that fetches the gateway's own demo: dials to
	// Gateway.Listen are allowed (its URLs are still checked).
	Self bool
}

const (
	defaultMaxRedirects  = 5
	defaultHeaderTimeout = 30 * time.Second
)

// NewClient returns an http.Client guarded as described by o.
func NewClient(o Options) *http.Client {
	check := CheckAddr
	if o.AllowPrivate {
		check = func(netip.Addr) error { return nil }
	}
	return newClient(o, check, nil)
}

// newClient takes the address check separately so tests can refuse chosen
// loopback addresses while still reaching httptest servers, and the resolver
// (nil: the system's) so tests can play a rebinding DNS server.
func newClient(o Options, check func(netip.Addr) error, resolver *net.Resolver) *http.Client {
	if o.MaxRedirects == 0 {
		o.MaxRedirects = defaultMaxRedirects
	}
	if o.HeaderTimeout <= 0 {
		o.HeaderTimeout = defaultHeaderTimeout
	}
	gw := compileGateway(o.Gateway)
	dialer := &net.Dialer{
		Timeout:   30 * time.Second,
		KeepAlive: 30 * time.Second,
		Control:   controlFunc(check, dialCheck(gw, o.Self)),
		Resolver:  resolver,
	}
	transport := &http.Transport{
		// No proxy: with a proxy the address we check would be the proxy's,
		// not the target's, and the guard would be meaningless.
		Proxy:                 nil,
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: 1 * time.Second,
		ResponseHeaderTimeout: o.HeaderTimeout,
	}
	maxRedirects := o.MaxRedirects
	return &http.Client{
		Transport: &guard{next: transport, userAgent: o.UserAgent, gateway: gw},
		Timeout:   o.Timeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if err := checkScheme(req); err != nil {
				return err
			}
			if len(via) > maxRedirects {
				return fmt.Errorf("safehttp: %d redirects, last to %s: %w", len(via), RedactURL(req.URL.String()), ErrTooManyRedirects)
			}
			return nil
		},
	}
}

// guard checks the scheme of every request, including each redirect hop,
// and sets the User-Agent.
type guard struct {
	next      http.RoundTripper
	userAgent string
	gateway   *gatewayGuard
}

func (g *guard) RoundTrip(req *http.Request) (*http.Response, error) {
	err := checkScheme(req)
	if err == nil {
		err = g.gateway.checkURL(req.URL)
	}
	if err != nil {
		// A RoundTripper must close the body even on error.
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, err
	}
	if g.userAgent != "" {
		// A RoundTripper must not modify the caller's request.
		req = req.Clone(req.Context())
		req.Header.Set("User-Agent", g.userAgent)
	}
	return g.next.RoundTrip(req)
}

func checkScheme(req *http.Request) error {
	switch req.URL.Scheme {
	case "http", "https":
		return nil
	}
	return fmt.Errorf("safehttp: %q in %s: %w", req.URL.Scheme, RedactURL(req.URL.String()), ErrForbiddenScheme)
}

// controlFunc runs after DNS resolution, on the address actually being
// dialled, so neither rebinding nor redirects can slip past it.
func controlFunc(check func(netip.Addr) error, checkAddrPort func(netip.AddrPort) error) func(network, address string, c syscall.RawConn) error {
	return func(network, address string, _ syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return fmt.Errorf("safehttp: dial %s: unparsable address: %w", address, ErrForbiddenAddress)
		}
		if err := check(ap.Addr()); err != nil {
			return fmt.Errorf("safehttp: dial %s %s: %w", network, address, err)
		}
		if err := checkAddrPort(ap); err != nil {
			return fmt.Errorf("safehttp: dial %s %s: %w", network, address, err)
		}
		return nil
	}
}

// dialCheck refuses dials to the gateway's own server, except for the
// client that fetches its demo (self).
func dialCheck(gw *gatewayGuard, self bool) func(netip.AddrPort) error {
	if gw == nil || self {
		return func(netip.AddrPort) error { return nil }
	}
	return gw.checkDial
}

// CheckAddr returns an error wrapping ErrForbiddenAddress when a is not a
// public unicast address.
func CheckAddr(a netip.Addr) error {
	if reason := classify(a); reason != "" {
		return fmt.Errorf("%s address %s: %w", reason, a, ErrForbiddenAddress)
	}
	return nil
}

var (
	nat64Prefix = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour   = netip.MustParsePrefix("2002::/16")
)

// refused4 lists IPv4 ranges that netip's predicates do not cover.
var refused4 = []struct {
	prefix netip.Prefix
	reason string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "this-network"},
	{netip.MustParsePrefix("100.64.0.0/10"), "shared (CGNAT)"},
	{netip.MustParsePrefix("192.0.0.0/24"), "IETF protocol"},
	{netip.MustParsePrefix("198.18.0.0/15"), "benchmarking"},
	{netip.MustParsePrefix("240.0.0.0/4"), "reserved or broadcast"},
}

var refused6 = []struct {
	prefix netip.Prefix
	reason string
}{
	{netip.MustParsePrefix("fec0::/10"), "site-local"},
	{netip.MustParsePrefix("::/96"), "IPv4-compatible"},
}

// classify names the reason a is refused, or returns "" for a public address.
func classify(a netip.Addr) string {
	if !a.IsValid() {
		return "invalid"
	}
	a = a.WithZone("").Unmap()
	// Addresses that embed an IPv4 address are judged by that address, so
	// 64:ff9b::10.0.0.1 cannot reach 10.0.0.1 through a NAT64 gateway.
	if a.Is6() && (nat64Prefix.Contains(a) || sixToFour.Contains(a)) {
		b := a.As16()
		var v4 [4]byte
		if nat64Prefix.Contains(a) {
			copy(v4[:], b[12:16])
		} else {
			copy(v4[:], b[2:6])
		}
		if r := classify(netip.AddrFrom4(v4)); r != "" {
			return r + " (embedded in IPv6)"
		}
		return ""
	}
	switch {
	case a.IsUnspecified():
		return "unspecified"
	case a.IsLoopback():
		return "loopback"
	case a.IsPrivate():
		return "private"
	case a.IsLinkLocalUnicast():
		return "link-local"
	case a.IsMulticast():
		return "multicast"
	}
	list := refused6
	if a.Is4() {
		list = refused4
	}
	for _, r := range list {
		if r.prefix.Contains(a) {
			return r.reason
		}
	}
	return ""
}
