package worker

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/seedcast/seedcast/safehttp"
	"github.com/seedcast/seedcast/store"
)

// smallDisk mounts an 8 MiB tmpfs made by the test itself. It needs root
// (CI runs as root); elsewhere the test is skipped unless required.
func smallDisk(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", dir).CombinedOutput()
	if err != nil {
		if os.Getenv("SEEDCAST_REQUIRE_PEERS") != "" && os.Geteuid() == 0 {
			t.Fatalf("mount tmpfs: %v\n%s", err, out)
		}
		t.Skipf("cannot mount a tmpfs here: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
	return dir
}

// TestDiskFull: on a nearly full disk an episode whose declared size would
// cross the floor is not started, one whose origin declares nothing and
// sends too much is stopped, neither leaves a file or a publication behind,
// the store stays sound, and the feed's status says why.
func TestDiskFull(t *testing.T) {
	dir := smallDisk(t)
	ctx := context.Background()
	small := strings.Repeat("s", 1<<20)
	big := strings.Repeat("b", 12<<20)
	mux := http.NewServeMux()
	var srvURL string
	mux.HandleFunc("/feed.xml", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<rss version="2.0"><channel><title>Full</title>
<item><guid>small</guid><title>Small</title><enclosure url="%[1]s/small.mp3" length="%[2]d" type="audio/mpeg"/></item>
<item><guid>declared</guid><title>Declared big</title><enclosure url="%[1]s/big.mp3" length="%[3]d" type="audio/mpeg"/></item>
<item><guid>undeclared</guid><title>Undeclared big</title><enclosure url="%[1]s/stream.mp3" type="audio/mpeg"/></item>
</channel></rss>`, srvURL, len(small), len(big))
	})
	mux.HandleFunc("/small.mp3", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, small) })
	mux.HandleFunc("/big.mp3", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, big) })
	mux.HandleFunc("/stream.mp3", func(w http.ResponseWriter, r *http.Request) {
		// No Content-Length: chunked, so only the body tells the size.
		for i := 0; i < 12; i++ {
			io.WriteString(w, small)
			w.(http.Flusher).Flush()
		}
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	srvURL = srv.URL

	st := openTestStore(t, dir)
	c := safehttp.NewClient(safehttp.Options{AllowPrivate: true, Timeout: 10 * time.Second})
	w := New(Config{DataDir: dir, AnnounceList: [][]string{{"http://127.0.0.1:1/announce"}},
		MinFreeBytes: 2 << 20, MaxEnclosureBytes: 1 << 30},
		st, Clients{Feed: c, Media: c, MaxFeed: 1 << 20}, nil, nil, slog.New(slog.DiscardHandler))

	err := w.Poll(ctx, Feed{Slug: "full", URL: srv.URL + "/feed.xml"})
	if !errors.Is(err, ErrDiskFloor) {
		t.Fatalf("poll error = %v, want ErrDiskFloor", err)
	}
	pub, _ := st.Published(ctx, "full")
	if len(pub) != 1 || pub[0].Key != "guid:small" {
		t.Fatalf("published = %+v, want only the small episode", pub)
	}
	for _, key := range []string{"guid:declared", "guid:undeclared"} {
		e, err := st.Episode(ctx, "full", key)
		if err != nil {
			t.Fatal(err)
		}
		if e.State != store.StateFailed || !strings.Contains(e.Error, "not enough disk space") ||
			!strings.Contains(e.Error, "fetch.min_free_bytes") {
			t.Errorf("%s: state %s error %q; want failed, naming the disk floor", key, e.State, e.Error)
		}
	}
	if e, _ := st.Episode(ctx, "full", "guid:declared"); !strings.Contains(e.Error, "not started") {
		t.Errorf("declared-too-big episode should not start: %q", e.Error)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "media", "full", "*"))
	if len(files) != 1 {
		t.Fatalf("media files %v, want just the small episode", files)
	}
	f, _ := st.Feed(ctx, "full")
	if !strings.Contains(f.LastError, "not enough disk space") {
		t.Fatalf("feed status last_error = %q, want the disk floor named", f.LastError)
	}
	statuses, err := Status(ctx, st, w)
	if err != nil || len(statuses) != 1 || len(statuses[0].Failed) != 2 || statuses[0].Seeding != 1 {
		t.Fatalf("status = %+v, %v", statuses, err)
	}

	// The database on the full disk is intact.
	db, err := sql.Open("sqlite", filepath.Join(dir, "seedcast.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var check string
	if err := db.QueryRow("PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity_check = %q, %v", check, err)
	}
}
