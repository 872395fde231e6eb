package report

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/json"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/seedcast/seedcast/store"
	"github.com/seedcast/seedcast/store/sqlite"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

var now = time.Date(2026, 3, 31, 12, 0, 0, 0, time.UTC)

const (
	embedded = "http://127.0.0.1:8080/announce"
	external = "udp://tracker.example:6969/announce"
	hashOne  = "1111111111111111111111111111111111111111"
	hashTwo  = "2222222222222222222222222222222222222222"
	hashOld  = "3333333333333333333333333333333333333333"
)

func ago(d time.Duration) time.Time { return now.Add(-d) }

// fixture: episode one, released 40 days ago, downloaded at known ages;
// episode two released 3 days ago and its enclosure replaced a day later: its
// first torrent (superseded, its media since evicted) still has completions,
// and comes first as the store lists it (by its old position). A hostile
// title checks escaping.
func fixture() Input {
	return Input{
		Feed:      store.Feed{Slug: "show", Title: "The <Show> & Co"},
		Embedded:  embedded,
		CostPerGB: 0.05,
		Now:       now,
		Episodes: []EpisodeInput{
			{
				Episode: store.Episode{ItemKey: "i2", Key: "i2@" + hashOld, Position: 0, State: store.StateSuperseded,
					GUID: "g2", Title: "Two (old title)", InfoHash: hashOld,
					Published: ago(3 * Day), PublishedAt: ago(3 * Day), EvictedAt: ago(Day), MediaSize: 1_000_000},
				SeedboxBytes: 4_000_000, // more than its downloads took: the share is 0, not negative
				Completions:  []time.Time{ago(3*Day - time.Hour), ago(2*Day + 6*time.Hour), ago(30 * time.Minute)},
				Snapshots: []store.Snapshot{
					{Tracker: embedded, At: ago(2 * time.Hour), Complete: 1, Downloaded: 3},
					{Tracker: external, At: ago(2*Day + time.Hour), Downloaded: 2},
					{Tracker: external, At: ago(time.Hour), Complete: 1, Downloaded: 5},
				},
				CompletionEvents: 4,
				Audience: []store.AudienceCount{
					{Day: "2026-03-28", Kind: store.ListenStart, Client: "WebTorrent", Country: "unknown", N: 2},
					{Day: "2026-03-28", Kind: store.ListenDownload, Client: "WebTorrent", Country: "unknown", N: 1},
				},
				Listens: []store.Listen{listen("L1", 30*time.Minute), listen("L4", 2*Day+6*time.Hour)},
			},
			{
				Episode: store.Episode{ItemKey: "i1", Key: "i1", Position: 0, State: store.StatePublished,
					GUID: "g1", Title: "=cmd|' /C calc'!A0", InfoHash: hashOne,
					Published: ago(40 * Day), PublishedAt: ago(40 * Day), MediaSize: 2_000_000_000},
				SeedboxBytes: 3_000_000_000,
				Completions: []time.Time{ago(35 * Day), ago(29 * Day), ago(6 * Day), ago(23 * time.Hour),
					ago(time.Minute), now.Add(time.Hour) /* future: ignored */},
				Snapshots: []store.Snapshot{
					{Tracker: embedded, At: ago(2 * time.Hour), Complete: 3, Incomplete: 1, Downloaded: 4},
					{Tracker: embedded, At: ago(time.Hour), Complete: 4, Incomplete: 0, Downloaded: 5},
					{Tracker: external, At: ago(31 * Day), Downloaded: 10},
					{Tracker: external, At: ago(8 * Day), Downloaded: 15},
					{Tracker: external, At: ago(2 * Day), Downloaded: 3}, // reset: tracker restarted
					{Tracker: external, At: ago(time.Hour), Complete: 2, Incomplete: 1, Downloaded: 7},
				},
				CompletionEvents: 7,
				Audience: []store.AudienceCount{
					{Day: "2026-03-02", Kind: store.ListenDownload, Client: "libtorrent", Country: "unknown", N: 1},
					{Day: "2026-03-25", Kind: store.ListenStart, Client: "aria2", Country: "DE", N: 5},
					{Day: "2026-03-25", Kind: store.ListenDownload, Client: "aria2", Country: "DE", N: 1},
					{Day: "2026-03-31", Kind: store.ListenStart, Client: "qBittorrent", Country: "FR", N: 3},
					{Day: "2026-03-31", Kind: store.ListenDownload, Client: "qBittorrent", Country: "FR", N: 2},
					{Day: "2026-04-01", Kind: store.ListenStart, Client: "qBittorrent", Country: "FR", N: 9}, // future: ignored
				},
				// L1 on two days is one listener over 7 days; L3 only within 30.
				Listens: []store.Listen{listen("L3", 29*Day), listen("L1", 6*Day), listen("L1", 23*time.Hour),
					listen("L2", time.Minute), listen("L9", -time.Hour) /* future: ignored */},
			},
			{
				Episode: store.Episode{ItemKey: "i2", Key: "i2", Position: 1, State: store.StatePublished,
					GUID: "g2", Title: `Two <script>alert("x")</script>`, InfoHash: hashTwo,
					Published: ago(3 * Day), PublishedAt: ago(2 * Day), MediaSize: 1_500_000},
				Completions: []time.Time{ago(Day + 2*time.Hour), ago(2*Day - time.Hour)},
				Snapshots: []store.Snapshot{
					{Tracker: external, At: ago(Day + time.Hour), Downloaded: 4},
				},
				CompletionEvents: 2,
				Audience: []store.AudienceCount{
					{Day: "2026-03-29", Kind: store.ListenStart, Client: "Transmission", Country: "DE", N: 4},
					{Day: "2026-03-30", Kind: store.ListenDownload, Client: "Transmission", Country: "DE", N: 2},
				},
				// L4 also downloaded the superseded torrent: one listener of the item.
				Listens: []store.Listen{listen("L4", Day+2*time.Hour)},
			},
		},
	}
}

func listen(who string, age time.Duration) store.Listen {
	return store.Listen{Kind: store.ListenDownload, Listener: who, At: ago(age)}
}

func TestWindowsOnFixedClock(t *testing.T) {
	r := Build(fixture())
	if len(r.Episodes) != 2 || r.Episodes[0].GUID != "g1" || r.Episodes[1].GUID != "g2" {
		t.Fatalf("episodes = %+v, want g1 then g2 (the superseded row placed by its episode's current one)", r.Episodes)
	}
	one, two := r.Episodes[0], r.Episodes[1]
	if one.Downloads != 5 || one.Downloads24h != 2 || one.Downloads7d != 3 || one.Downloads30d != 4 {
		t.Errorf("episode one downloads = %d/%d/%d/%d, want 5/2/3/4", one.Downloads, one.Downloads24h, one.Downloads7d, one.Downloads30d)
	}
	// Episode two: 2 on its current torrent + 3 on the superseded one.
	if two.Downloads != 5 || two.Downloads24h != 1 || two.Downloads7d != 5 || two.Downloads30d != 5 {
		t.Errorf("episode two downloads = %d/%d/%d/%d, want 5/1/5/5", two.Downloads, two.Downloads24h, two.Downloads7d, two.Downloads30d)
	}
	if r.Totals.Downloads != 10 || r.Totals.Downloads24h != 3 || r.Totals.Downloads7d != 8 || r.Totals.Downloads30d != 9 {
		t.Errorf("totals = %+v, want 10/3/8/9", r.Totals)
	}
	if one.Seeders != 4 || one.Leechers != 0 {
		t.Errorf("seeders/leechers = %d/%d, want the embedded tracker's last scrape 4/0", one.Seeders, one.Leechers)
	}
	if len(one.Trackers) != 2 || one.Trackers[0].URL != embedded || !one.Trackers[0].Embedded || one.Trackers[1].URL != external {
		t.Fatalf("trackers = %+v, want embedded then external", one.Trackers)
	}
	ext := one.Trackers[1]
	// 30d: baseline 10 (31 days ago) -> 15 (+5) -> reset to 3 (+3) -> 7 (+4) = 12.
	// 7d: baseline 15 (8 days ago) -> 3 (+3) -> 7 (+4) = 7. 24h: 3 -> 7 = 4.
	if ext.Downloaded != 7 || ext.Downloaded24h != 4 || ext.Downloaded7d != 7 || ext.Downloaded30d != 12 || ext.Complete != 2 {
		t.Errorf("external tracker = %+v", ext)
	}
	if len(two.Torrents) != 2 {
		t.Fatalf("episode two torrents = %+v, want the current and the superseded one", two.Torrents)
	}
	cur, old := two.Torrents[0], two.Torrents[1]
	if cur.InfoHash != hashTwo || cur.State != TorrentCurrent || !cur.EvictedAt.IsZero() || cur.Downloads != 2 ||
		old.InfoHash != hashOld || old.State != TorrentSuperseded || !old.EvictedAt.Equal(ago(Day)) || old.Downloads != 3 ||
		old.Downloads24h != 1 || !old.PublishedAt.Equal(ago(3*Day)) {
		t.Errorf("episode two torrents = %+v", two.Torrents)
	}
	if two.InfoHash != hashTwo || two.Title != `Two <script>alert("x")</script>` || two.Seeders != 1 {
		t.Errorf("episode two = %+v, want the current torrent's hash and title, the old torrent's seeder", two)
	}
	// The current torrent's only scrape is its first: published 2 days ago,
	// so its 7d and 30d baselines are zero; 24h has no baseline inside the
	// window. The superseded one adds 3 (24h), 5 (7d and 30d).
	if len(two.Trackers) != 2 || two.Trackers[0].URL != embedded || two.Trackers[1].URL != external {
		t.Fatalf("episode two trackers = %+v", two.Trackers)
	}
	if e, x := two.Trackers[0], two.Trackers[1]; e.Downloaded != 3 || e.Downloaded7d != 3 || e.Complete != 1 ||
		x.Downloaded != 9 || x.Downloaded24h != 3 || x.Downloaded7d != 9 || x.Downloaded30d != 9 || x.Complete != 1 ||
		!x.ScrapedAt.Equal(ago(time.Hour)) {
		t.Errorf("episode two trackers = %+v", two.Trackers)
	}
	if ext2 := cur.Trackers[0]; ext2.Downloaded7d != 4 || ext2.Downloaded30d != 4 || ext2.Downloaded24h != 0 {
		t.Errorf("episode two's current torrent, external = %+v", ext2)
	}
	if len(r.Daily) != ChartDays || r.Daily[ChartDays-1].Date != "2026-03-31" || r.Daily[ChartDays-1].Downloads != 2 {
		t.Errorf("daily tail = %+v", r.Daily[len(r.Daily)-1])
	}
	var sum int64
	for _, d := range r.Daily {
		sum += d.Downloads
	}
	if sum != 9 { // the 35-day-old completion is before the chart
		t.Errorf("chart sums to %d, want 9", sum)
	}
	if tt := r.Totals.Trackers; len(tt) != 2 || tt[0].URL != embedded || tt[0].Downloaded != 8 || tt[1].Downloaded != 16 {
		t.Errorf("tracker totals = %+v, want embedded 8, external 16", tt)
	}
}

// A torrent listed under two rows (the same bytes published again after a
// supersede) is one torrent: counted once, as the current one.
func TestSameTorrentTwiceCountedOnce(t *testing.T) {
	in := fixture()
	in.Episodes[0].Episode.InfoHash = hashTwo
	in.Episodes[0].Completions = in.Episodes[2].Completions
	r := Build(in)
	two := r.Episodes[1]
	if two.Downloads != 2 || len(two.Torrents) != 1 || two.Torrents[0].State != TorrentCurrent || r.Totals.Downloads != 7 {
		t.Errorf("episode two = %+v, totals %+v: want 2 downloads on one current torrent, 7 in all", two, r.Totals)
	}
}

func TestIncreaseEdges(t *testing.T) {
	s := func(age time.Duration, n int64) store.Snapshot { return store.Snapshot{At: ago(age), Downloaded: n} }
	for _, c := range []struct {
		name      string
		snaps     []store.Snapshot
		published time.Time
		want      int64
	}{
		{"no history", nil, time.Time{}, 0},
		{"baseline only", []store.Snapshot{s(2*Day, 5)}, time.Time{}, 0},
		{"growth", []store.Snapshot{s(2*Day, 5), s(time.Hour, 9)}, time.Time{}, 4},
		{"no baseline, old torrent: lower bound", []store.Snapshot{s(time.Hour*3, 5), s(time.Hour, 9)}, ago(10 * Day), 4},
		{"no baseline, new torrent: from zero", []store.Snapshot{s(time.Hour*3, 5), s(time.Hour, 9)}, ago(2 * time.Hour * 3), 9},
		{"reset to zero", []store.Snapshot{s(2*Day, 5), s(2*time.Hour, 0), s(time.Hour, 2)}, time.Time{}, 2},
		{"future ignored", []store.Snapshot{s(2*Day, 5), {At: now.Add(time.Hour), Downloaded: 50}}, time.Time{}, 0},
	} {
		if got := Increase(c.snaps, ago(Day), now, c.published); got != c.want {
			t.Errorf("%s: Increase = %d, want %d", c.name, got, c.want)
		}
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (run go test -update if intended)\ngot:\n%s", path, got)
	}
}

func TestJSONShape(t *testing.T) {
	var b bytes.Buffer
	if err := WriteJSON(&b, Build(fixture())); err != nil {
		t.Fatal(err)
	}
	golden(t, "report.json.golden", b.Bytes())
	var v struct {
		Feed        string
		GeneratedAt time.Time `json:"generated_at"`
		Episodes    []map[string]any
		Totals      map[string]any
	}
	if err := json.Unmarshal(b.Bytes(), &v); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"guid", "title", "published", "info_hash", "downloads", "downloads_24h",
		"downloads_7d", "downloads_30d", "seeders", "leechers", "trackers"} {
		if _, ok := v.Episodes[0][k]; !ok {
			t.Errorf("episode lacks %q", k)
		}
	}
	tr := v.Episodes[0]["trackers"].([]any)[1].(map[string]any)
	for _, k := range []string{"url", "complete", "incomplete", "downloaded", "scraped_at"} {
		if _, ok := tr[k]; !ok {
			t.Errorf("tracker lacks %q", k)
		}
	}
	ts := v.Episodes[1]["torrents"].([]any)
	if len(ts) != 2 {
		t.Fatalf("episode two lists %d torrents, want 2", len(ts))
	}
	for _, k := range []string{"info_hash", "state", "published_at", "evicted_at", "downloads", "downloads_24h", "trackers"} {
		if _, ok := ts[1].(map[string]any)[k]; !ok {
			t.Errorf("superseded torrent lacks %q", k)
		}
	}
	if _, ok := ts[0].(map[string]any)["evicted_at"]; ok {
		t.Error("a seeded torrent has an evicted_at")
	}
	if v.Feed != "show" || !v.GeneratedAt.Equal(now) || v.Totals["downloads"].(float64) != 10 {
		t.Errorf("feed/generated_at/totals = %v %v %v", v.Feed, v.GeneratedAt, v.Totals)
	}
}

func TestCSVShape(t *testing.T) {
	var b bytes.Buffer
	if err := WriteCSV(&b, Build(fixture())); err != nil {
		t.Fatal(err)
	}
	golden(t, "report.csv.golden", b.Bytes())
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	// One row per torrent: episode two's current and superseded torrents.
	if len(rows) != 4 || rows[0][5] != "downloads" || rows[1][5] != "5" || rows[2][5] != "2" || rows[3][5] != "3" ||
		rows[0][11] != "torrent_state" || rows[2][11] != "current" || rows[3][11] != "superseded" ||
		rows[3][1] != "g2" || rows[3][4] != hashOld || rows[3][13] != "2026-03-30T12:00:00Z" {
		t.Errorf("rows = %q", rows)
	}
	var sum int
	for _, r := range rows[1:] {
		n, _ := strconv.Atoi(r[5])
		sum += n
	}
	if sum != 10 {
		t.Errorf("the downloads column sums to %d, want the totals' 10", sum)
	}
	if !strings.HasPrefix(rows[1][2], "'=") {
		t.Errorf("formula-like title not neutralised: %q", rows[1][2])
	}
	for _, r := range rows {
		if len(r) != len(rows[0]) {
			t.Errorf("ragged row %q", r)
		}
	}
}

func TestTableAndHTML(t *testing.T) {
	r := Build(fixture())
	var tb bytes.Buffer
	if err := WriteTable(&tb, r); err != nil {
		t.Fatal(err)
	}
	golden(t, "report.table.golden", tb.Bytes())
	var hb bytes.Buffer
	if err := WriteHTML(&hb, r, map[string]string{"json": "show.json?token=a&b", "csv": "show.csv"}); err != nil {
		t.Fatal(err)
	}
	page := hb.String()
	for _, want := range []string{"<svg", `fill="#1f6feb"`, `stroke="#d9480f"`, "<table>", "How a download is counted",
		"The &lt;Show&gt; &amp; Co", "&lt;script&gt;", "show.json?token=a&amp;b", external,
		// audience: the uniques line, the app and country charts, the cards
		`<polyline points="`, "2026-03-30: 2 unique listeners", "Downloads by app", "Downloads by country",
		"qBittorrent: 2 downloads (28.6%)", "DE: 3 downloads (42.9%)", "71.4%", "unique listeners, 30 days",
		"2 / 2 / 3", "0 / 1 / 2"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(page, "<script>") || strings.Contains(page, "http://") && strings.Contains(page, `src="http`) {
		t.Error("page has a script or an external resource")
	}
	// Episode two's torrents are listed beneath it, the old one as evicted.
	if !strings.Contains(page, "of which superseded torrent, media evicted 2026-03-30<br><code>"+hashOld) ||
		!strings.Contains(page, "of which current torrent<br><code>"+hashTwo) || strings.Count(page, `<tr class="tor">`) != 2 {
		t.Errorf("page lacks episode two's torrent rows")
	}
	// One release marker: episode two (episode one is before the chart).
	if n := strings.Count(page, `<circle class="release"`); n != 1 {
		t.Errorf("%d release markers, want 1", n)
	}
}

func sponsorsFixture() *Auth {
	return NewAuth([]Sponsor{
		{Name: "acme", TokenSHA256: sha256.Sum256([]byte("acme-token-0123456789")), Feeds: []string{"show"}},
		{Name: "other", TokenSHA256: sha256.Sum256([]byte("other-token-0123456789")), Feeds: []string{"else"}},
	})
}

func TestAuthRules(t *testing.T) {
	a := sponsorsFixture()
	for _, c := range []struct {
		name, header, query string
		want                int
	}{
		{"none", "", "", 401},
		{"unknown bearer", "Bearer nope-nope-nope-nope", "", 401},
		{"empty bearer", "Bearer ", "", 401},
		{"basic scheme", "Basic YWNtZTp4", "", 401},
		{"bearer", "Bearer acme-token-0123456789", "", 200},
		{"bearer lower-case scheme", "bearer acme-token-0123456789", "", 200},
		{"query", "", "acme-token-0123456789", 200},
		{"other feed", "Bearer other-token-0123456789", "", 403},
		{"other feed by query", "", "other-token-0123456789", 403},
		{"prefix of a token", "Bearer acme-token", "", 401},
	} {
		r := httptest.NewRequest("GET", "/reports/show?token="+c.query, nil)
		if c.header != "" {
			r.Header.Set("Authorization", c.header)
		}
		if got, _ := a.Check(r, "show"); got != c.want {
			t.Errorf("%s: %d, want %d", c.name, got, c.want)
		}
	}
}

func TestHandlerWithStore(t *testing.T) {
	ctx := t.Context()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.EnsureFeed(ctx, "show", "http://origin.example/feed.xml"); err != nil {
		t.Fatal(err)
	}
	if err := st.SaveChannel(ctx, store.Feed{Slug: "show", Title: "Show"},
		[]store.Episode{{Key: "k1", GUID: "g1", Title: "One", Published: ago(2 * Day), EnclosureURL: "http://origin.example/1.mp3"}}, ago(2*Day)); err != nil {
		t.Fatal(err)
	}
	if err := st.Publish(ctx, "show", "k1", store.Publication{InfoHash: hashOne, At: ago(2 * Day)}); err != nil {
		t.Fatal(err)
	}
	for i, at := range []time.Time{ago(3 * Day), ago(Day + time.Hour), ago(time.Hour)} {
		if _, err := st.RecordCompletion(ctx, hashOne, string(rune('a'+i)), at); err != nil {
			t.Fatal(err)
		}
	}
	// Audience rows as the tracker stores them: two starts, two downloads by one listener on
	// two days (one unique listener), one of them from a listener's row past the window.
	for _, l := range []store.Listen{
		{Kind: store.ListenStart, Listener: "A", Client: "aria2", Country: "DE", At: ago(Day + 2*time.Hour)},
		{Kind: store.ListenStart, Listener: "B", Client: "qBittorrent", Country: "unknown", At: ago(2 * time.Hour)},
		{Kind: store.ListenDownload, Listener: "A", Client: "aria2", Country: "DE", At: ago(Day + time.Hour)},
		{Kind: store.ListenDownload, Listener: "A", Client: "aria2", Country: "DE", At: ago(time.Hour)},
		{Kind: store.ListenDownload, Listener: "C", Client: "qBittorrent", Country: "unknown", At: ago(31 * Day)},
	} {
		l.InfoHash = hashOne
		if _, err := st.RecordListen(ctx, l); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.AddSnapshots(ctx, []store.Snapshot{
		{Tracker: external, InfoHash: hashOne, At: ago(40 * Day), Downloaded: 1},
		{Tracker: external, InfoHash: hashOne, At: ago(35 * Day), Downloaded: 2}, // the 30d baseline
		{Tracker: external, InfoHash: hashOne, At: ago(time.Hour), Downloaded: 9},
	}); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	NewHandler(st, sponsorsFixture(), embedded, DefaultCostPerGB, slog.New(slog.DiscardHandler), func() time.Time { return now }).Routes(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	get := func(path, auth string) (*http.Response, string) {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		if auth != "" {
			req.Header.Set("Authorization", "Bearer "+auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp, string(b)
	}
	if resp, _ := get("/reports/show.json", ""); resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") == "" {
		t.Errorf("no token: %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	if resp, _ := get("/reports/show.csv", "other-token-0123456789"); resp.StatusCode != 403 {
		t.Errorf("other sponsor: %d", resp.StatusCode)
	}
	resp, body := get("/reports/show.json", "acme-token-0123456789")
	if resp.StatusCode != 200 || resp.Header.Get("Cache-Control") != "private, no-store" {
		t.Fatalf("json: %d %v", resp.StatusCode, resp.Header)
	}
	var rep Report
	if err := json.Unmarshal([]byte(body), &rep); err != nil {
		t.Fatal(err)
	}
	e := rep.Episodes[0]
	if e.Downloads != 3 || e.Downloads24h != 1 || e.Downloads7d != 3 || len(e.Trackers) != 1 || e.Trackers[0].Downloaded30d != 7 {
		t.Errorf("episode = %+v", e)
	}
	if e.Completions != 3 || e.Starts != 2 || *e.CompletionRate != 1.5 || e.UniqueListeners != (Windows{1, 1, 1}) ||
		e.Clients["aria2"] != 2 || e.Clients["qBittorrent"] != 1 || e.Countries["DE"] != 2 || e.Countries["unknown"] != 1 ||
		e.SinceRelease != (Windows{2, 3, 3}) /* one before the stated release counts */ || rep.Totals.UniqueListeners != (Windows{1, 1, 1}) {
		t.Errorf("episode audience = %+v, uniques %+v, since release %+v", e.Audience, e.UniqueListeners, e.SinceRelease)
	}
	if resp, body := get("/reports/show.csv?token=acme-token-0123456789", ""); resp.StatusCode != 200 ||
		!strings.HasPrefix(body, "feed,guid,title,published,info_hash,downloads,") {
		t.Errorf("csv: %d %q", resp.StatusCode, body)
	}
	resp, body = get("/reports/show?token=acme-token-0123456789", "")
	if resp.StatusCode != 200 || !strings.Contains(body, `href="show.csv?token=acme-token-0123456789"`) ||
		!strings.Contains(resp.Header.Get("Content-Security-Policy"), "default-src 'none'") {
		t.Errorf("html: %d, csp %q", resp.StatusCode, resp.Header.Get("Content-Security-Policy"))
	}
	// A sponsor given a feed that has not been polled yet gets 404, not 500.
	a := NewAuth([]Sponsor{{Name: "x", TokenSHA256: sha256.Sum256([]byte("x-token-0123456789")), Feeds: []string{"later"}}})
	mux2 := http.NewServeMux()
	NewHandler(st, a, embedded, DefaultCostPerGB, slog.New(slog.DiscardHandler), nil).Routes(mux2)
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/reports/later.json?token=x-token-0123456789", nil)
	mux2.ServeHTTP(rec, req)
	if rec.Code != 404 {
		t.Errorf("unknown feed: %d", rec.Code)
	}
}

// ownerMap gives each token one feed, as verified submissions do.
type ownerMap map[string]string

func (m ownerMap) OwnerFeed(_ context.Context, tok string) (string, bool) {
	s, ok := m[tok]
	return s, ok
}

func TestAuthOwners(t *testing.T) {
	a := NewAuth([]Sponsor{{Name: "acme", TokenSHA256: sha256.Sum256([]byte("sponsor-token")), Feeds: []string{"show"}}})
	req := func(tok string) *http.Request {
		return httptest.NewRequest("GET", "/reports/show?token="+tok, nil)
	}
	if code, _ := a.Check(req("owner-token"), "show"); code != http.StatusUnauthorized {
		t.Errorf("owner token without owners: %d", code)
	}
	a.WithOwners(ownerMap{"owner-token": "show"})
	for _, tc := range []struct {
		tok, slug string
		code      int
	}{
		{"owner-token", "show", 200}, {"owner-token", "other", 403}, {"sponsor-token", "show", 200}, {"nobody", "show", 401},
	} {
		if code, _ := a.Check(req(tc.tok), tc.slug); code != tc.code {
			t.Errorf("%s on %s: %d, want %d", tc.tok, tc.slug, code, tc.code)
		}
	}
}
