// Command stores measures issue 13's goal: a 100,000-episode store on PostgreSQL within 1.5 × of
// SQLite for what a gateway reads from it. It builds the store once in SQLite through the store
// contract (SaveChannel per feed, Publish per episode, completions and scrape snapshots, all at a
// fixed time), copies it into a throwaway PostgreSQL (pgtest) with sqldb.Copy, then times on both
// drivers, interleaved, -runs times:
//
//	render   GET /feeds/{slug}.rss of one feed on a new publisher (the first render after a start)
//	cached   the same GET again: one FeedVersion read, then the cached bytes
//	304      the same GET with If-None-Match: what a podcast app polling the feed sends
//	report   report.Load for that feed (as seedcast report and /reports/ do)
//	torrents st.Torrents: every torrent, what worker.Restore reads before seeding starts
//
// and prints the median of each, per driver, and the ratio postgres / sqlite.
//
//	go run ./bench/stores [-feeds 200] [-episodes 500] [-runs 7] [-dir DIR] [-batched] [-explain] [-cpuprofile F]
//
// -dir keeps the SQLite file, so a second run skips the population (about a minute on tmpfs); the
// copy into PostgreSQL (another minute or so) is made anew each run. Results: docs/BENCHMARKS.md,
// "Issue 13".
package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver, for VACUUM and EXPLAIN

	"github.com/seedcast/seedcast/publisher"
	"github.com/seedcast/seedcast/report"
	"github.com/seedcast/seedcast/store"
	"github.com/seedcast/seedcast/store/postgres"
	"github.com/seedcast/seedcast/store/postgres/pgtest"
	"github.com/seedcast/seedcast/store/sqldb"
	"github.com/seedcast/seedcast/store/sqlite"
)

// now is the fixed "present" of the whole benchmark: the population is dated before it and the
// report is computed at it, so every run reads the same rows.
var now = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

const embedded = "http://127.0.0.1:8080/announce"

func main() {
	feeds := flag.Int("feeds", 200, "number of feeds")
	episodes := flag.Int("episodes", 500, "episodes per feed, each published with a torrent")
	completions := flag.Int("completions", 2, "completions recorded per episode")
	runs := flag.Int("runs", 7, "interleaved runs per driver")
	requests := flag.Int("requests", 200, "cached and 304 requests per run (their mean is the run's figure)")
	dir := flag.String("dir", "", "where the SQLite file lives; kept and reused if given (default: a new temp dir, removed)")
	explain := flag.Bool("explain", false, "print PostgreSQL's EXPLAIN ANALYZE of the report's and the restart's queries")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the timed runs (both drivers) here")
	batched := flag.Bool("batched", false, "also time the report's reads as two queries per feed instead of two per episode")
	flag.Parse()
	if err := run(context.Background(), *feeds, *episodes, *completions, *runs, *requests, *dir, *explain, *batched, *cpuProfile); err != nil {
		fmt.Fprintln(os.Stderr, "stores:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, feeds, episodes, completions, runs, requests int, dir string, explain, batched bool, cpuProfile string) error {
	if dir == "" {
		// tmpfs when there is one: the population commits 100,000s of transactions with
		// synchronous(FULL), and what is measured afterwards reads from the page cache anyway.
		parent := ""
		if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
			parent = "/dev/shm"
		}
		d, err := os.MkdirTemp(parent, "seedcast-stores-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	fmt.Printf("feeds=%d episodes/feed=%d completions/episode=%d runs=%d cores=%d load=%s dir=%s\n",
		feeds, episodes, completions, runs, runtime.NumCPU(), loadAvg(), dir)

	lite, err := sqlite.Open(ctx, filepath.Join(dir, "seedcast.db"))
	if err != nil {
		return err
	}
	defer lite.Close()
	n, err := lite.FeedCount(ctx)
	if err != nil {
		return err
	}
	switch {
	case n == 0:
		start := time.Now()
		if err := populate(ctx, lite, feeds, episodes, completions); err != nil {
			return fmt.Errorf("populate: %w", err)
		}
		fmt.Printf("populated SQLite in %s\n", time.Since(start).Round(time.Second))
	case n != feeds:
		return fmt.Errorf("%s holds %d feeds, not %d: use another -dir", dir, n, feeds)
	default:
		fmt.Println("reusing the populated SQLite store")
	}
	ts, err := lite.Torrents(ctx)
	if err != nil {
		return err
	}
	if len(ts) != feeds*episodes {
		return fmt.Errorf("SQLite store has %d torrents, want %d", len(ts), feeds*episodes)
	}

	srv, err := pgtest.Start()
	if err != nil {
		return err
	}
	defer srv.Stop()
	dsn := srv.DSN("postgres")
	pg, err := postgres.Open(ctx, dsn)
	if err != nil {
		return err
	}
	defer pg.Close()
	start := time.Now()
	counts, err := sqldb.Copy(ctx, pg, lite)
	if err != nil {
		return err
	}
	fmt.Printf("copied to PostgreSQL in %s: %v\n", time.Since(start).Round(time.Millisecond), counts)
	// What autovacuum does within a minute or so of a bulk load: without statistics the planner
	// guesses, and without a visibility map no index-only scan is possible.
	raw, err := sql.Open("pgx", dsn)
	if err != nil {
		return err
	}
	defer raw.Close()
	start = time.Now()
	if _, err := raw.ExecContext(ctx, "VACUUM ANALYZE"); err != nil {
		return fmt.Errorf("vacuum analyze: %w", err)
	}
	fmt.Printf("VACUUM ANALYZE in %s\n", time.Since(start).Round(time.Millisecond))

	slug := feedSlug(feeds / 2)
	drivers := []struct {
		name string
		st   store.Store
	}{{"sqlite", lite}, {"postgres", pg}}
	// The same figures from both, or the comparison means nothing.
	var want string
	for _, d := range drivers {
		rep, err := report.Load(ctx, d.st, slug, embedded, report.DefaultCostPerGB, now)
		if err != nil {
			return fmt.Errorf("%s: %w", d.name, err)
		}
		got := fmt.Sprintf("%+v", rep.Totals)
		if want == "" {
			want = got
			fmt.Printf("report of %s: %d episodes, totals %s\n", slug, len(rep.Episodes), got)
		} else if got != want {
			return fmt.Errorf("%s report totals %s, sqlite %s", d.name, got, want)
		}
	}

	measures := []string{"render", "cached", "304", "report", "torrents"}
	took := map[string]map[string][]time.Duration{}
	for _, d := range drivers {
		took[d.name] = map[string][]time.Duration{}
	}
	if cpuProfile != "" {
		f, err := os.Create(cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
	}
	for r := range runs {
		for _, d := range drivers {
			m, err := measure(ctx, d.st, slug, feeds*episodes, requests)
			if err != nil {
				return fmt.Errorf("%s run %d: %w", d.name, r+1, err)
			}
			for k, v := range m {
				took[d.name][k] = append(took[d.name][k], v)
			}
		}
	}
	pprof.StopCPUProfile() // does nothing when none was started
	fmt.Printf("medians of %d interleaved runs (load %s); cached and 304 are per request\n", runs, loadAvg())
	fmt.Printf("%-9s %12s %12s %7s   %s\n", "", "sqlite", "postgres", "ratio", "postgres runs")
	for _, k := range measures {
		s, p := median(took["sqlite"][k]), median(took["postgres"][k])
		fmt.Printf("%-9s %12s %12s %6.2f×   %s\n", k, round(s), round(p), float64(p)/float64(s), list(took["postgres"][k]))
	}
	if batched {
		lraw, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "seedcast.db")+"?mode=ro&_pragma=busy_timeout(10000)")
		if err != nil {
			return err
		}
		defer lraw.Close()
		if err := timeBatched(ctx, lraw, raw, slug, runs); err != nil {
			return fmt.Errorf("batched: %w", err)
		}
	}
	if explain {
		return explainQueries(ctx, raw, slug)
	}
	return nil
}

// The report's per-episode reads (Completions, SnapshotsSince) as one query each for the whole
// feed: not in the store, a measure of what such a change would gain.
const (
	feedCompletions = `SELECT info_hash, at FROM completions WHERE info_hash IN
		(SELECT info_hash FROM episodes WHERE feed_slug = $1 AND info_hash != '') ORDER BY info_hash, at`
	feedSnapshotsSince = `SELECT tracker, info_hash, at, complete, incomplete, downloaded
		FROM snapshots AS s WHERE info_hash IN (SELECT info_hash FROM episodes WHERE feed_slug = $1 AND info_hash != '')
		AND at >= COALESCE(
			(SELECT MAX(at) FROM snapshots WHERE info_hash = s.info_hash AND tracker = s.tracker AND at <= $2), $2)
		ORDER BY info_hash, at, tracker`
)

// timeBatched runs the two per-feed queries on both databases, interleaved, and prints medians.
func timeBatched(ctx context.Context, lite, pg *sql.DB, slug string, runs int) error {
	since := now.Add(-report.Month).Unix()
	count := func(db *sql.DB, q string, args ...any) (int, error) {
		rows, err := db.QueryContext(ctx, q, args...)
		if err != nil {
			return 0, err
		}
		defer rows.Close()
		cols, err := rows.Columns()
		if err != nil {
			return 0, err
		}
		vals := make([]any, len(cols))
		for i := range vals {
			vals[i] = new(any)
		}
		n := 0
		for rows.Next() {
			if err := rows.Scan(vals...); err != nil {
				return 0, err
			}
			n++
		}
		return n, rows.Err()
	}
	took := map[string][]time.Duration{}
	rowCounts := map[string]string{}
	for range runs {
		for _, d := range []struct {
			name string
			db   *sql.DB
		}{{"sqlite", lite}, {"postgres", pg}} {
			start := time.Now()
			c, err := count(d.db, feedCompletions, slug)
			if err != nil {
				return fmt.Errorf("%s: %w", d.name, err)
			}
			sn, err := count(d.db, feedSnapshotsSince, slug, since)
			if err != nil {
				return fmt.Errorf("%s: %w", d.name, err)
			}
			took[d.name] = append(took[d.name], time.Since(start))
			rowCounts[d.name] = fmt.Sprintf("%d completions, %d snapshots", c, sn)
		}
	}
	if rowCounts["sqlite"] != rowCounts["postgres"] {
		return fmt.Errorf("rows differ: sqlite %s, postgres %s", rowCounts["sqlite"], rowCounts["postgres"])
	}
	s, p := median(took["sqlite"]), median(took["postgres"])
	fmt.Printf("report's reads as 2 queries per feed (%s): sqlite %s, postgres %s, %.2f×\n",
		rowCounts["sqlite"], round(s), round(p), float64(p)/float64(s))
	return nil
}

// measure times one run of every figure on st.
func measure(ctx context.Context, st store.Store, slug string, torrents, requests int) (map[string]time.Duration, error) {
	out := map[string]time.Duration{}
	// A new publisher has nothing cached: its first request renders, as after a restart.
	p := publisher.New(publisher.Config{PublicURL: "http://127.0.0.1:8080", Trackers: []string{embedded}}, st,
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	mux := http.NewServeMux()
	p.Routes(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	// Podcast apps ask for gzip; the client keeps the bytes as sent.
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	defer client.CloseIdleConnections()
	url := srv.URL + "/feeds/" + slug + ".rss"
	get := func(url, etag string, want int) (string, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return "", err
		}
		req.Header.Set("Accept-Encoding", "gzip")
		if etag != "" {
			req.Header.Set("If-None-Match", etag)
		}
		resp, err := client.Do(req)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		if _, err := io.Copy(io.Discard, resp.Body); err != nil {
			return "", err
		}
		if resp.StatusCode != want {
			return "", fmt.Errorf("GET %s: status %d, want %d", url, resp.StatusCode, want)
		}
		return resp.Header.Get("ETag"), nil
	}
	// A first connection outside the timing, so render is the rendering, not the dial: /feeds/x
	// names no flavour, so the publisher answers 404 without reading the store.
	if _, err := get(srv.URL+"/feeds/x", "", http.StatusNotFound); err != nil {
		return nil, err
	}
	start := time.Now()
	etag, err := get(url, "", http.StatusOK)
	if err != nil {
		return nil, err
	}
	out["render"] = time.Since(start)
	start = time.Now()
	for range requests {
		if _, err := get(url, "", http.StatusOK); err != nil {
			return nil, err
		}
	}
	out["cached"] = time.Since(start) / time.Duration(requests)
	start = time.Now()
	for range requests {
		if _, err := get(url, etag, http.StatusNotModified); err != nil {
			return nil, err
		}
	}
	out["304"] = time.Since(start) / time.Duration(requests)

	start = time.Now()
	if _, err := report.Load(ctx, st, slug, embedded, report.DefaultCostPerGB, now); err != nil {
		return nil, err
	}
	out["report"] = time.Since(start)

	start = time.Now()
	ts, err := st.Torrents(ctx)
	if err != nil {
		return nil, err
	}
	out["torrents"] = time.Since(start)
	if len(ts) != torrents {
		return nil, fmt.Errorf("torrents: %d, want %d", len(ts), torrents)
	}
	return out, nil
}

func feedSlug(i int) string { return fmt.Sprintf("show-%03d", i) }

func infoHash(feed, ep, episodes int) string { return fmt.Sprintf("%040x", feed*episodes+ep+1) }

// populate builds the store the way a gateway would have over the years: each feed's first poll
// stores its episodes, each episode is then published with its torrent, listeners complete
// downloads on different days and the scraper records three rounds on two trackers (one round
// older than the report's month, so the report also looks up the snapshot before its window).
func populate(ctx context.Context, st store.Store, feeds, episodes, completions int) error {
	notes := strings.Repeat("Show notes with <b>some</b> length & links. ", 12)
	trackers := []string{embedded, "udp://tracker.example.org:1337/announce"}
	rounds := []time.Duration{40 * 24 * time.Hour, 10 * 24 * time.Hour, time.Hour}
	lastReport := time.Now()
	for f := range feeds {
		slug := feedSlug(f)
		first := now.Add(-time.Duration(episodes) * 24 * time.Hour)
		feed := store.Feed{Slug: slug, URL: "https://example.com/" + slug + ".xml", Title: "Show " + slug,
			Link: "https://example.com/" + slug, Description: "A show for benchmarks", Language: "en"}
		if err := st.EnsureFeed(ctx, slug, feed.URL); err != nil {
			return err
		}
		eps := make([]store.Episode, episodes)
		for i := range eps {
			key := fmt.Sprintf("guid:%s:%d", slug, i)
			eps[i] = store.Episode{
				FeedSlug: slug, Key: key, ItemKey: key, Position: i,
				GUID: fmt.Sprintf("urn:bench:%s:%d", slug, i), Title: fmt.Sprintf("Episode %d", episodes-i),
				Link:            fmt.Sprintf("https://example.com/%s/%d", slug, i),
				Description:     notes,
				Published:       now.Add(-time.Duration(i) * 24 * time.Hour),
				Extra:           fmt.Sprintf("<itunes:duration>%d</itunes:duration>", 1800+i),
				EnclosureURL:    fmt.Sprintf("https://example.com/media/%s/%d.mp3", slug, i),
				EnclosureType:   "audio/mpeg",
				EnclosureLength: 40_000_000 + int64(i),
			}
		}
		if err := st.SaveChannel(ctx, feed, eps, first); err != nil {
			return err
		}
		snaps := make([]store.Snapshot, 0, episodes*len(trackers))
		for i, e := range eps {
			ih := infoHash(f, i, episodes)
			err := st.Publish(ctx, slug, e.Key, store.Publication{
				InfoHash: ih, TorrentPath: "torrents/" + ih + ".torrent", TorrentSize: 4000,
				TorrentSHA256: strings.Repeat("cd", 32),
				MediaPath:     fmt.Sprintf("media/%s/%d.mp3", slug, i), MediaSize: e.EnclosureLength,
				SHA256: strings.Repeat("ab", 32), At: e.Published.Add(time.Hour),
			})
			if err != nil {
				return err
			}
			for c := range completions {
				listener := fmt.Sprintf("listener-%d", c)
				if _, err := st.RecordCompletion(ctx, ih, listener, now.Add(-time.Duration(c+1)*25*time.Hour)); err != nil {
					return err
				}
			}
		}
		for r, ago := range rounds {
			snaps = snaps[:0]
			for i := range eps {
				for _, tr := range trackers {
					snaps = append(snaps, store.Snapshot{Tracker: tr, InfoHash: infoHash(f, i, episodes), At: now.Add(-ago),
						Complete: int64(r + 1), Incomplete: int64(i % 3), Downloaded: int64(3 * (r + 1))})
				}
			}
			if err := st.AddSnapshots(ctx, snaps); err != nil {
				return err
			}
		}
		if time.Since(lastReport) > 30*time.Second {
			fmt.Printf("  %d/%d feeds\n", f+1, feeds)
			lastReport = time.Now()
		}
	}
	return nil
}

// explainQueries prints PostgreSQL's plans and timings of the queries the report runs once per
// episode and the restart's one query, to show where a ratio's time goes.
func explainQueries(ctx context.Context, db *sql.DB, slug string) error {
	var ih string
	if err := db.QueryRowContext(ctx, "SELECT info_hash FROM episodes WHERE feed_slug=$1 AND info_hash != '' LIMIT 1", slug).Scan(&ih); err != nil {
		return err
	}
	since := now.Add(-report.Month).Unix()
	queries := []struct {
		sql  string
		args []any
	}{
		{"SELECT at FROM completions WHERE info_hash=$1 ORDER BY at", []any{ih}},
		{`SELECT tracker, info_hash, at, complete, incomplete, downloaded
		FROM snapshots AS s WHERE info_hash = $1 AND at >= COALESCE(
			(SELECT MAX(at) FROM snapshots WHERE info_hash = s.info_hash AND tracker = s.tracker AND at <= $2), $2)
		ORDER BY at, tracker`, []any{ih, since}},
		{`SELECT feed_slug, key, info_hash, torrent_path, torrent_size,
		torrent_sha256, media_path, media_size, enclosure_url, title, published_at, evicted_at != 0, unsynced_boot
		FROM episodes WHERE state IN ('published', 'superseded') AND info_hash != ''
		ORDER BY feed_slug, position`, nil},
	}
	for _, q := range queries {
		rows, err := db.QueryContext(ctx, "EXPLAIN (ANALYZE, BUFFERS) "+q.sql, q.args...)
		if err != nil {
			return fmt.Errorf("explain: %w", err)
		}
		fmt.Println("--")
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				rows.Close()
				return err
			}
			fmt.Println(line)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	return nil
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func list(ds []time.Duration) string {
	var parts []string
	for _, d := range ds {
		parts = append(parts, round(d).String())
	}
	return strings.Join(parts, " ")
}

// round keeps three significant figures or so, enough to read a ratio.
func round(d time.Duration) time.Duration {
	switch {
	case d > 100*time.Millisecond:
		return d.Round(time.Millisecond)
	case d > 100*time.Microsecond:
		return d.Round(time.Microsecond)
	}
	return d
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Join(strings.Fields(string(b))[:3], " ")
}
