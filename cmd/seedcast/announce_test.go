package main

import (
	"slices"
	"testing"

	"github.com/seedcast/seedcast/config"
)

func TestAnnounceListEndsWithWebSocketTracker(t *testing.T) {
	for _, tc := range []struct{ public, want string }{
		{"http://127.0.0.1:8080", "ws://127.0.0.1:8080/announce"},
		{"https://casts.example", "wss://casts.example/announce"},
		{"https://casts.example/seedcast", "wss://casts.example/seedcast/announce"},
	} {
		var cfg config.Config
		cfg.HTTP.PublicURL = tc.public
		cfg.Tracker.UDPListen = "off"
		got := announceList(&cfg)
		want := [][]string{{tc.public + "/announce"}, {tc.want}}
		if !slices.EqualFunc(got, want, slices.Equal) {
			t.Errorf("public_url %s: announce-list %q, want %q", tc.public, got, want)
		}
	}
}
