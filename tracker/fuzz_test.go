package tracker

import (
	"encoding/binary"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"

	"github.com/anacrolix/torrent/types/infohash"
)

func FuzzParseAnnounce(f *testing.F) {
	f.Add(announceValues(hashA, "a", 7001, 10).Encode())
	f.Add(announceValues(hashA, "a", 7001, 0).Encode() + "&event=stopped&compact=0&numwant=-5")
	f.Add(announceValues(hashA, "b", 7002, -1).Encode() + "&event=completed&numwant=3")
	f.Add("info_hash=%aa&peer_id=x&port=99999&left=-0")
	f.Add("a=1;b=2&%zz")
	f.Fuzz(func(t *testing.T, rawQuery string) {
		// A fresh tracker per input keeps coverage deterministic for the fuzzer.
		tr := fuzzTracker(t)
		announce, scrape := tr.AnnounceHandler(), tr.ScrapeHandler()
		q, err := parseAnnounce(rawQuery)
		if err == nil {
			if q.req.left < 0 || q.req.numWant < -1 {
				t.Fatalf("out of range: %+v", q)
			}
		}
		_, _ = parseScrape(rawQuery)
		for _, h := range []http.Handler{announce, scrape} {
			r := &http.Request{
				Method:     http.MethodGet,
				URL:        &url.URL{Path: "/", RawQuery: rawQuery},
				RemoteAddr: "192.0.2.1:1234",
				Header:     http.Header{},
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r.WithContext(t.Context()))
			if w.Code != http.StatusOK {
				t.Fatalf("status %d", w.Code)
			}
		}
	})
}

func FuzzUDPPacket(f *testing.F) {
	f.Add(udpRequest(udpProtocolID, actionConnect, 1, nil))
	f.Add(udpRequest(0, actionAnnounce, 2, announceBody(hashA, "a", 10, eventStarted, 7001)))
	f.Add(udpRequest(0, actionAnnounce, 2, announceBody(hashA, "a", 0, eventStopped, 7001)))
	f.Add(udpRequest(0, actionScrape, 3, append(hashA[:], hashU[:]...)))
	f.Add([]byte{1, 2, 3})
	src := netip.MustParseAddrPort("192.0.2.1:1234")
	f.Fuzz(func(t *testing.T, pkt []byte) {
		tr := fuzzTracker(t)
		reply := tr.handleUDP(t.Context(), pkt, src)
		checkReply(t, pkt, reply)
		// Without a valid connection ID a reply must not amplify a spoofed request.
		if len(reply) > len(pkt) {
			t.Fatalf("reply of %d bytes to a %d-byte unauthenticated packet", len(reply), len(pkt))
		}
		// Again with a valid connection ID, to reach the announce and scrape parsers.
		if len(pkt) >= udpHeaderLen && binary.BigEndian.Uint32(pkt[8:12]) != actionConnect {
			id := tr.connectionID(src, tr.now().Unix()/60)
			authed := append(id[:], pkt[8:]...)
			checkReply(t, authed, tr.handleUDP(t.Context(), authed, src))
		}
	})
}

// fuzzTracker tracks hashA with peer "a" as a leecher, so that one fuzzed
// announce can reach the completion path.
func fuzzTracker(t *testing.T) *Tracker {
	tr := New(Config{}, nil, slog.New(slog.DiscardHandler), nil)
	if err := tr.Allow(t.Context(), hashA, 0); err != nil {
		t.Fatal(err)
	}
	req := announceRequest{
		infoHash: hashA,
		peerID:   peerID("a"),
		addr:     netip.MustParseAddrPort("192.0.2.1:7001"),
		left:     10,
		numWant:  -1,
	}
	if _, err := tr.announce(t.Context(), req); err != nil {
		t.Fatal(err)
	}
	return tr
}

func checkReply(t *testing.T, pkt, reply []byte) {
	t.Helper()
	if reply == nil {
		return
	}
	if len(reply) < 8 || string(reply[4:8]) != string(pkt[12:16]) {
		t.Fatalf("reply %x does not echo the transaction id of %x", reply, pkt)
	}
}

func FuzzScrapeResponse(f *testing.F) {
	ihA, ihB := infohash.T(hashA), infohash.T(hashB)
	f.Add([]byte("d5:filesd20:" + string(hashA[:]) + "d8:completei3e10:downloadedi7e10:incompletei2eeee"))
	f.Add([]byte("d5:filesd20:" + string(hashB[:]) + "d8:completei-3e10:downloadedi99999999999999999999e10:incompletei2eeee"))
	f.Add([]byte("d14:failure reason6:go awaye"))
	f.Add([]byte("d5:filesl1:ae5:extrali1ei2eee"))
	f.Add([]byte("d5:filesd20:xxxxxxxxxxxxxxxxxxxxd8:complete3:abceee"))
	f.Add([]byte("i9e"))
	f.Add([]byte("d5:filesd"))
	f.Fuzz(func(t *testing.T, body []byte) {
		hashes := []infohash.T{ihA, ihB}
		got, err := parseScrapeReply(body, hashes)
		if err != nil {
			return
		}
		if len(got) != len(hashes) {
			t.Fatalf("%d results for %d hashes", len(got), len(hashes))
		}
		for _, st := range got {
			if st.Complete < 0 || st.Incomplete < 0 || st.Downloaded < 0 {
				t.Fatalf("negative figures %+v from %q", st, body)
			}
		}
	})
}

// FuzzClientAddr: whatever a client writes into X-Forwarded-For, the address
// taken from behind a trusted proxy is one the header names or the proxy's own.
func FuzzClientAddr(f *testing.F) {
	f.Add("203.0.113.9")
	f.Add("6.6.6.6, 203.0.113.9, 192.0.2.77")
	f.Add("[2001:db8::1]:443,::ffff:10.0.0.1")
	f.Add(" , ,")
	tr := New(Config{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}}, nil, slog.New(slog.DiscardHandler), nil)
	f.Fuzz(func(t *testing.T, xff string) {
		r := &http.Request{RemoteAddr: "192.0.2.1:1234", Header: http.Header{"X-Forwarded-For": {xff}}}
		a, ok := tr.clientAddr(r)
		if !ok {
			return
		}
		if !a.IsValid() || a.Is4In6() {
			t.Fatalf("address %v from %q", a, xff)
		}
		if !tr.trustedProxy(a) {
			found := false
			for _, hop := range strings.Split(xff, ",") {
				hop = strings.TrimSpace(hop)
				if p, err := netip.ParseAddr(hop); err == nil && p.Unmap() == a {
					found = true
				} else if p, err := netip.ParseAddrPort(hop); err == nil && p.Addr().Unmap() == a {
					found = true
				}
			}
			if !found {
				t.Fatalf("address %v is not in %q", a, xff)
			}
		}
		// From an untrusted connection the header never matters.
		r.RemoteAddr = "198.51.100.1:1"
		if b, ok := tr.clientAddr(r); !ok || b != netip.MustParseAddr("198.51.100.1") {
			t.Fatalf("untrusted connection: %v, %v", b, ok)
		}
	})
}
