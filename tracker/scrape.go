package tracker

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/anacrolix/torrent/bencode"
	trclient "github.com/anacrolix/torrent/tracker"
	"github.com/anacrolix/torrent/types/infohash"

	"github.com/seedcast/seedcast/store"
)

// SnapshotStore keeps scrape results.
type SnapshotStore interface {
	AddSnapshots(ctx context.Context, snaps []store.Snapshot) error
}

// ScrapeConfig tunes a Scraper. Zero values get the defaults on each field.
type ScrapeConfig struct {
	// Trackers are announce URLs (http, https, udp). The embedded tracker is
	// listed like any other, so every figure comes through the same code path.
	Trackers []string
	// Timeout bounds one scrape request; default 20s.
	Timeout time.Duration
	// Backoff is how long a tracker is left alone after its first failure;
	// it doubles with each further failure up to MaxBackoff. Defaults 5m, 6h.
	Backoff    time.Duration
	MaxBackoff time.Duration
}

const (
	// udpScrapeBatch is BEP 15's limit: 74 hashes fill a 1500-byte packet's reply.
	udpScrapeBatch = 74
	// httpScrapeBatch keeps the URL of one BEP 48 scrape under about 4 KB.
	httpScrapeBatch = 64
	// maxScrapeBody caps an HTTP scrape reply: 64 entries are a few KB.
	maxScrapeBody = 1 << 20
)

// ErrNoScrape is returned for an HTTP tracker whose announce URL does not end
// in "announce": BEP 48 says such a tracker does not support scrape.
var ErrNoScrape = errors.New("tracker: announce URL has no scrape convention")

// Scraper scrapes every torrent on a set of trackers and stores what each
// tracker reports. One tracker's failure only delays that tracker.
type Scraper struct {
	cfg   ScrapeConfig
	store SnapshotStore
	http  *http.Client
	log   *slog.Logger
	now   func() time.Time

	mu    sync.Mutex
	state map[string]*backoff // by tracker URL

	errors atomic.Int64 // failed scrapes of one tracker, for metrics
}

// Errors counts the scrapes of one tracker that failed since start.
func (s *Scraper) Errors() int64 { return s.errors.Load() }

type backoff struct {
	failures int
	until    time.Time
}

// NewScraper returns a Scraper. hc nil means a client with no special
// settings; now nil means time.Now.
func NewScraper(cfg ScrapeConfig, st SnapshotStore, hc *http.Client, log *slog.Logger, now func() time.Time) *Scraper {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 20 * time.Second
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = 5 * time.Minute
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 6 * time.Hour
	}
	if hc == nil {
		hc = &http.Client{}
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if now == nil {
		now = time.Now
	}
	return &Scraper{cfg: cfg, store: st, http: hc, log: log, now: now, state: map[string]*backoff{}}
}

// Scrape asks every tracker not backing off about every info hash (40-char
// hex) and stores one snapshot per answered hash. Trackers are scraped in
// parallel; the error joins each failed tracker's error.
func (s *Scraper) Scrape(ctx context.Context, infoHashes []string) error {
	var hashes []infohash.T
	for _, h := range infoHashes {
		var ih infohash.T
		if b, err := hex.DecodeString(h); err != nil || len(b) != 20 {
			return fmt.Errorf("tracker: scrape: bad info hash %q", h)
		} else {
			copy(ih[:], b)
		}
		hashes = append(hashes, ih)
	}
	if len(hashes) == 0 {
		return nil
	}
	errs := make([]error, len(s.cfg.Trackers))
	var wg sync.WaitGroup
	for i, tr := range s.cfg.Trackers {
		if wait, ok := s.backingOff(tr); ok {
			s.log.Debug("scrape skipped: tracker backing off", "tracker", tr, "retry_in", wait.Round(time.Second))
			continue
		}
		wg.Go(func() {
			errs[i] = s.scrapeTracker(ctx, tr, hashes)
			s.settle(tr, errs[i])
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (s *Scraper) backingOff(tr string) (time.Duration, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.state[tr]
	if b == nil {
		return 0, false
	}
	wait := b.until.Sub(s.now())
	return wait, wait > 0
}

// settle records a tracker's outcome: success clears its backoff, failure
// doubles it.
func (s *Scraper) settle(tr string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err == nil {
		delete(s.state, tr)
		return
	}
	s.errors.Add(1)
	b := s.state[tr]
	if b == nil {
		b = &backoff{}
		s.state[tr] = b
	}
	b.failures++
	wait := s.cfg.Backoff
	for i := 1; i < b.failures && wait < s.cfg.MaxBackoff; i++ {
		wait *= 2
	}
	wait = min(wait, s.cfg.MaxBackoff)
	b.until = s.now().Add(wait)
	s.log.Warn("scrape failed", "tracker", tr, "failures", b.failures, "retry_in", wait, "err", err)
}

func (s *Scraper) scrapeTracker(ctx context.Context, tr string, hashes []infohash.T) error {
	u, err := url.Parse(tr)
	if err != nil {
		return fmt.Errorf("tracker: scrape %s: %w", tr, err)
	}
	batch := httpScrapeBatch
	if u.Scheme == "udp" {
		batch = udpScrapeBatch
	}
	var snaps []store.Snapshot
	for start := 0; start < len(hashes); start += batch {
		part := hashes[start:min(start+batch, len(hashes))]
		rctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
		var got []Stats
		switch u.Scheme {
		case "udp":
			got, err = scrapeUDP(rctx, tr, part)
		case "http", "https":
			got, err = s.scrapeHTTP(rctx, u, part)
		default:
			err = fmt.Errorf("unsupported scheme %q", u.Scheme)
		}
		cancel()
		if err != nil {
			return fmt.Errorf("tracker: scrape %s: %w", tr, err)
		}
		at := s.now().UTC()
		for i, st := range got {
			snaps = append(snaps, store.Snapshot{Tracker: tr, InfoHash: part[i].HexString(), At: at,
				Complete: st.Complete, Incomplete: st.Incomplete, Downloaded: st.Downloaded})
		}
	}
	if err := s.store.AddSnapshots(ctx, snaps); err != nil {
		return fmt.Errorf("tracker: scrape %s: %w", tr, err)
	}
	s.log.Debug("scraped", "tracker", tr, "torrents", len(snaps))
	return nil
}

// scrapeUDP uses anacrolix's BEP 15 client (connect, retransmits, action 2).
func scrapeUDP(ctx context.Context, tr string, hashes []infohash.T) ([]Stats, error) {
	cl, err := trclient.NewClient(tr, trclient.NewClientOpts{})
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	resp, err := cl.Scrape(ctx, hashes)
	if err != nil {
		return nil, err
	}
	if len(resp) != len(hashes) {
		return nil, fmt.Errorf("%d results for %d hashes", len(resp), len(hashes))
	}
	out := make([]Stats, len(resp))
	for i, r := range resp {
		out[i] = Stats{Complete: int64(r.Seeders), Incomplete: int64(r.Leechers), Downloaded: int64(r.Completed)}
	}
	return out, nil
}

// ScrapeURL applies BEP 48's convention: the last path segment must start
// with "announce", which becomes "scrape" (/x/announce.php -> /x/scrape.php).
func ScrapeURL(announce *url.URL) (*url.URL, error) {
	// Work on the escaped path so an escaped slash (%2F) is not a segment break.
	p := announce.EscapedPath()
	i := strings.LastIndex(p, "/")
	if i < 0 || !strings.HasPrefix(p[i+1:], "announce") {
		return nil, ErrNoScrape
	}
	escaped := p[:i+1] + "scrape" + strings.TrimPrefix(p[i+1:], "announce")
	path, err := url.PathUnescape(escaped)
	if err != nil {
		return nil, ErrNoScrape
	}
	u := *announce
	u.Path, u.RawPath = path, escaped
	return &u, nil
}

// scrapeHTTP is our own rather than anacrolix's http scrape, which rewrites
// /x/announce.php to /x/scrape, ignores the status code, skips TLS
// verification and prints every URL with the standard logger.
func (s *Scraper) scrapeHTTP(ctx context.Context, announce *url.URL, hashes []infohash.T) ([]Stats, error) {
	u, err := ScrapeURL(announce)
	if err != nil {
		return nil, err
	}
	q := u.RawQuery // keep passkeys and the like
	for _, ih := range hashes {
		if q != "" {
			q += "&"
		}
		q += "info_hash=" + url.QueryEscape(string(ih[:]))
	}
	u.RawQuery = q
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	resp, err := s.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("status %s", resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxScrapeBody+1))
	if err != nil {
		return nil, err
	}
	if len(body) > maxScrapeBody {
		return nil, fmt.Errorf("reply larger than %d bytes", maxScrapeBody)
	}
	return parseScrapeReply(body, hashes)
}

// parseScrapeReply decodes a BEP 48 scrape reply from another tracker into one
// Stats per hash, in order. The body is a stranger's: anything goes.
func parseScrapeReply(body []byte, hashes []infohash.T) ([]Stats, error) {
	var reply struct {
		Files         map[string]scrapeFile `bencode:"files"`
		FailureReason string                `bencode:"failure reason"`
	}
	if err := bencode.Unmarshal(body, &reply); err != nil {
		return nil, fmt.Errorf("bad reply: %w", err)
	}
	if reply.FailureReason != "" {
		return nil, fmt.Errorf("tracker says: %q", reply.FailureReason)
	}
	out := make([]Stats, len(hashes))
	for i, ih := range hashes {
		// A tracker omits torrents it has never seen: that is zero, not an error.
		f := reply.Files[string(ih[:])]
		out[i] = Stats{Complete: max(f.Complete, 0), Incomplete: max(f.Incomplete, 0), Downloaded: max(f.Downloaded, 0)}
	}
	return out, nil
}

type scrapeFile struct {
	Complete   int64 `bencode:"complete"`
	Incomplete int64 `bencode:"incomplete"`
	Downloaded int64 `bencode:"downloaded"`
}
