package safehttp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
)

func TestCheckAddr(t *testing.T) {
	tests := []struct {
		addr    string
		refused bool
	}{
		// public
		{"8.8.8.8", false},
		{"93.184.216.34", false},
		{"100.63.255.255", false},
		{"100.128.0.0", false},
		{"172.32.0.1", false},
		{"2606:4700::1111", false},
		{"2001:4860:4860::8888", false},
		{"::ffff:8.8.8.8", false},
		{"64:ff9b::808:808", false},
		{"2002:808:808::1", false},
		// loopback
		{"127.0.0.1", true},
		{"127.255.255.254", true},
		{"::1", true},
		{"::ffff:127.0.0.1", true},
		// private
		{"10.0.0.1", true},
		{"172.16.0.1", true},
		{"172.31.255.255", true},
		{"192.168.1.1", true},
		{"fc00::1", true},
		{"fd12:3456::1", true},
		{"::ffff:10.1.2.3", true},
		{"::ffff:192.168.0.1", true},
		// link-local
		{"169.254.169.254", true},
		{"fe80::1", true},
		{"fe80::1%eth0", true},
		{"::ffff:169.254.169.254", true},
		// multicast
		{"224.0.0.1", true},
		{"239.255.255.250", true},
		{"ff02::1", true},
		{"ff0e::1", true},
		// unspecified
		{"0.0.0.0", true},
		{"::", true},
		{"::ffff:0.0.0.0", true},
		// this network
		{"0.1.2.3", true},
		// CGNAT
		{"100.64.0.1", true},
		{"100.127.255.255", true},
		{"::ffff:100.64.0.1", true},
		// broadcast and reserved
		{"255.255.255.255", true},
		{"240.0.0.1", true},
		// other special ranges
		{"192.0.0.8", true},
		{"198.18.0.1", true},
		{"fec0::1", true},
		{"::10.0.0.1", true},
		// IPv4 embedded in NAT64 and 6to4
		{"64:ff9b::7f00:1", true},
		{"64:ff9b::a00:1", true},
		{"2002:a00:1::1", true},
		{"2002:7f00:1::", true},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			a := netip.MustParseAddr(tt.addr)
			err := CheckAddr(a)
			if tt.refused {
				if !errors.Is(err, ErrForbiddenAddress) {
					t.Fatalf("CheckAddr(%s) = %v, want ErrForbiddenAddress", tt.addr, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("CheckAddr(%s) = %v, want nil", tt.addr, err)
			}
		})
	}
	if err := CheckAddr(netip.Addr{}); !errors.Is(err, ErrForbiddenAddress) {
		t.Errorf("zero Addr: got %v, want ErrForbiddenAddress", err)
	}
}

func TestControlFunc(t *testing.T) {
	control := controlFunc(CheckAddr, dialCheck(nil, false))
	tests := []struct {
		address string
		refused bool
	}{
		{"8.8.8.8:443", false},
		{"[2606:4700::1111]:80", false},
		{"127.0.0.1:80", true},
		{"[::1]:443", true},
		{"[::ffff:127.0.0.1]:80", true},
		{"[fe80::1%eth0]:80", true},
		{"10.0.0.1:8080", true},
		{"garbage", true},
		{"", true},
	}
	for _, tt := range tests {
		err := control("tcp", tt.address, nil)
		if tt.refused != (err != nil) {
			t.Errorf("control(%q) = %v, refused want %v", tt.address, err, tt.refused)
		}
		if err != nil && !errors.Is(err, ErrForbiddenAddress) {
			t.Errorf("control(%q) = %v, does not wrap ErrForbiddenAddress", tt.address, err)
		}
	}
}

// TestDefaultRefusesLoopback dials a real server on loopback through the
// default (guarded) client.
func TestDefaultRefusesLoopback(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "secret")
	}))
	defer srv.Close()

	_, err := get(t, NewClient(Options{}), srv.URL)
	if !errors.Is(err, ErrForbiddenAddress) {
		t.Fatalf("got %v, want ErrForbiddenAddress", err)
	}

	body, err := get(t, NewClient(Options{AllowPrivate: true}), srv.URL)
	if err != nil || body != "secret" {
		t.Fatalf("AllowPrivate: got %q, %v", body, err)
	}
}

// refuse127002 allows everything but 127.0.0.2, standing in for the
// default check so tests can have one allowed and one refused server.
func refuse127002(a netip.Addr) error {
	if a.Unmap() == netip.MustParseAddr("127.0.0.2") {
		return fmt.Errorf("test: %s: %w", a, ErrForbiddenAddress)
	}
	return nil
}

// listen127002 starts srv on 127.0.0.2, which Linux routes to loopback.
func listen127002(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Skipf("cannot listen on 127.0.0.2: %v", err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.Listener.Close()
	srv.Listener = l
	srv.Start()
	t.Cleanup(srv.Close)
	return srv
}

func TestRedirectToRefusedHost(t *testing.T) {
	var hits atomic.Int32
	refused := listen127002(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		io.WriteString(w, "internal")
	}))
	allowed := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, refused.URL+"/metadata", http.StatusFound)
	}))
	defer allowed.Close()

	client := newClient(Options{AllowPrivate: true}, refuse127002, nil)
	_, err := get(t, client, allowed.URL)
	if !errors.Is(err, ErrForbiddenAddress) {
		t.Fatalf("got %v, want ErrForbiddenAddress", err)
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("refused server was reached %d times", n)
	}

	// Without the refusing check the redirect is followed, so the refusal
	// above came from the check and not from the servers.
	body, err := get(t, newClient(Options{AllowPrivate: true}, allowAll, nil), allowed.URL)
	if err != nil || body != "internal" {
		t.Fatalf("unguarded: got %q, %v", body, err)
	}
}

func TestRedirectScheme(t *testing.T) {
	for _, target := range []string{"file:///etc/passwd", "gopher://example.com/", "ftp://example.com/x"} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, target, http.StatusFound)
		}))
		_, err := get(t, newClient(Options{AllowPrivate: true}, refuse127002, nil), srv.URL)
		srv.Close()
		if !errors.Is(err, ErrForbiddenScheme) {
			t.Errorf("redirect to %s: got %v, want ErrForbiddenScheme", target, err)
		}
	}
}

func TestRequestScheme(t *testing.T) {
	client := NewClient(Options{})
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, "ftp://example.com/x", nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = client.Do(req)
	if !errors.Is(err, ErrForbiddenScheme) {
		t.Fatalf("got %v, want ErrForbiddenScheme", err)
	}
}

func TestRedirectLimitAndUserAgent(t *testing.T) {
	var agents []string
	mux := http.NewServeMux()
	mux.HandleFunc("/r/{n}", func(w http.ResponseWriter, r *http.Request) {
		agents = append(agents, r.UserAgent())
		var n int
		fmt.Sscan(r.PathValue("n"), &n)
		if n == 0 {
			io.WriteString(w, "done")
			return
		}
		http.Redirect(w, r, fmt.Sprintf("/r/%d", n-1), http.StatusFound)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	client := NewClient(Options{AllowPrivate: true, MaxRedirects: 3, UserAgent: "seedcast-test/1"})
	body, err := get(t, client, srv.URL+"/r/3")
	if err != nil || body != "done" {
		t.Fatalf("3 redirects with limit 3: got %q, %v", body, err)
	}
	for i, ua := range agents {
		if ua != "seedcast-test/1" {
			t.Errorf("request %d: User-Agent %q", i, ua)
		}
	}
	if len(agents) != 4 {
		t.Errorf("got %d requests, want 4", len(agents))
	}

	_, err = get(t, client, srv.URL+"/r/4")
	if !errors.Is(err, ErrTooManyRedirects) {
		t.Fatalf("4 redirects with limit 3: got %v, want ErrTooManyRedirects", err)
	}

	noRedirects := NewClient(Options{AllowPrivate: true, MaxRedirects: -1})
	if _, err := get(t, noRedirects, srv.URL+"/r/1"); !errors.Is(err, ErrTooManyRedirects) {
		t.Fatalf("MaxRedirects -1: got %v, want ErrTooManyRedirects", err)
	}
}

// allowAll allows every address.
func allowAll(netip.Addr) error { return nil }

func get(t *testing.T, c *http.Client, url string) (string, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if !strings.HasPrefix(resp.Status, "200") {
		return "", fmt.Errorf("status %s", resp.Status)
	}
	return string(b), nil
}
