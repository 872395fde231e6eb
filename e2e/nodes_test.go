package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"testing"
	"time"
)

// TestStatusShowsNodes: /status names this node (the host name by default), alive, seeding
// what it published, and each feed says which node polls it.
func TestStatusShowsNodes(t *testing.T) {
	o := newOrigin(t, 2, 64<<10)
	g := newGateway(t, feedEntry{"show", o.feedURL()})
	g.start()
	g.waitPublished("show", 2, 60*time.Second)
	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	var body struct {
		Nodes []struct {
			Name      string `json:"name"`
			Alive     bool   `json:"alive"`
			Seeding   int    `json:"seeding"`
			Assigned  int    `json:"assigned"`
			DiskBytes int64  `json:"disk_bytes"`
		} `json:"nodes"`
		Feeds []struct {
			PolledBy string `json:"polled_by"`
		} `json:"feeds"`
	}
	// The heartbeat runs at start and every node_timeout/3: wait for one that saw both torrents.
	waitFor(t, 30*time.Second, "a heartbeat seeding both episodes", func() error {
		resp, err := http.Get(g.baseURL() + "/status")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			return err
		}
		if len(body.Nodes) != 1 || body.Nodes[0].Seeding != 2 {
			return fmt.Errorf("nodes = %+v", body.Nodes)
		}
		return nil
	})
	n := body.Nodes[0]
	if n.Name != host || !n.Alive || n.Assigned != 2 || n.DiskBytes < 2*64<<10 {
		t.Errorf("node = %+v; want %s alive, 2 assigned, at least %d bytes", n, host, 2*64<<10)
	}
	if len(body.Feeds) != 1 || body.Feeds[0].PolledBy != host {
		t.Errorf("feeds = %+v; want polled by %s", body.Feeds, host)
	}
}
