package worker

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/seedcast/seedcast/store"
)

// Only partial downloads that a later poll would resume survive a sweep, and
// recent ones are spared in case another process is writing them.
func TestSweepPartials(t *testing.T) {
	ctx := context.Background()
	w, st, dir := newTestWorker(t)
	now := time.Now()
	old := now.Add(-2 * partialGrace)
	ep := func(key, u string) store.Episode {
		return store.Episode{Key: key, GUID: key, Title: key, EnclosureURL: u, EnclosureType: "audio/mpeg"}
	}
	for slug, eps := range map[string][]store.Episode{
		"s":    {ep("pending", "http://o.example/a.mp3")},
		"gone": {ep("orphan", "http://o.example/b.mp3")}, // a feed taken out of config.yaml
	} {
		if err := st.EnsureFeed(ctx, slug, "http://o.example/"+slug+".xml"); err != nil {
			t.Fatal(err)
		}
		if err := st.SaveChannel(ctx, store.Feed{Slug: slug, Title: slug}, eps, now); err != nil {
			t.Fatal(err)
		}
	}
	write := func(rel string, size int, mtime time.Time) string {
		t.Helper()
		p := filepath.Join(dir, "media", rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, make([]byte, size), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, mtime, mtime); err != nil {
			t.Fatal(err)
		}
		return p
	}
	resumable := filepath.Join("s", MediaName("pending", "http://o.example/a.mp3", "audio/mpeg"))
	kept := []string{
		write(resumable+".part", 1000, old),
		write(resumable+".part.json", 10, old),
		write("s/recent.mp3.part", 1000, now), // maybe another process's download
		write("s/published.mp3", 5000, old),   // not a partial download
	}
	removed := []string{
		write("s/url-changed.mp3.part", 3000, old),
		write("s/url-changed.mp3.part.json", 20, old),
		write("s/crashed.mp3.part.json.tmp", 7, old),
		write(filepath.Join("gone", MediaName("orphan", "http://o.example/b.mp3", "audio/mpeg"))+".part", 4000, old),
	}

	n, bytes, err := w.SweepPartials(ctx, []Feed{{Slug: "s"}})
	if err != nil {
		t.Fatal(err)
	}
	if n != len(removed) || bytes != 3000+20+7+4000 {
		t.Fatalf("swept %d files, %d bytes; want %d files, %d bytes", n, bytes, len(removed), 3000+20+7+4000)
	}
	for _, p := range kept {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s should have been kept: %v", p, err)
		}
	}
	for _, p := range removed {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s should have been removed (stat: %v)", p, err)
		}
	}

	// A data directory that never downloaded anything is not an error.
	w2, _, _ := newTestWorker(t)
	if n, _, err := w2.SweepPartials(ctx, nil); n != 0 || err != nil {
		t.Fatalf("empty data dir: %d, %v", n, err)
	}
}
