package worker

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/anacrolix/torrent/metainfo"

	"github.com/seedcast/seedcast/safehttp"
	"github.com/seedcast/seedcast/seedbox"
	"github.com/seedcast/seedcast/store"
)

func (w *Worker) downloadPending(ctx context.Context, slug string) error {
	pending, err := w.st.Unpublished(ctx, slug)
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range pending {
		if ctx.Err() != nil {
			return errors.Join(append(errs, ctx.Err())...)
		}
		if err := w.publish(ctx, slug, e); err != nil {
			err = fmt.Errorf("episode %q (%s): %w", e.Title, safehttp.RedactURL(e.EnclosureURL), err)
			errs = append(errs, err)
			if ctx.Err() == nil {
				if ferr := w.st.Fail(ctx, slug, e.Key, err.Error()); ferr != nil {
					errs = append(errs, ferr)
				}
			}
		}
	}
	return errors.Join(errs...)
}

// publish downloads one enclosure and publishes its torrent. The order is what
// makes a crash harmless: media is renamed into place only when complete, the
// .torrent is written atomically, seeder and tracker learn of it, and the
// store's Publish is the last step and the only one the output feed sees.
func (w *Worker) publish(ctx context.Context, slug string, e store.Episode) error {
	started := w.now()
	got, err := w.fetchEnclosure(ctx, slug, e)
	if err != nil {
		return err
	}
	p, err := w.makeTorrent(ctx, e, got)
	if err != nil {
		return err
	}
	if err := w.st.Publish(ctx, slug, e.Key, p); err != nil {
		return err
	}
	w.cfg.Push.Changed(slug)
	w.cfg.Recorder.Downloaded(got.Size - got.ResumedFrom)
	if !e.SeenAt.IsZero() {
		w.cfg.Recorder.Published(w.now().Sub(e.SeenAt))
	}
	w.log.Info("published", "feed", slug, "key", e.Key, "info_hash", p.InfoHash,
		"bytes", got.Size, "resumed_from", got.ResumedFrom, "took", w.now().Sub(started).Round(time.Millisecond))
	w.syncPublished(ctx, slug, e.Key, got.abs)
	return nil
}

// fetched is an enclosure downloaded under its media file name.
type fetched struct {
	seedbox.Download
	name, rel, abs string // file name, path relative to data_dir, absolute path
}

// fetchEnclosure downloads an episode's enclosure to a media file no torrent
// seeds, within the disk-space floor, holding a download slot meanwhile.
func (w *Worker) fetchEnclosure(ctx context.Context, slug string, e store.Episode) (fetched, error) {
	name, err := w.freeMediaName(ctx, slug, e)
	if err != nil {
		return fetched{}, err
	}
	relMedia := filepath.Join("media", slug, name)
	absMedia := filepath.Join(w.cfg.DataDir, relMedia)
	if err := os.MkdirAll(filepath.Dir(absMedia), 0o755); err != nil {
		return fetched{}, err
	}
	client := w.cl.Media
	if w.isSelf(e.EnclosureURL) {
		client = w.cl.SelfMedia
	}
	// The disk-space floor bounds the download twice: a declared length that
	// would cross it refuses to start, and the remaining budget caps the
	// body, so an origin that lies or declares nothing cannot fill the disk.
	free, err := freeBytes(w.cfg.DataDir)
	if err != nil {
		return fetched{}, fmt.Errorf("disk space of %s: %w", w.cfg.DataDir, err)
	}
	budget := free - w.cfg.MinFreeBytes
	if budget <= 0 || (e.EnclosureLength > 0 && e.EnclosureLength > budget) {
		return fetched{}, fmt.Errorf("%w: not started: data_dir has %s free, the episode declares %s and fetch.min_free_bytes keeps %s free",
			ErrDiskFloor, humanBytes(free), humanBytes(e.EnclosureLength), humanBytes(w.cfg.MinFreeBytes))
	}
	maxBytes := w.cfg.MaxEnclosureBytes
	if maxBytes <= 0 || budget < maxBytes {
		maxBytes = budget
	}
	release, err := w.downloads.acquire(ctx, e.EnclosureURL)
	if err != nil {
		return fetched{}, err
	}
	w.log.Info("downloading", "feed", slug, "key", e.Key, "url", safehttp.RedactURL(e.EnclosureURL))
	w.trackActive(slug, e, absMedia+".part")
	defer w.untrackActive(slug, e.Key)
	d, err := seedbox.Fetch(ctx, client, e.EnclosureURL, absMedia, seedbox.FetchOptions{MaxBytes: maxBytes,
		Resume: true, NoSync: w.cfg.BootID != "", BootID: w.cfg.BootID, IdleTimeout: w.cfg.IdleTimeout, V2: w.cfg.Hybrid,
		Progress: w.progress(slug, e)})
	release()
	if errors.Is(err, seedbox.ErrIdle) {
		return fetched{}, fmt.Errorf("%w (fetch.enclosure_idle_timeout)", err)
	}
	if errors.Is(err, seedbox.ErrTooLarge) && maxBytes < w.cfg.MaxEnclosureBytes {
		return fetched{}, fmt.Errorf("%w: stopped: the body outgrew the %s data_dir can spare above fetch.min_free_bytes: %w",
			ErrDiskFloor, humanBytes(maxBytes), err)
	}
	if err != nil {
		return fetched{}, err
	}
	return fetched{Download: d, name: name, rel: relMedia, abs: absMedia}, nil
}

// progress is the seedbox hook for Config.Progress, nil without it.
func (w *Worker) progress(slug string, e store.Episode) func(done, total int64) (io.Writer, func(error)) {
	if w.cfg.Progress == nil {
		return nil
	}
	name := slug + ": " + cmp.Or(e.Title, e.Key)
	return func(done, total int64) (io.Writer, func(error)) { return w.cfg.Progress(name, done, total) }
}

// makeTorrent builds and writes the torrent of a downloaded enclosure and
// hands it to the tracker and seeder, returning what the store must record.
func (w *Worker) makeTorrent(ctx context.Context, e store.Episode, got fetched) (store.Publication, error) {
	// The creation date is the publication time the store keeps, so a damaged .torrent made
	// again from the store and the media (loadTorrent) comes out byte for byte the same.
	now := w.now()
	mi, err := seedbox.BuildMetaInfo(got.Download, seedbox.MetaOptions{
		Name:         TorrentName(e.EnclosureURL, e.Title, e.EnclosureType),
		Source:       torrentSource(got.name),
		AnnounceList: w.cfg.AnnounceList,
		WebSeeds:     []string{e.EnclosureURL},
		CreatedBy:    w.cfg.CreatedBy,
		CreationDate: now,
		Comment:      e.Title,
	})
	if err != nil {
		return store.Publication{}, err
	}
	ih := mi.HashInfoBytes()
	var ihV2 string
	if v2, ok := seedbox.InfoHashV2(mi); ok {
		ihV2 = hex.EncodeToString(v2[:])
	}
	relTorrent := filepath.Join("torrents", ih.HexString()+".torrent")
	if err := os.MkdirAll(filepath.Join(w.cfg.DataDir, "torrents"), 0o755); err != nil {
		return store.Publication{}, err
	}
	size, sum, err := seedbox.WriteTorrentFileSum(filepath.Join(w.cfg.DataDir, relTorrent), mi)
	if err != nil {
		return store.Publication{}, err
	}
	// The store keeps the file too: every node serves it, and a damaged copy is restored from it.
	data, err := os.ReadFile(filepath.Join(w.cfg.DataDir, relTorrent))
	if err != nil {
		return store.Publication{}, err
	}
	if err := w.announce(ctx, mi, got.abs, true); err != nil {
		return store.Publication{}, fmt.Errorf("seed: %w", err)
	}
	return store.Publication{
		InfoHash: ih.HexString(), InfoHashV2: ihV2, TorrentPath: relTorrent, TorrentSize: size, TorrentSHA256: sum, TorrentData: data,
		Node:      w.cfg.NodeName,
		MediaPath: got.rel, MediaSize: got.Size, SHA256: hex.EncodeToString(got.SHA256),
		ETag: got.ETag, LastModified: got.LastModified, At: now, UnsyncedBoot: w.cfg.BootID,
	}, nil
}

// syncPublished fsyncs media published from the page cache (see Config.BootID).
func (w *Worker) syncPublished(ctx context.Context, slug, key, absMedia string) {
	if w.cfg.BootID != "" {
		// Not cancelled by shutdown: a few seconds of fsync save a re-hash after a reboot.
		w.markDurable(context.WithoutCancel(ctx), slug, key, absMedia)
	}
}

// markDurable fsyncs published media and records that it is durable. A failure only leaves the
// record saying otherwise, so a start in another boot re-hashes the file.
func (w *Worker) markDurable(ctx context.Context, slug, key, absMedia string) {
	if err := seedbox.SyncFile(absMedia); err != nil {
		w.log.Warn("media not synced", "feed", slug, "key", key, "err", err)
		return
	}
	if err := w.st.MarkSynced(ctx, slug, key); err != nil {
		w.log.Warn("media synced but not recorded", "feed", slug, "key", key, "err", err)
	}
}

// freeMediaName picks the episode's file name, moving to a new one when a
// torrent still seeds the old file (an enclosure that changed): a seeded file
// is never replaced. A file nobody seeds (left by a crash before publishing)
// is simply overwritten.
func (w *Worker) freeMediaName(ctx context.Context, slug string, e store.Episode) (string, error) {
	for n := 0; ; n++ {
		key := e.Key
		if n > 0 {
			key = fmt.Sprintf("%s@%d", e.Key, n)
		}
		name := MediaName(key, e.EnclosureURL, e.EnclosureType)
		inUse, err := w.st.MediaInUse(ctx, filepath.Join("media", slug, name))
		if err != nil {
			return "", err
		}
		if !inUse {
			return name, nil
		}
	}
}

// MediaName derives a safe, unique file name for an episode's media: a short
// hash of its identity (unique per episode) and a sanitised base name from the
// URL, so names never traverse, never collide and stay readable in clients.
func MediaName(key, rawURL, mediaType string) string {
	sum := sha256.Sum256([]byte(key))
	prefix := hex.EncodeToString(sum[:])[:12]
	base := ""
	if u, err := url.Parse(rawURL); err == nil {
		base = path.Base(u.Path)
	}
	var b strings.Builder
	for _, r := range base {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	clean := strings.Trim(b.String(), "._")
	if len(clean) > 80 {
		clean = clean[len(clean)-80:]
	}
	if clean == "" {
		clean = "episode" + extFor(mediaType)
	}
	return prefix + "-" + clean
}

func extFor(mediaType string) string {
	switch {
	case strings.Contains(mediaType, "mpeg"):
		return ".mp3"
	case strings.Contains(mediaType, "mp4"), strings.Contains(mediaType, "m4a"):
		return ".m4a"
	case strings.Contains(mediaType, "ogg"):
		return ".ogg"
	case strings.Contains(mediaType, "wav"):
		return ".wav"
	}
	return ".bin"
}

func (w *Worker) trackActive(slug string, e store.Episode, partPath string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.active[slug+"\x00"+e.Key] = &activeDownload{Feed: slug, Key: e.Key, Title: e.Title, URL: e.EnclosureURL,
		PartPath: partPath, Length: e.EnclosureLength, Started: w.now()}
}

func (w *Worker) untrackActive(slug, key string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.active, slug+"\x00"+key)
}

// torrentLength is the total size of mi's files, 0 if its info does not parse
// (then the tracker checks no minimum download time).
func torrentLength(mi *metainfo.MetaInfo) int64 {
	info, err := mi.UnmarshalInfo()
	if err != nil {
		return 0
	}
	return info.TotalLength()
}
