package safehttp

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"

	"golang.org/x/net/dns/dnsmessage"
)

// rebindingDNS is a real DNS server on loopback that answers the first A
// query for any name with a public address and every later query with
// target: the DNS-rebinding trick of passing a check made at lookup time and
// then connecting somewhere else.
type rebindingDNS struct {
	public, target netip.Addr

	mu       sync.Mutex
	aQueries int
}

func startRebindingDNS(t *testing.T, public, target netip.Addr) (*rebindingDNS, *net.Resolver) {
	t.Helper()
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	d := &rebindingDNS{public: public, target: target}
	go d.serve(pc)
	server := pc.LocalAddr().String()
	resolver := &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var dialer net.Dialer
			return dialer.DialContext(ctx, "udp4", server)
		},
	}
	return d, resolver
}

func (d *rebindingDNS) serve(pc net.PacketConn) {
	buf := make([]byte, 1500)
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			return
		}
		if reply, ok := d.answer(buf[:n]); ok {
			_, _ = pc.WriteTo(reply, from)
		}
	}
}

func (d *rebindingDNS) answer(query []byte) ([]byte, bool) {
	var p dnsmessage.Parser
	h, err := p.Start(query)
	if err != nil {
		return nil, false
	}
	q, err := p.Question()
	if err != nil {
		return nil, false
	}
	var addr netip.Addr
	d.mu.Lock()
	switch q.Type {
	case dnsmessage.TypeA:
		d.aQueries++
		addr = d.target
		if d.aQueries == 1 {
			addr = d.public
		}
		if !addr.Is4() {
			addr = netip.Addr{}
		}
	case dnsmessage.TypeAAAA:
		if d.aQueries > 0 && d.target.Is6() {
			addr = d.target
		}
	}
	d.mu.Unlock()

	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true, RecursionDesired: h.RecursionDesired})
	b.EnableCompression()
	_ = b.StartQuestions()
	_ = b.Question(q)
	_ = b.StartAnswers()
	rh := dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 0}
	switch {
	case addr.Is4():
		_ = b.AResource(rh, dnsmessage.AResource{A: addr.As4()})
	case addr.Is6():
		_ = b.AAAAResource(rh, dnsmessage.AAAAResource{AAAA: addr.As16()})
	}
	reply, err := b.Finish()
	return reply, err == nil
}

func (d *rebindingDNS) queries() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.aQueries
}

// TestDNSRebindingRefused: a resolver that answers a public address the first
// time and a private one the second. A guard that checked the name's address
// and then dialled would be fooled; ours checks the address being dialled.
func TestDNSRebindingRefused(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		io.WriteString(w, "secret")
	}))
	defer srv.Close()
	_, port, err := net.SplitHostPort(srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	url := "http://rebind.seedcast.test:" + port + "/"
	public := netip.MustParseAddr("93.184.216.34")

	for _, target := range []string{"127.0.0.1", "::1", "::ffff:127.0.0.1", "10.0.0.1", "169.254.169.254"} {
		t.Run(target, func(t *testing.T) {
			dns, resolver := startRebindingDNS(t, public, netip.MustParseAddr(target))
			// Time of check: the name resolves to a public address.
			addrs, err := resolver.LookupNetIP(t.Context(), "ip4", "rebind.seedcast.test")
			if err != nil || len(addrs) != 1 || addrs[0] != public {
				t.Fatalf("first lookup = %v, %v; want [%s]", addrs, err, public)
			}
			if err := CheckAddr(addrs[0]); err != nil {
				t.Fatalf("first answer refused: %v", err)
			}
			// Time of use: the dial resolves again and gets the private address.
			client := newClient(Options{}, CheckAddr, resolver)
			_, err = get(t, client, url)
			t.Logf("refused: %v", err)
			if !errors.Is(err, ErrForbiddenAddress) {
				t.Fatalf("got %v, want ErrForbiddenAddress", err)
			}
			if n := dns.queries(); n < 2 {
				t.Fatalf("dial did not resolve again (%d A queries)", n)
			}
			if n := hits.Load(); n != 0 {
				t.Fatalf("private server reached %d times", n)
			}
		})
	}

	// Without the check the same resolver leads to the loopback server, so
	// the refusals above came from the guard and not from a failed lookup.
	_, resolver := startRebindingDNS(t, public, netip.MustParseAddr("127.0.0.1"))
	if _, err := resolver.LookupNetIP(t.Context(), "ip4", "rebind.seedcast.test"); err != nil {
		t.Fatal(err)
	}
	body, err := get(t, newClient(Options{}, allowAll, resolver), url)
	if err != nil || body != "secret" {
		t.Fatalf("unguarded: got %q, %v", body, err)
	}
}
