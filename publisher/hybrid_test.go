package publisher

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/anacrolix/torrent/metainfo"
	"github.com/mmcdole/gofeed"
)

// TestHybridMagnet: a hybrid torrent's magnet carries both exact topics, btih and btmh, which
// the anacrolix parser reads back as the stored v1 and v2 info hashes; a v1 torrent's has btih
// only.
func TestHybridMagnet(t *testing.T) {
	fx := newFixture(t)
	fx.save(t, sampleEpisodes(), t0)
	ihV1only := fx.publish(t, "url:ep1", "ep1.mp3", t0.Add(time.Hour))
	fx.v2 = true
	fx.publish(t, "guid:ep2", "ep2.mp3", t0.Add(2*time.Hour))

	f, err := fx.st.Feed(context.Background(), "show")
	if err != nil {
		t.Fatal(err)
	}
	eps, err := fx.st.Published(context.Background(), "show")
	if err != nil {
		t.Fatal(err)
	}
	out, err := RenderRSS(Config{PublicURL: publicURL, DataDir: fx.dir}, f, eps)
	if err != nil {
		t.Fatal(err)
	}
	feed, err := gofeed.NewParser().ParseString(string(out))
	if err != nil {
		t.Fatal(err)
	}
	byHash := map[string]string{} // v1 hash -> magnet
	for _, it := range feed.Items {
		for _, alt := range it.Extensions["podcast"]["alternateEnclosure"] {
			for _, src := range alt.Children["source"] {
				if u := src.Attrs["uri"]; strings.HasPrefix(u, "magnet:") {
					m, err := metainfo.ParseMagnetV2Uri(u)
					if err != nil {
						t.Fatalf("magnet %q: %v", u, err)
					}
					byHash[m.InfoHash.Value.HexString()] = u
				}
			}
		}
	}
	for _, e := range eps {
		u, ok := byHash[e.InfoHash]
		if !ok {
			t.Fatalf("no magnet for %s in %v", e.InfoHash, byHash)
		}
		m, _ := metainfo.ParseMagnetV2Uri(u)
		switch {
		case e.InfoHash == ihV1only:
			if e.InfoHashV2 != "" || m.V2InfoHash.Ok {
				t.Errorf("v1 torrent's magnet %q has a v2 hash", u)
			}
		case e.InfoHashV2 == "" || !m.V2InfoHash.Ok || m.V2InfoHash.Value.HexString() != e.InfoHashV2:
			t.Errorf("hybrid magnet %q: btmh %v, stored v2 hash %q", u, m.V2InfoHash, e.InfoHashV2)
		}
	}
}
