package main

import (
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/seedcast/seedcast/config"
	"github.com/seedcast/seedcast/store/sqlite"
	"github.com/seedcast/seedcast/tracker"
)

// tracker.websocket's limits reach the tracker serve runs: one offer allowed, two refused.
func TestWebSocketLimitsFromConfig(t *testing.T) {
	cfg, err := config.Parse([]byte("tracker:\n  websocket: {max_offers: 1, max_conns_per_ip: 1}\n"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(t.Context(), t.TempDir()+"/seedcast.db")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	log := slog.New(slog.DiscardHandler)
	trk := tracker.New(trackerConfig(cfg, log), st, log, nil)
	var ih [20]byte
	ih[0] = 0xaa
	if err := trk.Allow(t.Context(), ih, 1000); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(trk.AnnounceHandler())
	defer srv.Close()
	ws := "ws" + strings.TrimPrefix(srv.URL, "http") + "/announce"
	conn, _, err := websocket.DefaultDialer.DialContext(t.Context(), ws, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// A second connection from this address is past max_conns_per_ip.
	if c2, _, err := websocket.DefaultDialer.DialContext(t.Context(), ws, nil); err == nil {
		c2.Close()
		t.Fatal("a second connection from one address was accepted with max_conns_per_ip 1")
	}
	bin := func(b []byte) string {
		r := make([]rune, len(b))
		for i, c := range b {
			r[i] = rune(c)
		}
		return string(r)
	}
	offer := map[string]any{"offer_id": "o", "offer": map[string]any{"type": "offer", "sdp": "x"}}
	msg := map[string]any{"action": "announce", "info_hash": bin(ih[:]), "peer_id": "-WW0300-aaaaaaaaaaaa",
		"left": 1000, "offers": []any{offer, offer}}
	if err := conn.WriteJSON(msg); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	var got map[string]any
	if err := conn.ReadJSON(&got); err != nil {
		t.Fatal(err)
	}
	if got["failure reason"] != "too many offers" {
		t.Fatalf("two offers with max_offers 1: %v", got)
	}
}
