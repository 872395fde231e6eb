package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/anacrolix/torrent/metainfo"
	"github.com/mmcdole/gofeed"

	"github.com/seedcast/seedcast/store/sqlite"
)

// TestCrashLoop kills the real binary with SIGKILL at random moments while it
// ingests several feeds (mid-download, mid-hash, mid-store-write, mid-render),
// restarting it each time, and after every kill checks the invariants on the
// store and the disk: every published episode is complete and correct, its
// .torrent matches it, and nothing is published twice. At each restart the
// output feed lists only such episodes. Finally everything is published.
func TestCrashLoop(t *testing.T) {
	kills := 50
	if s := os.Getenv("SEEDCAST_CRASH_KILLS"); s != "" {
		kills, _ = strconv.Atoi(s)
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("random seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))

	// Each episode takes a few hundred milliseconds to arrive, so the ingest
	// spans most of the kills and they land in every phase of it.
	origins := []*origin{newOrigin(t, 30, 1<<20), newOrigin(t, 30, 1<<20+1), newOrigin(t, 30, 1<<20+2)}
	for _, o := range origins {
		o.throttle.Store(2 << 20)
	}
	var entries []feedEntry
	want := 0
	for i, o := range origins {
		entries = append(entries, feedEntry{fmt.Sprintf("show%d", i), o.feedURL()})
		want += len(o.episodes)
	}
	g := newGateway(t, entries...)

	published := 0
	for i := range kills {
		g.start()
		// The feed a restarted gateway serves lists only sound episodes.
		for _, e := range entries {
			f, _, err := g.outputFeed(e.slug)
			if err != nil {
				continue // not polled yet: 404 is fine
			}
			checkServedTorrents(t, g, f.Items)
		}
		time.Sleep(time.Duration(rng.IntN(1000)) * time.Millisecond) // a random kill point, not an assertion
		g.kill9()
		published = checkInvariants(t, g.dataDir, origins)
		if i%10 == 9 {
			t.Logf("kill %d: %d/%d episodes published", i+1, published, want)
		}
	}
	t.Logf("after %d kills: %d/%d episodes published", kills, published, want)

	for _, o := range origins {
		o.throttle.Store(0)
	}
	g.start()
	waitFor(t, 120*time.Second, "every episode published", func() error {
		if n := checkInvariants(t, g.dataDir, origins); n != want {
			return fmt.Errorf("%d/%d published", n, want)
		}
		return nil
	})
	g.stop()
	checkInvariants(t, g.dataDir, origins)
}

// checkInvariants opens the store read-only-in-spirit (the gateway is dead or
// idle) and verifies every published episode against the disk and the origin.
func checkInvariants(t *testing.T, dataDir string, origins []*origin) int {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(dataDir, "seedcast.db"))
	if err != nil {
		t.Fatalf("store after crash: %v", err)
	}
	defer st.Close()
	n := 0
	seenHash := map[string]bool{}
	for i, o := range origins {
		slug := fmt.Sprintf("show%d", i)
		eps, err := st.Published(ctx, slug)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range eps {
			n++
			if seenHash[e.InfoHash] {
				t.Fatalf("%s: info hash %s published twice", slug, e.InfoHash)
			}
			seenHash[e.InfoHash] = true
			body, err := os.ReadFile(filepath.Join(dataDir, e.MediaPath))
			if err != nil {
				t.Fatalf("%s/%s published but its media is missing: %v", slug, e.Key, err)
			}
			sum := sha256.Sum256(body)
			if int64(len(body)) != e.MediaSize || hex.EncodeToString(sum[:]) != e.SHA256 {
				t.Fatalf("%s/%s published with incomplete or wrong media: %d bytes, want %d", slug, e.Key, len(body), e.MediaSize)
			}
			var match bool
			for _, src := range o.episodes {
				if "guid:"+src.GUID == e.Key {
					match = bytes.Equal(src.Body, body)
				}
			}
			if !match {
				t.Fatalf("%s/%s media differs from the origin's", slug, e.Key)
			}
			mi, err := metainfo.LoadFromFile(filepath.Join(dataDir, e.TorrentPath))
			if err != nil {
				t.Fatalf("%s/%s published but its .torrent is unreadable: %v", slug, e.Key, err)
			}
			if mi.HashInfoBytes().HexString() != e.InfoHash {
				t.Fatalf("%s/%s .torrent hash %s, store says %s", slug, e.Key, mi.HashInfoBytes().HexString(), e.InfoHash)
			}
			info, err := mi.UnmarshalInfo()
			if err != nil || info.Length != e.MediaSize {
				t.Fatalf("%s/%s .torrent describes %d bytes, media has %d (%v)", slug, e.Key, info.Length, e.MediaSize, err)
			}
		}
	}
	return n
}

func checkServedTorrents(t *testing.T, g *gateway, items []*gofeed.Item) {
	t.Helper()
	for _, it := range items {
		for _, enc := range it.Enclosures {
			if enc.Type != "application/x-bittorrent" {
				continue
			}
			mi := fetchTorrent(t, enc.URL)
			if _, err := mi.UnmarshalInfo(); err != nil {
				t.Fatalf("served .torrent %s unreadable: %v", enc.URL, err)
			}
		}
	}
}
