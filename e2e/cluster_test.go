package e2e

import (
	"bytes"
	"context"
	bin "encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/netip"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anacrolix/torrent/bencode"
	"github.com/anacrolix/torrent/metainfo"
	"github.com/mmcdole/gofeed"
)

// roundRobin stands for the operator's load balancer: each request goes to the next node that
// passes its health check (GET /healthz every 200 ms), as a real balancer routes around a dead
// or not yet started node.
type roundRobin struct {
	mu       sync.Mutex
	backends []*url.URL
	down     map[string]time.Time
	next     int
}

func (rr *roundRobin) pick() *url.URL {
	rr.mu.Lock()
	defer rr.mu.Unlock()
	for range rr.backends {
		b := rr.backends[rr.next%len(rr.backends)]
		rr.next++
		if _, down := rr.down[b.Host]; !down {
			return b
		}
	}
	return rr.backends[0]
}

// healthCheck marks the backends up or down until stop is closed.
func (rr *roundRobin) healthCheck(stop <-chan struct{}) {
	client := &http.Client{Timeout: 300 * time.Millisecond}
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		rr.mu.Lock()
		backends := append([]*url.URL(nil), rr.backends...)
		rr.mu.Unlock()
		for _, b := range backends {
			resp, err := client.Get(b.String() + "/healthz")
			if err == nil {
				resp.Body.Close()
			}
			rr.mu.Lock()
			if err != nil || resp.StatusCode != http.StatusOK {
				rr.down[b.Host] = time.Now()
			} else {
				delete(rr.down, b.Host)
			}
			rr.mu.Unlock()
		}
	}
}

// startCluster starts n nodes (n1, n2, ...) on dsn behind a new balancer and returns them with
// the balancer's URL, every node's public URL.
func startCluster(t *testing.T, n int, dsn string, feeds ...feedEntry) ([]*gateway, string) {
	t.Helper()
	rr, lb := newBalancer(t)
	var nodes []*gateway
	for i := 1; i <= n; i++ {
		g := newClusterNode(t, fmt.Sprintf("n%d", i), lb.URL, dsn, feeds...)
		u, _ := url.Parse(g.baseURL())
		rr.mu.Lock()
		rr.backends = append(rr.backends, u)
		rr.down[u.Host] = time.Now() // as a real balancer, no traffic until its first passed check
		rr.mu.Unlock()
		nodes = append(nodes, g)
	}
	for _, g := range nodes {
		g.start()
	}
	return nodes, lb.URL
}

// newBalancer starts the round-robin balancer with its health checks.
func newBalancer(t *testing.T) (*roundRobin, *httptest.Server) {
	rr := &roundRobin{down: map[string]time.Time{}}
	lb := httptest.NewServer(rr.handler())
	stop := make(chan struct{})
	go rr.healthCheck(stop)
	t.Cleanup(func() { close(stop); lb.Close() })
	return rr, lb
}

func (rr *roundRobin) handler() http.Handler {
	return &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(rr.pick())
			r.SetXForwarded()
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			rr.mu.Lock()
			rr.down[r.URL.Host] = time.Now()
			rr.mu.Unlock()
			http.Error(w, "node unavailable", http.StatusBadGateway)
		},
	}
}

// newClusterNode is a gateway on the shared PostgreSQL store, behind the load balancer at
// public: one of `replicas`-way seeding, node_timeout 5 s.
func newClusterNode(t *testing.T, name, public, dsn string, feeds ...feedEntry) *gateway {
	t.Helper()
	g := &gateway{t: t, dataDir: t.TempDir(), httpPort: freePort(t), peerPort: freePort(t)}
	var b strings.Builder
	fmt.Fprintf(&b, "data_dir: %s\nhttp:\n  listen: 127.0.0.1:%d\n  public_url: %s\n  trusted_proxies: [127.0.0.1]\n",
		g.dataDir, g.httpPort, public)
	fmt.Fprintf(&b, "seedbox:\n  peer_port: %d\n  disable_utp: true\n  dht: false\ntracker:\n  udp_listen: \"off\"\n  announce_interval: 10s\n  max_download_rate: 10000000000\n", g.peerPort)
	b.WriteString("fetch:\n  allow_private_networks: true\nschedule:\n  poll: \"@every 2s\"\n  scrape: \"@every 1h\"\ndemo: false\n")
	fmt.Fprintf(&b, "store:\n  driver: postgres\n  dsn: %q\nnode:\n  name: %s\ncluster:\n  replicas: 2\n  node_timeout: 5s\nfeeds:\n", dsn, name)
	for _, f := range feeds {
		fmt.Fprintf(&b, "  - slug: %s\n    url: %s\n", f.slug, f.url)
	}
	g.cfgPath = filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(g.cfgPath, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return g
}

type clusterStatus struct {
	Nodes []struct {
		Name     string `json:"name"`
		Alive    bool   `json:"alive"`
		Seeding  int    `json:"seeding"`
		Assigned int    `json:"assigned"`
	} `json:"nodes"`
}

func (g *gateway) clusterStatus() (clusterStatus, error) {
	var st clusterStatus
	resp, err := http.Get(g.baseURL() + "/status")
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	return st, json.NewDecoder(resp.Body).Decode(&st)
}

// seedingByNode is, for each live node as node g sees them, the torrents it seeds.
func (g *gateway) seedingByNode() (map[string]int, error) {
	st, err := g.clusterStatus()
	if err != nil {
		return nil, err
	}
	out := map[string]int{}
	for _, n := range st.Nodes {
		if n.Alive {
			out[n.Name] = n.Seeding
		}
	}
	return out, nil
}

// announcePeers sends one announce to node g and returns the peers it hands out.
func (g *gateway) announcePeers(t *testing.T, ih [20]byte, id string, from string, port int, left int64) ([]netip.AddrPort, error) {
	t.Helper()
	var pid [20]byte
	copy(pid[:], id)
	u := fmt.Sprintf("%s/announce?info_hash=%s&peer_id=%s&port=%d&left=%d&compact=1", g.baseURL(),
		urlEscapeBytes(ih[:]), urlEscapeBytes(pid[:]), port, left)
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("X-Forwarded-For", from)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var body struct {
		Failure string `bencode:"failure reason"`
		Peers   string `bencode:"peers"`
	}
	if err := bencode.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, err
	}
	if body.Failure != "" {
		return nil, errors.New(body.Failure)
	}
	var out []netip.AddrPort
	for p := []byte(body.Peers); len(p) >= 6; p = p[6:] {
		out = append(out, netip.AddrPortFrom(netip.AddrFrom4([4]byte(p[:4])), bin.BigEndian.Uint16(p[4:6])))
	}
	return out, nil
}

// TestCluster runs three nodes on one PostgreSQL behind a round-robin load balancer: the origin
// sees one download, two nodes seed it (the second replicated it over BitTorrent), a peer
// announced to one node is handed out by another, a libtorrent listener downloads from a replica after a
// seeder is killed and the origin is off, and is counted once; a restarted node fetches nothing
// from the origin and seeds its assignments again.
func TestCluster(t *testing.T) {
	python := requireTool(t, "/usr/bin/python3", "-c", "import libtorrent")
	pg := startPostgres(t)
	dsn := pg.NewDatabase(t)
	o := newOrigin(t, 1, 2<<20)
	nodes, lbURL := startCluster(t, 3, dsn, feedEntry{"show", o.feedURL()})
	media := o.episodes[0].Path
	var feedTorrent string
	waitFor(t, 60*time.Second, "the episode in the feed behind the load balancer", func() error {
		resp, err := http.Get(lbURL + "/feeds/show.rss")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		f, err := gofeed.NewParser().Parse(resp.Body)
		if err != nil {
			return err
		}
		if u := torrentURLs(f)[o.episodes[0].GUID]; u != "" {
			feedTorrent = u
			return nil
		}
		return errors.New("not yet")
	})
	mi := fetchTorrent(t, feedTorrent) // served by whichever node the balancer picks
	ih := mi.HashInfoBytes()

	// Two replicas: the second node gets the bytes from the first over BitTorrent.
	waitFor(t, 60*time.Second, "two nodes seeding the episode", func() error {
		seeding, err := nodes[0].seedingByNode()
		if err != nil {
			return err
		}
		total := 0
		for _, n := range seeding {
			total += n
		}
		if len(seeding) != 3 || total != 2 {
			return fmt.Errorf("seeding by node: %v", seeding)
		}
		return nil
	})
	if n := o.hitCount(media); n != 1 {
		t.Fatalf("the origin served the episode %d times, want once for the cluster", n)
	}
	// A node's replica is not a listener's download.
	scrapesEvery(t, nodes, ih, 0)

	// A peer announced to node 1 is handed out by node 2.
	waitFor(t, 30*time.Second, "node 2 handing out a peer announced to node 1", func() error {
		if _, err := nodes[0].announcePeers(t, ih, "-qB4650-mesh00000001", "127.0.5.9", 6881, 100); err != nil {
			return err
		}
		peers, err := nodes[1].announcePeers(t, ih, "-TR4050-mesh00000002", "127.0.5.10", 6882, 100)
		if err != nil {
			return err
		}
		for _, p := range peers {
			if p == netip.MustParseAddrPort("127.0.5.9:6881") {
				return nil
			}
		}
		return fmt.Errorf("node 2's peers: %v", peers)
	})

	// Kill one seeder, turn the origin's media off: a listener still completes from the replica.
	seeding, err := nodes[0].seedingByNode()
	if err != nil {
		t.Fatal(err)
	}
	var victim *gateway
	for i, g := range nodes {
		if seeding[fmt.Sprintf("n%d", i+1)] == 1 {
			victim = g
			break
		}
	}
	victim.kill9()
	o.serveMedia.Store(false)
	// A libtorrent listener (web seeds removed, only the tracker behind the balancer to find peers).
	dir := t.TempDir()
	torrent := filepath.Join(dir, "episode.torrent")
	writeTorrent(t, torrent, mi)
	ltDir := filepath.Join(dir, "lt")
	os.MkdirAll(ltDir, 0o755)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	out, err := exec.CommandContext(ctx, python, "testdata/lt_download.py", torrent, ltDir, "50").CombinedOutput()
	cancel()
	if err != nil {
		t.Fatalf("libtorrent from the replica: %v\n%s", err, out)
	}
	entries, _ := os.ReadDir(ltDir)
	if len(entries) == 0 {
		t.Fatalf("nothing downloaded into %s", ltDir)
	}
	checkFile(t, filepath.Join(ltDir, entries[0].Name()), o.episodes[0].Body, ltDir)
	var survivors []*gateway
	for _, g := range nodes {
		if g != victim {
			survivors = append(survivors, g)
		}
	}
	waitFor(t, 30*time.Second, "every live node to count the download once", func() error {
		for _, g := range survivors {
			_, _, downloaded, err := g.scrape(ih)
			if err != nil {
				return err
			}
			if downloaded != 1 {
				return fmt.Errorf("node %s scrapes %d downloads", g.baseURL(), downloaded)
			}
		}
		return nil
	})

	// The dead node's place is taken: the third node replicates, so two live nodes seed again.
	waitFor(t, 60*time.Second, "two live nodes seeding after the kill", func() error {
		seeding, err := survivors[0].seedingByNode()
		if err != nil {
			return err
		}
		total := 0
		for _, n := range seeding {
			total += n
		}
		if len(seeding) != 2 || total != 2 {
			return fmt.Errorf("seeding by live node: %v", seeding)
		}
		return nil
	})

	// The stand-in's replica is no download either.
	scrapesEvery(t, survivors, ih, 1)

	// The killed node comes back: nothing from the origin (it is off anyway), its assignments seeded.
	o.serveMedia.Store(true)
	victim.start()
	waitFor(t, 60*time.Second, "the restarted node seeding its assignments", func() error {
		st, err := victim.clusterStatus()
		if err != nil {
			return err
		}
		alive := 0
		for _, n := range st.Nodes {
			if n.Alive {
				alive++
			}
		}
		// The node that stood in keeps seeding for its grace period; the restarted one seeds
		// exactly what it is assigned.
		for i, g := range nodes {
			if g != victim {
				continue
			}
			for _, n := range st.Nodes {
				if n.Name == fmt.Sprintf("n%d", i+1) && alive == 3 && n.Alive && n.Seeding == n.Assigned {
					return nil
				}
			}
		}
		return fmt.Errorf("nodes: %+v", st.Nodes)
	})
	if n := o.hitCount(media); n != 1 {
		t.Fatalf("the origin served the episode %d times, want once", n)
	}
	scrapesEvery(t, nodes, ih, 1)
}

// scrapesEvery fails unless each node's scrape of ih says want downloads.
func scrapesEvery(t *testing.T, nodes []*gateway, ih metainfo.Hash, want int64) {
	t.Helper()
	for _, g := range nodes {
		_, _, downloaded, err := g.scrape(ih)
		if err != nil {
			t.Fatal(err)
		}
		if downloaded != want {
			t.Fatalf("node %s scrapes %d downloads, want %d", g.baseURL(), downloaded, want)
		}
	}
}

// TestClusterNodeDiesMidDownload: the node downloading an episode is killed; once its poll lease
// expires another node polls the feed and finishes the episode (downloading it again: the part
// was on the dead node's disk), and it is published once.
func TestClusterNodeDiesMidDownload(t *testing.T) {
	pg := startPostgres(t)
	dsn := pg.NewDatabase(t)
	o := newOrigin(t, 1, 1<<20)
	o.episodes[0].Body = bytes.Repeat([]byte("seedcast"), 512<<10) // 4 MiB
	o.throttle.Store(1 << 20)                                      // ~1 MiB/s: the kill lands mid-download
	nodes, _ := startCluster(t, 2, dsn, feedEntry{"show", o.feedURL()})
	var downloader *gateway
	waitFor(t, 60*time.Second, "a node downloading the episode", func() error {
		for _, g := range nodes {
			st, err := g.status()
			if err != nil {
				return err
			}
			if len(st) == 1 && len(st[0].Downloading) == 1 && st[0].Downloading[0].Bytes > 0 {
				downloader = g
				return nil
			}
		}
		return errors.New("no download yet")
	})
	downloader.kill9()
	o.throttle.Store(0)
	var other *gateway
	for _, g := range nodes {
		if g != downloader {
			other = g
		}
	}
	f := other.waitPublished("show", 1, 90*time.Second)
	mi := fetchTorrent(t, torrentURLs(f)[o.episodes[0].GUID])
	downloadOnce(t, mi, o.episodes[0].Body)
	if n := o.hitCount(o.episodes[0].Path); n != 2 {
		t.Errorf("the origin saw %d downloads, want 2: the killed node's and the one that finished it", n)
	}
}
