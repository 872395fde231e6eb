package worker

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seedcast/seedcast/store"
)

// A node's heartbeat says what it seeds and the media on its disk; /status shows it alive
// within the timeout, then dead.
func TestHeartbeatAndNodesStatus(t *testing.T) {
	ctx := context.Background()
	var srvURL string
	mux := http.NewServeMux()
	mux.HandleFunc("/feed.xml", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<rss version="2.0"><channel><title>H</title><item><guid>h1</guid><title>H1</title>
<enclosure url="%s/h1.mp3" length="300000" type="audio/mpeg"/></item></channel></rss>`, srvURL)
	})
	mux.HandleFunc("/h1.mp3", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(strings.Repeat("h", 300000))) })
	srv := httptest.NewServer(mux)
	defer srv.Close()
	srvURL = srv.URL

	w, st, _, dir := newSeedingWorker(t)
	w.cfg.NodeName = "node-1"
	if err := w.Poll(ctx, Feed{Slug: "h", URL: srv.URL + "/feed.xml"}); err != nil {
		t.Fatal(err)
	}
	if err := w.Heartbeat(ctx); err != nil {
		t.Fatal(err)
	}
	nodes, err := NodesStatus(ctx, st, 30*time.Second, 1, time.Now())
	if err != nil || len(nodes) != 1 {
		t.Fatalf("nodes = %+v, %v", nodes, err)
	}
	n := nodes[0]
	var disk int64
	filepath.Walk(filepath.Join(dir, "media"), func(_ string, fi os.FileInfo, _ error) error {
		if fi != nil && fi.Mode().IsRegular() {
			disk += fi.Size()
		}
		return nil
	})
	if n.Name != "node-1" || !n.Alive || n.Seeding != 1 || n.Assigned != 1 || n.DiskBytes != disk || disk < 300000 {
		t.Fatalf("node = %+v; want node-1 alive, seeding and assigned 1, %d disk bytes", n, disk)
	}
	if fs, _ := Status(ctx, st, w); len(fs) != 1 || fs[0].PolledBy != "node-1" {
		t.Fatalf("feed status = %+v; want polled by node-1", fs)
	}
	// A second live node: the maker keeps its torrent with one replica, both seed it with two.
	if err := st.Heartbeat(ctx, store.Node{Name: "node-2", StartedAt: n.LastSeen, LastSeen: n.LastSeen}); err != nil {
		t.Fatal(err)
	}
	for replicas, want := range map[int][2]int{1: {1, 0}, 2: {1, 1}} {
		two, err := NodesStatus(ctx, st, 30*time.Second, replicas, n.LastSeen)
		if err != nil || len(two) != 2 || two[0].Assigned != want[0] || two[1].Assigned != want[1] {
			t.Fatalf("replicas %d: %+v, %v; want assigned %v", replicas, two, err, want)
		}
	}
	later, err := NodesStatus(ctx, st, 30*time.Second, 1, n.LastSeen.Add(31*time.Second))
	if err != nil || later[0].Alive || later[0].Assigned != 0 {
		t.Fatalf("31 s after its heartbeat: %+v, %v; want dead, assigned nothing", later, err)
	}
}
