package tracker

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// FuzzWebSocketMessage: whatever a client sends, the tracker answers a later
// scrape on the same connection (it neither panics nor hangs up on a message
// within the size limit) and every message it sends is JSON with an action or a
// failure reason.
func FuzzWebSocketMessage(f *testing.F) {
	id := peerID("fuzz")
	a, b := binaryString(hashA[:]), binaryString(id[:])
	f.Add(`{"action":"announce","info_hash":"` + a + `","peer_id":"` + b + `","left":10,"event":"started","offers":[{"offer_id":"x","offer":{"sdp":"s"}}]}`)
	f.Add(`{"action":"announce","info_hash":"` + a + `","peer_id":"` + b + `","to_peer_id":"` + b + `","answer":{"sdp":"s"},"offer_id":"x"}`)
	f.Add(`{"action":"scrape","info_hash":["` + a + `",7]}`)
	f.Add(`{"action":"announce","left":1e400,"numwant":-3,"info_hash":null}`)
	f.Add(`[1,2,3]`)
	tr := New(Config{AnnouncesPerIPPerMinute: -1}, nil, nil, nil)
	if err := tr.Allow(f.Context(), hashA, 1000); err != nil {
		f.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/announce", tr.AnnounceHandler())
	srv := httptest.NewServer(mux)
	f.Cleanup(srv.Close)
	base := srv.URL
	f.Fuzz(func(t *testing.T, msg string) {
		if len(msg) > 60<<10 {
			return // past the message limit the tracker hangs up, by design
		}
		conn, _, err := websocket.DefaultDialer.DialContext(t.Context(), wsURL(base), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if err := conn.WriteMessage(websocket.TextMessage, []byte(msg)); err != nil {
			t.Fatal(err)
		}
		if err := conn.WriteJSON(map[string]any{"action": "scrape", "info_hash": a}); err != nil {
			t.Fatal(err)
		}
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		for {
			var m map[string]any
			_, raw, err := conn.ReadMessage()
			if err != nil {
				t.Fatalf("connection lost after %q: %v", msg, err)
			}
			if err := json.Unmarshal(raw, &m); err != nil || (m["action"] == nil && m["failure reason"] == nil) {
				t.Fatalf("reply %q to %q", raw, msg)
			}
			if m["action"] == "scrape" && m["files"] != nil {
				return
			}
		}
	})
}
