// Package worker runs the ingest pipeline: poll a feed, store what it lists,
// download each new enclosure once, build its torrent, hand it to the seeder
// and the tracker, and only then publish it.
package worker

import (
	"cmp"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/anacrolix/torrent/metainfo"

	"github.com/seedcast/seedcast/feeds"
	"github.com/seedcast/seedcast/safehttp"
	"github.com/seedcast/seedcast/seedbox"
	"github.com/seedcast/seedcast/store"
)

// recheckNewest is how many of a changed feed's first items have their
// enclosures re-validated at the origin (one conditional HEAD each), to catch
// a file replaced under an unchanged entry without a HEAD per back-catalogue
// episode on every change.
const recheckNewest = 10

// ErrDiskFloor marks a download refused or stopped by the disk-space floor.
var ErrDiskFloor = errors.New("not enough disk space")

// Store is the part of the store the pipeline writes.
type Store interface {
	EnsureFeed(ctx context.Context, slug, url string) error
	Feed(ctx context.Context, slug string) (store.Feed, error)
	SaveChannel(ctx context.Context, f store.Feed, eps []store.Episode, at time.Time) error
	RecordPoll(ctx context.Context, slug string, at time.Time, kind, errMsg string) error
	Unpublished(ctx context.Context, slug string) ([]store.Episode, error)
	Publish(ctx context.Context, slug, key string, p store.Publication) error
	MarkSynced(ctx context.Context, slug, key string) error
	Fail(ctx context.Context, slug, key, msg string) error
	Replace(ctx context.Context, slug, key, enclosureURL, enclosureType string, enclosureLength int64, p store.Publication) error
	KeepMedia(ctx context.Context, slug, key, etag, lastModified string, declaredLength int64) error
	Seeded(ctx context.Context, slug string) ([]store.Episode, error)
	Published(ctx context.Context, slug string) ([]store.Episode, error)
	Listed(ctx context.Context, slug string) ([]store.Episode, error)
	Requeue(ctx context.Context, slug, key, why string) error
	MediaInUse(ctx context.Context, relPath string) (bool, error)
	Evict(ctx context.Context, slug, key string, at time.Time) error
	Torrents(ctx context.Context) ([]store.Torrent, error)
	SetTorrentFile(ctx context.Context, slug, key string, size int64, sha256 string) error
	TorrentFile(ctx context.Context, infoHash string) ([]byte, error)
	SaveTorrentFile(ctx context.Context, infoHash string, data []byte) error
	Heartbeat(ctx context.Context, n store.Node) error
	LeaseFeed(ctx context.Context, slug, node string, now, until time.Time) (bool, error)
	ReleaseFeed(ctx context.Context, slug, node string) error
	ListNodes(ctx context.Context) ([]store.Node, error)
}

var _ Store = store.Store(nil)

// Seeder seeds a complete file. AddTrusted may skip hashing because the
// pipeline hashed exactly these bytes while downloading them.
type Seeder interface {
	Add(ctx context.Context, mi *metainfo.MetaInfo, mediaPath string) error
	AddTrusted(ctx context.Context, mi *metainfo.MetaInfo, mediaPath string) error
	Remove(infoHash metainfo.Hash) error
	Verify(ctx context.Context, infoHash metainfo.Hash) error
	Stats() seedbox.SeederStats
}

// Tracker is told about every torrent the gateway publishes.
type Tracker interface {
	// Allow tracks a torrent of length bytes (its size bounds how soon a download can complete),
	// also under its aliases: a hybrid's truncated v2 info hash, which v2 clients announce.
	Allow(ctx context.Context, infoHash [20]byte, length int64, aliases ...[20]byte) error
	// Seeders lists a torrent's seeders, every node's included: where a replica comes from.
	Seeders(infoHash [20]byte, max int) []netip.AddrPort
}

// Feed is one subscription.
type Feed struct {
	Slug         string
	URL          string
	OwnerConsent bool
	Retention    Retention
	// MinGap skips a poll when another node polled the feed less than this long ago (half its
	// schedule's interval): every node's schedule fires, and the origin should see one poll per
	// interval, not one per node. 0 = never skip.
	MinGap time.Duration
	// Runtime is a feed added at run time: its row is made by AddFeed, so a poll that finds none
	// (the feed was removed meanwhile) does nothing instead of subscribing it again.
	Runtime bool
}

// Retention bounds what a feed keeps seeding; zero values mean no bound.
// Evicted episodes stay in the feed, served by their web seed and peers.
type Retention struct {
	KeepEpisodes int   // seed only the newest N episodes
	MaxBytes     int64 // seed at most this many bytes of media
}

// Config is what the pipeline needs to know of the gateway.
type Config struct {
	DataDir           string
	AnnounceList      [][]string // tiers written into every torrent
	MaxEnclosureBytes int64
	MaxItems          int   // a feed's newest items kept (fetch.max_items); 0 = all
	MinFreeBytes      int64 // a download that would leave less free space in DataDir is not started
	CreatedBy         string
	// Hybrid makes new torrents hybrid v1+v2 (seedbox.torrent_format: hybrid), hashing the v2
	// tree in the download's pass; false: v1. Published torrents keep their format.
	Hybrid bool
	// MaxPolls bounds feed polls running at once, overall and per origin
	// host, so a thousand feeds starting together stay polite.
	MaxPolls        int // default 16
	MaxPollsPerHost int // default 4
	// MaxDownloads bounds enclosure downloads at once, overall and per
	// enclosure host: slots apart from the poll slots (see slots).
	MaxDownloads        int // default 16
	MaxDownloadsPerHost int // default 4
	// IdleTimeout fails a download whose origin sends no bytes for that long
	// (fetch.enclosure_idle_timeout); 0 = none.
	IdleTimeout time.Duration
	// BootID names this boot of the OS (Linux's boot_id). With it, media is published as soon
	// as it is downloaded and hashed, from the page cache, and fsynced right after: a process
	// crash cannot lose those bytes, and Restore re-hashes media that an OS crash could have
	// (published in another boot and never marked synced). Empty: fsync before publishing.
	BootID string
	// NodeName is this process's name among the nodes on the store (node.name); with it, a
	// feed is polled only while this node holds its lease, which lasts LeaseTTL unrenewed
	// (cluster.node_timeout). Empty: no lease (tests of one worker).
	NodeName string
	LeaseTTL time.Duration
	// Replicas is how many live nodes seed each torrent (cluster.replicas); UnassignedGrace how
	// long a node keeps seeding a torrent it is no longer assigned, so the new seeders can
	// replicate it first.
	Replicas        int
	UnassignedGrace time.Duration
	// Recorder is told of polls and downloads (metrics); nil: nothing is recorded.
	Recorder Recorder
	// Progress, when set, reports enclosure downloads (`seedcast poll` draws a bar on a
	// terminal): it is called once a download's answer is accepted, with a name for it ("slug:
	// title"; the title is the feed's, untrusted), the bytes already there from an interrupted
	// attempt and the whole size (-1 when the origin does not say). Every body byte then goes
	// through the returned writer, and end is called once, with the download's error. nil: none
	// (serve, whose log lines are what an operator reads).
	Progress func(name string, done, total int64) (w io.Writer, end func(error))
	// Push is told of output changes and of the sources' WebSub hubs; nil: nobody is.
	Push Push
}

// Clients fetch feeds and enclosures. Self is used for URLs on the gateway's
// own host (the built-in demo), which the SSRF guard would otherwise refuse.
type Clients struct {
	Feed      *http.Client
	Media     *http.Client
	SelfFeed  *http.Client
	SelfMedia *http.Client
	SelfHost  string // host:port of the gateway's public URL
	MaxFeed   int64
}

// Worker runs the pipeline. Seeder and Tracker may be nil (one-shot `poll`).
type Worker struct {
	cfg     Config
	st      Store
	cl      Clients
	seeder  Seeder
	tracker Tracker
	log     *slog.Logger
	now     func() time.Time
	started time.Time // when this process started, for its heartbeat

	unassignedMu sync.Mutex
	unassigned   map[string]time.Time // info hash → when this node stopped being assigned it
	orphans      map[string]bool      // seeded torrents the store did not know at the last Reconcile

	polls     *slots // held while a feed is fetched and parsed
	downloads *slots // held while an enclosure downloads

	mu     sync.Mutex
	locks  map[string]*sync.Mutex // one ingest at a time per feed
	active map[string]*activeDownload
}

// activeDownload is an enclosure being fetched, for the status page.
type activeDownload struct {
	Feed, Key, Title, URL string
	PartPath              string
	Length                int64
	Started               time.Time
}

// New builds a worker.
func New(cfg Config, st Store, cl Clients, seeder Seeder, tracker Tracker, log *slog.Logger) *Worker {
	if cfg.MaxPolls <= 0 {
		cfg.MaxPolls = 16
	}
	if cfg.MaxPollsPerHost <= 0 {
		cfg.MaxPollsPerHost = 4
	}
	if cfg.MaxDownloads <= 0 {
		cfg.MaxDownloads = 16
	}
	if cfg.MaxDownloadsPerHost <= 0 {
		cfg.MaxDownloadsPerHost = 4
	}
	if cfg.LeaseTTL <= 0 {
		cfg.LeaseTTL = 30 * time.Second
	}
	if cfg.Replicas <= 0 {
		cfg.Replicas = 1
	}
	if cfg.UnassignedGrace <= 0 {
		cfg.UnassignedGrace = time.Hour
	}
	if cfg.Recorder == nil {
		cfg.Recorder = noRecorder{}
	}
	if cfg.Push == nil {
		cfg.Push = noPush{}
	}
	return &Worker{cfg: cfg, st: st, cl: cl, seeder: seeder, tracker: tracker, log: log,
		now: time.Now, started: time.Now(), unassigned: map[string]time.Time{}, orphans: map[string]bool{}, locks: map[string]*sync.Mutex{}, active: map[string]*activeDownload{},
		polls:     newSlots(cfg.MaxPolls, cfg.MaxPollsPerHost),
		downloads: newSlots(cfg.MaxDownloads, cfg.MaxDownloadsPerHost)}
}

func (w *Worker) feedLock(slug string) *sync.Mutex {
	w.mu.Lock()
	defer w.mu.Unlock()
	l, ok := w.locks[slug]
	if !ok {
		l = &sync.Mutex{}
		w.locks[slug] = l
	}
	return l
}

func (w *Worker) isSelf(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && w.cl.SelfHost != "" && strings.EqualFold(u.Host, w.cl.SelfHost)
}

// Restore hands every published torrent back to the seeder and tracker after a
// start, and clears downloads a crash left half-done.
func (w *Worker) Restore(ctx context.Context) error {
	// Interrupted downloads (*.part) stay: the next poll resumes them with a
	// Range request when the origin gave validators, or starts them over.
	ts, err := w.st.Torrents(ctx)
	if err != nil {
		return err
	}
	live := []string{w.cfg.NodeName}
	if w.cfg.NodeName != "" {
		if live, err = w.liveNodes(ctx); err != nil {
			return err
		}
	}
	var errs []error
	for _, t := range ts {
		if t.Evicted || !w.assignedHere(t, live) {
			// Tracked still (peers, other nodes and the web seed serve it), not seeded here: the
			// store knows its info hash and length even when its .torrent is damaged.
			if err := w.allowEvicted(ctx, t); err != nil {
				errs = append(errs, fmt.Errorf("restore %s/%s: %w", t.FeedSlug, t.Key, err))
			}
			continue
		}
		media := filepath.Join(w.cfg.DataDir, t.MediaPath)
		if fi, err := os.Stat(media); (err != nil || fi.Size() != t.MediaSize) && len(live) > 1 {
			// Other nodes are up: Reconcile replicates it from their seeders, not from the origin.
			w.log.Info("assigned torrent without media here: left for replication", "feed", t.FeedSlug, "key", t.Key)
			if err := w.allowEvicted(ctx, t); err != nil {
				errs = append(errs, fmt.Errorf("restore %s/%s: %w", t.FeedSlug, t.Key, err))
			}
			continue
		} else if err != nil || fi.Size() != t.MediaSize {
			// Truncated, altered in size or gone: never seed it (a short file
			// under mmap would crash the seeder); fetch it again instead.
			why := fmt.Sprintf("media %s is missing or not %d bytes at start: downloading it again", t.MediaPath, t.MediaSize)
			w.log.Warn("damaged media", "feed", t.FeedSlug, "key", t.Key, "info_hash", t.InfoHash, "why", why)
			if err := w.requeue(ctx, t, why); err != nil {
				errs = append(errs, err)
			}
			continue
		}
		mi, err := w.loadTorrent(ctx, t)
		if errors.Is(err, errMediaMismatch) {
			why := fmt.Sprintf("torrent %s was damaged and media %s no longer matches it: downloading it again", t.TorrentPath, t.MediaPath)
			w.log.Warn("damaged media", "feed", t.FeedSlug, "key", t.Key, "info_hash", t.InfoHash, "why", why)
			if err := w.requeue(ctx, t, why); err != nil {
				errs = append(errs, err)
			}
			continue
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("restore %s/%s: %w", t.FeedSlug, t.Key, err))
			continue
		}
		// Published before its fsync: in the same boot the page cache still holds every byte
		// written, so syncing now is enough; after a reboot the tail may be lost, so hash it.
		rehash := false
		if t.UnsyncedBoot != "" {
			if t.UnsyncedBoot == w.cfg.BootID {
				w.markDurable(ctx, t.FeedSlug, t.Key, media)
			} else {
				rehash = true
			}
		}
		err = w.announce(ctx, mi, media, false)
		if err == nil && rehash && w.seeder != nil {
			if err = w.seeder.Verify(ctx, mi.HashInfoBytes()); err == nil {
				if err = w.st.MarkSynced(ctx, t.FeedSlug, t.Key); err != nil {
					errs = append(errs, err)
				}
				continue
			}
		}
		if err != nil {
			if errors.Is(err, seedbox.ErrVerifyFailed) {
				why := fmt.Sprintf("media %s failed piece verification: downloading it again", t.MediaPath)
				w.log.Warn("damaged media", "feed", t.FeedSlug, "key", t.Key, "info_hash", t.InfoHash, "why", why)
				if err := w.requeue(ctx, t, why); err != nil {
					errs = append(errs, err)
				}
				continue
			}
			errs = append(errs, fmt.Errorf("restore %s/%s: %w", t.FeedSlug, t.Key, err))
		}
	}
	w.log.Info("restored torrents", "count", len(ts), "errors", len(errs))
	return errors.Join(errs...)
}

// VerifyAll re-hashes every seeded file from disk, one at a time: a file
// altered on disk (same size, different bytes) stops being served and is
// downloaded again by its feed's next poll.
func (w *Worker) VerifyAll(ctx context.Context) error {
	if w.seeder == nil {
		return nil
	}
	ts, err := w.st.Torrents(ctx)
	if err != nil {
		return err
	}
	var errs []error
	bad := 0
	for _, t := range ts {
		if t.Evicted {
			continue
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		ih, err := infoHash(t.InfoHash)
		if err != nil {
			continue
		}
		err = w.seeder.Verify(ctx, ih)
		switch {
		case errors.Is(err, seedbox.ErrVerifyFailed):
			bad++
			why := fmt.Sprintf("media %s failed piece verification: downloading it again", t.MediaPath)
			w.log.Warn("damaged media", "feed", t.FeedSlug, "key", t.Key, "info_hash", t.InfoHash, "why", why)
			if err := w.requeue(ctx, t, why); err != nil {
				errs = append(errs, err)
			}
		case errors.Is(err, seedbox.ErrUnknownTorrent):
			// Not seeded (a restore error already logged it); nothing to check.
		case err != nil:
			errs = append(errs, err)
		}
	}
	w.log.Info("verified seeded files", "torrents", len(ts), "damaged", bad)
	return errors.Join(errs...)
}

// requeue takes a damaged episode out of the feed and the seeder's hands and
// moves its file aside, so the next poll downloads it again.
func (w *Worker) requeue(ctx context.Context, t store.Torrent, why string) error {
	os.Remove(filepath.Join(w.cfg.DataDir, t.MediaPath))
	return w.st.Requeue(ctx, t.FeedSlug, t.Key, why)
}

// allowEvicted tells the tracker of an evicted torrent, warning when its .torrent is damaged
// (without the media it cannot be made again, and clients are served the damaged file).
func (w *Worker) allowEvicted(ctx context.Context, t store.Torrent) error {
	if _, err := w.loadTorrent(ctx, t); err != nil {
		w.log.Warn("damaged torrent file", "feed", t.FeedSlug, "key", t.Key, "err", err)
	}
	if w.tracker == nil {
		return nil
	}
	return w.allowStored(ctx, t)
}

// allowStored tells the tracker of t as the store knows it: its info hash, length and, for a
// hybrid, the truncated v2 hash as an alias (its .torrent need not be here).
func (w *Worker) allowStored(ctx context.Context, t store.Torrent) error {
	ih, err := infoHash(t.InfoHash)
	if err != nil {
		return err
	}
	var aliases [][20]byte
	if t.InfoHashV2 != "" {
		v2, err := hex.DecodeString(t.InfoHashV2)
		if err != nil || len(v2) != 32 {
			return fmt.Errorf("v2 info hash %q: not 64 hex characters", t.InfoHashV2)
		}
		aliases = append(aliases, [20]byte(v2[:20]))
	}
	return w.tracker.Allow(ctx, ih, t.MediaSize, aliases...)
}

func infoHash(hex string) (metainfo.Hash, error) {
	var ih metainfo.Hash
	if err := ih.FromHexString(hex); err != nil {
		return ih, fmt.Errorf("info hash %q: %w", hex, err)
	}
	return ih, nil
}

func (w *Worker) announce(ctx context.Context, mi *metainfo.MetaInfo, mediaPath string, trusted bool) error {
	if w.tracker != nil {
		var aliases [][20]byte
		if v2, ok := seedbox.InfoHashV2(mi); ok {
			aliases = append(aliases, [20]byte(v2[:20]))
		}
		if err := w.tracker.Allow(ctx, mi.HashInfoBytes(), torrentLength(mi), aliases...); err != nil {
			return err
		}
	}
	if w.seeder == nil {
		return nil
	}
	if trusted {
		return w.seeder.AddTrusted(ctx, mi, mediaPath)
	}
	return w.seeder.Add(ctx, mi, mediaPath)
}

// Poll runs one ingest pass of one feed. The returned error, a *PollFailure saying its kind,
// names the feed and its URL; episode download failures are recorded per episode and joined
// into it, but never stop the other episodes.
func (w *Worker) Poll(ctx context.Context, f Feed) error {
	if err := w.pollFeed(ctx, f); err != nil {
		return &PollFailure{Kind: PollErrorKind(err), Err: err}
	}
	return nil
}

func (w *Worker) pollFeed(ctx context.Context, f Feed) error {
	l := w.feedLock(f.Slug)
	l.Lock()
	defer l.Unlock()
	name := safehttp.RedactURL(f.URL) // errors reach logs and the unauthenticated /status
	if skip, err := w.skipPoll(ctx, f); err != nil || skip {
		return err
	}
	if w.polledElsewhere(ctx, f) {
		return nil
	}
	ctx, release, err := w.leaseFeed(ctx, f)
	if errors.Is(err, errLeaseHeld) {
		w.log.Debug("poll skipped: another node polls this feed", "feed", f.Slug)
		return nil
	}
	if err != nil {
		return fmt.Errorf("feed %s (%s): %w", f.Slug, name, err)
	}
	defer release()
	// Whatever the poll did (a new channel, episodes gone, retention): push compares versions.
	defer w.cfg.Push.Changed(f.Slug)
	started := time.Now() // the wall clock, not w.now: a duration to measure, not a time to store
	notModified, err := w.poll(ctx, f)
	switch {
	case err != nil:
		w.cfg.Recorder.Poll(PollError, time.Since(started))
	case notModified:
		w.cfg.Recorder.Poll(PollNotModified, time.Since(started))
	default:
		w.cfg.Recorder.Poll(PollOK, time.Since(started))
	}
	if err != nil {
		err = fmt.Errorf("feed %s (%s): %w", f.Slug, name, err)
		w.log.Error("poll failed", "feed", f.Slug, "url", name, "err", err)
		if ctx.Err() == nil {
			// The feed's status says why, whether the feed or an episode failed.
			w.recordPoll(ctx, f.Slug, w.now(), err)
		}
	}
	return err
}

// poll reports whether the origin answered 304 Not Modified.
func (w *Worker) poll(ctx context.Context, f Feed) (notModified bool, err error) {
	// The poll slot covers the feed request and its parse only; downloads take
	// download slots of their own (see slots).
	release, err := w.polls.acquire(ctx, f.URL)
	if err != nil {
		return false, err
	}
	changes, notModified, err := w.fetchFeed(ctx, f)
	release()
	if err != nil {
		return false, err
	}
	errs := w.revalidate(ctx, f.Slug, changes)
	// Episodes still unpublished (new, failed before, or interrupted by a
	// crash) are downloaded now; a 304 does not re-parse, but it does retry.
	errs = append(errs, w.downloadPending(ctx, f.Slug))
	return notModified, errors.Join(append(errs, w.applyRetention(ctx, f))...)
}

// fetchFeed fetches the feed (conditionally) and stores what it lists; it
// returns the published enclosures that may have changed, and whether the origin answered 304.
func (w *Worker) fetchFeed(ctx context.Context, f Feed) (changes []change, notModified bool, err error) {
	var prev store.Feed
	err = w.timed(StoreFeed, func() (err error) { prev, err = w.st.Feed(ctx, f.Slug); return err })
	if f.Runtime && err == nil && prev.URL != f.URL {
		err = fmt.Errorf("the feed's URL is now %s", safehttp.RedactURL(prev.URL)) // changed elsewhere: next sync
	}
	if !f.Runtime && (errors.Is(err, store.ErrNotFound) || (err == nil && prev.URL != f.URL)) {
		// First poll of this slug, or its URL changed in config.yaml.
		if err := w.st.EnsureFeed(ctx, f.Slug, f.URL); err != nil {
			return nil, false, err
		}
		prev, err = w.st.Feed(ctx, f.Slug)
	}
	if err != nil {
		return nil, false, err
	}
	client, max := w.cl.Feed, w.cl.MaxFeed
	if w.isSelf(f.URL) {
		client = w.cl.SelfFeed
	}
	started := w.now()
	res, err := feeds.NewFetcher(client, max).Fetch(ctx, f.URL, prev.ETag, prev.LastModified)
	if err != nil {
		return nil, false, err
	}
	if res.NotModified {
		w.log.Debug("feed not modified", "feed", f.Slug)
		return nil, true, w.timed(StoreRecordPoll, func() error { return w.st.RecordPoll(ctx, f.Slug, started, "", "") })
	}
	changes, err = w.ingest(ctx, f, res, started)
	return changes, false, err
}

// applyRetention stops seeding, and deletes the media of, whatever falls
// outside the feed's retention: beyond the newest KeepEpisodes items, or
// beyond MaxBytes of media. Superseded torrents go first.
func (w *Worker) applyRetention(ctx context.Context, f Feed) error {
	r := f.Retention
	if r.KeepEpisodes <= 0 && r.MaxBytes <= 0 {
		return nil
	}
	seeded, err := w.st.Seeded(ctx, f.Slug)
	if err != nil {
		return err
	}
	items := map[string]bool{}
	var bytes int64
	var errs []error
	for _, e := range seeded {
		key := e.ItemKey
		if e.State == store.StateSuperseded {
			key = e.Key // an old version counts as an episode of its own
		}
		if !items[key] {
			items[key] = true
		}
		bytes += e.MediaSize
		keep := (r.KeepEpisodes <= 0 || len(items) <= r.KeepEpisodes) && (r.MaxBytes <= 0 || bytes <= r.MaxBytes)
		if keep {
			continue
		}
		if err := w.evict(ctx, f.Slug, e); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (w *Worker) evict(ctx context.Context, slug string, e store.Episode) error {
	// Record first: a crash between the steps leaves an unseeded file that
	// the next start ignores, never a seeded torrent whose file is gone.
	if err := w.st.Evict(ctx, slug, e.Key, w.now()); err != nil {
		return err
	}
	if w.seeder != nil {
		if ih, err := infoHash(e.InfoHash); err == nil {
			if err := w.seeder.Remove(ih); err != nil && !errors.Is(err, seedbox.ErrUnknownTorrent) {
				return fmt.Errorf("evict %s/%s: %w", slug, e.Key, err)
			}
		}
	}
	if err := os.Remove(filepath.Join(w.cfg.DataDir, e.MediaPath)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("evict %s/%s: %w", slug, e.Key, err)
	}
	w.log.Info("retention: evicted", "feed", slug, "key", e.Key, "info_hash", e.InfoHash, "bytes", e.MediaSize)
	return nil
}

func (w *Worker) recordPoll(ctx context.Context, slug string, at time.Time, err error) {
	if rerr := w.st.RecordPoll(ctx, slug, at, PollErrorKind(err), err.Error()); rerr != nil {
		w.log.Error("record poll", "feed", slug, "err", rerr)
	}
}

func (w *Worker) ingest(ctx context.Context, f Feed, res feeds.FetchResult, at time.Time) ([]change, error) {
	body, err := feeds.Normalize(res.Body, res.ContentType)
	if err != nil {
		return nil, err
	}
	base := res.FinalURL
	if base == "" {
		base = f.URL
	}
	parsed, err := feeds.ParseNewest(body, base, w.cfg.MaxItems)
	if err != nil {
		return nil, err
	}
	if err := feeds.Refusal(parsed, f.OwnerConsent); err != nil {
		return nil, err
	}
	var warning string
	if parsed.Omitted > 0 {
		warning = parsed.Warnings[len(parsed.Warnings)-1]
		w.log.Warn("feed has more items than fetch.max_items: the oldest were left out",
			"feed", f.Slug, "omitted", parsed.Omitted, "max_items", w.cfg.MaxItems)
	}
	if parsed.NewFeedURL != "" && parsed.NewFeedURL != f.URL {
		// Polling goes on here: moving is the operator's call, but they must hear of it
		// before the old URL stops answering.
		w.log.Warn("the feed says the podcast moved (itunes:new-feed-url): point feeds[].url in config.yaml there",
			"feed", f.Slug, "url", safehttp.RedactURL(f.URL), "new_url", safehttp.RedactURL(parsed.NewFeedURL))
	}
	// WebSub: with no self link, the topic is the URL the feed is fetched from.
	w.cfg.Push.Source(f.Slug, parsed.Hub, cmp.Or(parsed.Self, f.URL))
	ch := store.Feed{
		Slug: f.Slug, URL: f.URL, Title: parsed.Title, Link: parsed.Link, Description: parsed.Description,
		Language: parsed.Language, Copyright: parsed.Copyright, Author: parsed.Author,
		ImageURL: parsed.ImageURL, PodcastGUID: parsed.PodcastGUID, Extra: parsed.Extra,
		ETag: res.ETag, LastModified: res.LastModified, Warning: warning,
	}
	eps := Episodes(parsed)
	items := 0
	for _, e := range eps {
		if e.EnclosureIndex == 0 {
			items++
		}
	}
	if dropped := len(parsed.Items) - items; dropped > 0 {
		w.log.Warn("items repeating an earlier item's identity were left out", "feed", f.Slug, "dropped", dropped)
	}
	// An episode the source no longer lists leaves the output feed, so a feed
	// served empty by mistake would empty ours: an empty list is taken for
	// an origin error while episodes are listed.
	if len(eps) == 0 {
		listed, err := w.st.Listed(ctx, f.Slug)
		if err != nil {
			return nil, err
		}
		if len(listed) > 0 {
			return nil, fmt.Errorf("the feed lists no items, the last poll listed %d published episodes: kept them (an empty feed is taken for an origin mistake)", len(listed))
		}
	}
	// One read of what is published, not one per item: a changed feed can list hundreds.
	published, err := w.st.Published(ctx, f.Slug)
	if err != nil {
		return nil, err
	}
	byKey := make(map[string]store.Episode, len(published))
	for _, e := range published {
		byKey[e.Key] = e
	}
	var changes []change
	for _, e := range eps {
		old, ok := byKey[e.Key]
		if e.EnclosureURL == "" || !ok {
			continue
		}
		if why := w.enclosureChanged(ctx, e, old, e.Position < recheckNewest); why != "" {
			changes = append(changes, change{e: e, old: old, why: why})
		}
	}
	w.log.Info("feed parsed", "feed", f.Slug, "items", len(eps))
	return changes, w.timed(StoreSaveChannel, func() error { return w.st.SaveChannel(ctx, ch, eps, at) })
}

// Episodes turns a parsed feed into store rows in source order: one per
// enclosure (each its own torrent, primary first, sharing the item's
// ItemKey) and one for an item without enclosures. A repeated identity is
// dropped: the first occurrence wins, so one episode is never published twice.
func Episodes(parsed *feeds.Feed) []store.Episode {
	seen := map[string]bool{}
	var eps []store.Episode
	for i, it := range parsed.Items {
		if seen[it.Key] {
			continue
		}
		seen[it.Key] = true
		item := store.Episode{
			ItemKey: it.Key, Key: it.Key, Position: i, GUID: it.GUID, GUIDIsPermaLink: it.GUIDIsPermaLink,
			Title: it.Title, Link: it.Link, Description: it.Description, Content: it.Content,
			Author: it.Author, Published: it.Published, Extra: it.Extra,
		}
		encs := it.MediaEnclosures()
		if len(encs) == 0 {
			eps = append(eps, item)
			continue
		}
		for n, enc := range encs {
			e := item
			e.EnclosureIndex = n
			if n > 0 {
				e.Key = fmt.Sprintf("%s#%d", it.Key, n)
			}
			e.EnclosureURL, e.EnclosureType, e.EnclosureLength = enc.URL, enc.Type, enc.Length
			e.EnclosureAttrs = it.RenditionAttrs[enc.URL]
			eps = append(eps, e)
		}
	}
	return eps
}

// originChanged asks the origin, with a conditional HEAD, whether the media
// behind a published enclosure changed since it was downloaded, and says how
// ("" when it did not, or when the origin cannot tell us).
func (w *Worker) originChanged(ctx context.Context, rawURL string, old store.Episode) string {
	if old.MediaETag == "" && old.MediaLastModified == "" {
		return "" // nothing to compare against; the declared length still is
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, rawURL, nil)
	if err != nil {
		return ""
	}
	if old.MediaETag != "" {
		req.Header.Set("If-None-Match", old.MediaETag)
	}
	if old.MediaLastModified != "" {
		req.Header.Set("If-Modified-Since", old.MediaLastModified)
	}
	client := w.cl.Media
	if w.isSelf(rawURL) {
		client = w.cl.SelfMedia
	}
	resp, err := client.Do(req)
	if err != nil {
		w.log.Debug("enclosure recheck failed", "url", safehttp.RedactURL(rawURL), "err", safehttp.RedactError(err))
		return ""
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "" // 304 means unchanged; anything else tells us nothing
	}
	etag, lm := resp.Header.Get("ETag"), resp.Header.Get("Last-Modified")
	switch {
	case old.MediaLastModified != "" && lm != "" && lm != old.MediaLastModified:
		return fmt.Sprintf("the origin's Last-Modified is now %s, was %s", lm, old.MediaLastModified)
	case resp.ContentLength > 0 && old.MediaSize > 0 && resp.ContentLength != old.MediaSize:
		return fmt.Sprintf("the origin now sends %d bytes, was %d", resp.ContentLength, old.MediaSize)
	case old.MediaLastModified != "" && lm == old.MediaLastModified && resp.ContentLength == old.MediaSize:
		// A new ETag alone, with the same Last-Modified and length, is what a
		// CDN with per-node ETags sends for the same file: not a change.
		return ""
	case old.MediaETag != "" && etag != "" && etag != old.MediaETag:
		return fmt.Sprintf("the origin's ETag is now %s, was %s", etag, old.MediaETag)
	}
	return ""
}
