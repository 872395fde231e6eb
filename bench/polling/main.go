// Command polling measures target 5 (polling at scale): N feeds on one local origin polled by the
// real worker (worker.New, SQLite store in a temp dir, safehttp client allowing loopback, no
// seeder or tracker); with -nodes N, N workers (nodes) on one PostgreSQL started here, each
// polling every feed, as a cluster's schedules fire together. For each concurrency setting it runs three rounds, each polling every feed
// at once as the scheduler does when their crons fire together:
//
//	initial   every feed answers 200 (first fetch, stored)
//	304       nothing changed: every feed must answer 304
//	changed   1% of feeds changed: only those may answer 200
//
// and prints the round's wall time, the origin's 200 and 304 counts, and the most requests the
// origin saw in flight at once. Run through bench/polling.sh.
package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/seedcast/seedcast/safehttp"
	"github.com/seedcast/seedcast/store"
	"github.com/seedcast/seedcast/store/postgres"
	"github.com/seedcast/seedcast/store/postgres/pgtest"
	"github.com/seedcast/seedcast/store/sqlite"
	"github.com/seedcast/seedcast/worker"
)

func main() {
	n := flag.Int("feeds", 1000, "number of feeds")
	items := flag.Int("items", 20, "items per feed")
	changedPct := flag.Float64("changed", 1, "percent of feeds changed in the last round")
	delay := flag.Duration("delay", 0, "origin latency added to every response (a remote origin's round trip)")
	settings := flag.String("limits", "16/4,16/16,64/64", "comma-separated MaxPolls/MaxPollsPerHost pairs")
	nodes := flag.Int("nodes", 0, "poll with this many nodes on one PostgreSQL store (started here) instead of one worker on SQLite")
	flag.Parse()
	ctx := context.Background()
	fmt.Printf("feeds=%d items=%d delay=%s cores=%d load=%s\n", *n, *items, *delay, runtime.NumCPU(), loadAvg())
	for _, s := range strings.Split(*settings, ",") {
		g, h, ok := strings.Cut(s, "/")
		maxPolls, err1 := strconv.Atoi(g)
		perHost, err2 := strconv.Atoi(h)
		if !ok || err1 != nil || err2 != nil {
			fmt.Fprintf(os.Stderr, "polling: bad -limits entry %q\n", s)
			os.Exit(2)
		}
		if err := run(ctx, *n, *items, *delay, *changedPct, maxPolls, perHost, *nodes); err != nil {
			fmt.Fprintln(os.Stderr, "polling:", err)
			os.Exit(1)
		}
	}
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil || len(strings.Fields(string(b))) < 3 {
		return "?"
	}
	return strings.Join(strings.Fields(string(b))[:3], " ")
}

func run(ctx context.Context, n, items int, delay time.Duration, changedPct float64, maxPolls, perHost, nodes int) error {
	dir, err := os.MkdirTemp("", "seedcast-polling-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	o := newOrigin(n, items, delay)
	srv := httptest.NewServer(o)
	defer srv.Close()

	// One worker on SQLite, or one per node on a shared PostgreSQL: every node's schedule fires
	// for every feed; the leases and MinGap leave one poll per feed per round.
	open := func() (store.Store, error) { return sqlite.Open(ctx, filepath.Join(dir, "seedcast.db")) }
	if nodes > 0 {
		pg, err := pgtest.Start()
		if err != nil {
			return err
		}
		defer pg.Stop()
		if err := createDatabase(pg.DSN("postgres"), "polling"); err != nil {
			return err
		}
		open = func() (store.Store, error) { return postgres.Open(ctx, pg.DSN("polling")) }
	}
	var ws []*worker.Worker
	for i := range max(nodes, 1) {
		st, err := open()
		if err != nil {
			return err
		}
		defer st.Close()
		client := safehttp.NewClient(safehttp.Options{AllowPrivate: true, Timeout: 60 * time.Second})
		cfg := worker.Config{DataDir: filepath.Join(dir, fmt.Sprint(i)), MaxPolls: maxPolls, MaxPollsPerHost: perHost}
		if nodes > 0 {
			cfg.NodeName, cfg.LeaseTTL = fmt.Sprintf("node%d", i+1), time.Minute
		}
		ws = append(ws, worker.New(cfg, st, worker.Clients{Feed: client, Media: client, MaxFeed: 20 << 20},
			nil, nil, slog.New(slog.DiscardHandler)))
	}
	fs := make([]worker.Feed, n)
	for i := range fs {
		fs[i] = worker.Feed{Slug: fmt.Sprintf("feed-%04d", i), URL: fmt.Sprintf("%s/feeds/%d.xml", srv.URL, i),
			MinGap: time.Minute}
	}

	storeName := "sqlite"
	if nodes > 0 {
		storeName = "postgres"
	}
	fmt.Printf("store=%s nodes=%d MaxPolls=%d MaxPollsPerHost=%d\n", storeName, len(ws), maxPolls, perHost)
	for _, round := range []string{"initial", "304", "changed"} {
		want200 := n
		switch round {
		case "304":
			want200 = 0
		case "changed":
			want200 = int(float64(n) * changedPct / 100)
			for i := range want200 {
				o.bump(i * (n / max(want200, 1)))
			}
		}
		o.reset()
		start := time.Now()
		var errs []error
		var mu sync.Mutex
		var wg sync.WaitGroup
		for _, w := range ws {
			wg.Go(func() {
				e := pollAll(ctx, w, fs)
				mu.Lock()
				errs = append(errs, e...)
				mu.Unlock()
			})
		}
		wg.Wait()
		took := time.Since(start)
		ok, notMod, peak := o.counts()
		fmt.Printf("  round=%-8s took=%6.2fs  200=%4d 304=%4d  peak_in_flight=%d  errors=%d\n",
			round, took.Seconds(), ok, notMod, peak, len(errs))
		if len(errs) > 0 {
			return fmt.Errorf("round %s: %d polls failed, first: %w", round, len(errs), errs[0])
		}
		if ok != want200 || ok+notMod != n {
			return fmt.Errorf("round %s: origin answered 200 %d times and 304 %d times, want %d and %d",
				round, ok, notMod, want200, n-want200)
		}
	}
	return nil
}

// pollAll starts every feed's poll at once and lets the worker's limits queue them.
func pollAll(ctx context.Context, w *worker.Worker, fs []worker.Feed) []error {
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	for _, f := range fs {
		wg.Go(func() {
			if err := w.Poll(ctx, f); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return errs
}

// origin serves /feeds/{i}.xml with a strong ETag per version, answering 304 to a matching
// If-None-Match, and counts what it answered and how many requests overlapped.
type origin struct {
	items int
	delay time.Duration

	mu      sync.Mutex
	version []int

	inFlight, peak, ok, notMod atomic.Int64
}

func newOrigin(n, items int, delay time.Duration) *origin {
	return &origin{items: items, delay: delay, version: make([]int, n)}
}

func (o *origin) bump(i int) {
	o.mu.Lock()
	o.version[i]++
	o.mu.Unlock()
}

func (o *origin) reset() {
	o.peak.Store(0)
	o.ok.Store(0)
	o.notMod.Store(0)
}

func (o *origin) counts() (ok, notMod, peak int) {
	return int(o.ok.Load()), int(o.notMod.Load()), int(o.peak.Load())
}

func (o *origin) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	cur := o.inFlight.Add(1)
	defer o.inFlight.Add(-1)
	for {
		p := o.peak.Load()
		if cur <= p || o.peak.CompareAndSwap(p, cur) {
			break
		}
	}
	if o.delay > 0 {
		// Simulated network latency, not a timing assertion.
		time.Sleep(o.delay)
	}
	name, found := strings.CutPrefix(r.URL.Path, "/feeds/")
	name, found2 := strings.CutSuffix(name, ".xml")
	i, err := strconv.Atoi(name)
	o.mu.Lock()
	valid := found && found2 && err == nil && i >= 0 && i < len(o.version)
	v := 0
	if valid {
		v = o.version[i]
	}
	o.mu.Unlock()
	if !valid {
		http.NotFound(rw, r)
		return
	}
	etag := fmt.Sprintf(`"f%d-v%d"`, i, v)
	rw.Header().Set("ETag", etag)
	if r.Header.Get("If-None-Match") == etag {
		o.notMod.Add(1)
		rw.WriteHeader(http.StatusNotModified)
		return
	}
	o.ok.Add(1)
	rw.Header().Set("Content-Type", "application/rss+xml")
	fmt.Fprint(rw, o.feed(i, v))
}

// feed is a small RSS document; version v adds v newer items, as a show publishing would.
// Items have no enclosures so that a round measures polling, not downloading.
func (o *origin) feed(i, v int) string {
	var b strings.Builder
	fmt.Fprintf(&b, `<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd"><channel>
<title>Show %d</title><link>https://example.com/%d</link><description>Bench show %d</description>
`, i, i, i)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for j := o.items + v - 1; j >= 0; j-- {
		fmt.Fprintf(&b, `<item><guid isPermaLink="false">urn:show:%d:%d</guid><title>Episode %d</title>
<pubDate>%s</pubDate><description>Notes for episode %d of show %d, with enough text to parse.</description>
<itunes:duration>%d</itunes:duration></item>
`, i, j, j, t0.Add(time.Duration(j)*24*time.Hour).Format(time.RFC1123Z), j, i, 1800+j)
	}
	b.WriteString("</channel></rss>\n")
	return b.String()
}

func createDatabase(adminDSN, name string) error {
	db, err := sql.Open("pgx", adminDSN)
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = db.Exec("CREATE DATABASE " + name)
	return err
}
