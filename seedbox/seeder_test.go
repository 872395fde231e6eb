package seedbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/anacrolix/torrent"
	"github.com/anacrolix/torrent/metainfo"
)

// episode is a media file plus its metainfo, hashed the way the pipeline does it.
type episode struct {
	path string
	data []byte
	mi   *metainfo.MetaInfo
}

func newEpisode(t *testing.T, dir string, size int, announce [][]string) episode {
	t.Helper()
	path, data := writeRandomFile(t, dir, "episode.mp3", size, uint64(size))
	pl := PieceLengthFor(int64(size))
	pieces, err := HashFile(t.Context(), path, pl, 0)
	if err != nil {
		t.Fatal(err)
	}
	d := Download{Path: path, Size: int64(size), PieceLength: pl, Pieces: pieces}
	mi, err := BuildMetaInfo(d, MetaOptions{
		Name:         "Episode One.mp3",
		AnnounceList: announce,
		// A webseed that must not be used: leechers here strip it, the seeder disables webseeds.
		WebSeeds: []string{"http://127.0.0.1:1/episode.mp3"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return episode{path: path, data: data, mi: mi}
}

func newTestSeeder(t *testing.T, stateDir string) *Seeder {
	t.Helper()
	return newTestSeederLimit(t, stateDir, 0)
}

func newTestSeederLimit(t *testing.T, stateDir string, uploadRateLimit int64) *Seeder {
	t.Helper()
	s, err := NewSeeder(SeederConfig{
		ListenAddr:      "127.0.0.1:0",
		StateDir:        stateDir,
		DisableUTP:      true, // uTP over loopback is pathologically slow (GUIDE section 6)
		UploadRateLimit: uploadRateLimit,
	}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// leech downloads mi from the seeder with an independent anacrolix client that knows no tracker,
// no DHT and no webseed: the seeder, added as a peer by address, is the only possible source.
func leech(t *testing.T, mi *metainfo.MetaInfo, seederPort int) []byte {
	t.Helper()
	cfg := leecherConfig(t)
	cl, err := torrent.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()

	tor := addStripped(t, cl, mi)
	seeder := []torrent.PeerInfo{{Addr: torrent.StringAddr("127.0.0.1:" + strconv.Itoa(seederPort))}}
	tor.AddPeers(seeder)
	tor.DownloadAll()

	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	// Offer the seeder again now and then: on a loaded machine a first dial
	// or handshake can time out, and the client does not redial on its own.
	redial := time.NewTicker(2 * time.Second)
	defer redial.Stop()
	for done := false; !done; {
		select {
		case <-tor.Complete().On():
			done = true
		case <-redial.C:
			tor.AddPeers(seeder)
		case <-ctx.Done():
			t.Fatalf("leecher did not complete: %d of %d bytes", tor.BytesCompleted(), tor.Length())
		}
	}
	// Files()[0], not the name: anacrolix saves a hybrid's file under a directory of its name.
	got, err := os.ReadFile(filepath.Join(cfg.DataDir, tor.Files()[0].Path()))
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// leecherConfig is an anacrolix client on loopback that knows no tracker, DHT or webseed.
func leecherConfig(t *testing.T) *torrent.ClientConfig {
	cfg := torrent.NewDefaultClientConfig()
	cfg.DataDir = t.TempDir()
	cfg.KeepAliveTimeout = WriterWakeInterval
	cfg.NoDHT = true
	cfg.DisableTrackers = true
	cfg.DisableWebseeds = true
	cfg.DisableWebtorrent = true
	cfg.NoDefaultPortForwarding = true
	cfg.DisableUTP = true
	cfg.DisableIPv6 = true
	cfg.ListenHost = func(string) string { return "127.0.0.1" }
	cfg.ListenPort = 0
	cfg.Slogger = slog.New(slog.DiscardHandler)
	return cfg
}

// addStripped adds mi to cl without its trackers and webseeds, so peers are all cl gets.
func addStripped(t *testing.T, cl *torrent.Client, mi *metainfo.MetaInfo) *torrent.Torrent {
	t.Helper()
	stripped := *mi
	stripped.UrlList = nil
	stripped.Announce = ""
	stripped.AnnounceList = nil
	tor, err := cl.AddTorrent(&stripped)
	if err != nil {
		t.Fatal(err)
	}
	return tor
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestSeederEndToEnd(t *testing.T) {
	// A tracker that records announces, to prove the seeder announces to the metainfo trackers.
	var (
		mu        sync.Mutex
		announces []string
	)
	tracker := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		mu.Lock()
		announces = append(announces, fmt.Sprintf("%x:%s", q.Get("info_hash"), q.Get("port")))
		mu.Unlock()
		w.Write([]byte("d8:intervali1800e5:peers0:e"))
	}))
	defer tracker.Close()

	ep := newEpisode(t, t.TempDir(), 5<<20+321, [][]string{{tracker.URL + "/announce"}})
	s := newTestSeeder(t, t.TempDir())
	if err := s.AddTrusted(t.Context(), ep.mi, ep.path); err != nil {
		t.Fatal(err)
	}
	if n := s.BytesHashed(); n != 0 {
		t.Errorf("trusted add hashed %d bytes, want 0", n)
	}
	// Adding the same torrent again is a no-op.
	if err := s.AddTrusted(t.Context(), ep.mi, ep.path); err != nil {
		t.Fatal(err)
	}
	if err := s.Add(t.Context(), ep.mi, ep.path); err != nil {
		t.Fatal(err)
	}

	if got := leech(t, ep.mi, s.ListenPort()); !bytes.Equal(got, ep.data) {
		t.Fatal("leecher got different bytes")
	}

	ih := ep.mi.HashInfoBytes()
	waitFor(t, "upload stats", func() bool {
		st := s.Stats()
		return len(st.Torrents) == 1 && st.BytesUploaded >= int64(len(ep.data))
	})
	st := s.Stats()
	row := st.Torrents[0]
	if row.InfoHash != ih || !row.Complete || row.Name != "Episode One.mp3" || row.BytesUploaded != st.BytesUploaded {
		t.Errorf("stats row %+v, totals %+v", row, st)
	}
	if st.BytesHashed != 0 {
		t.Errorf("BytesHashed %d after serving, want 0", st.BytesHashed)
	}

	want := fmt.Sprintf("%x:%d", ih[:], s.ListenPort())
	waitFor(t, "announce "+want, func() bool {
		mu.Lock()
		defer mu.Unlock()
		for _, a := range announces {
			if a == want {
				return true
			}
		}
		return false
	})

	// The seeded file is never written to.
	if got, err := os.ReadFile(ep.path); err != nil || !bytes.Equal(got, ep.data) {
		t.Fatalf("seeded file changed: %v", err)
	}

	if err := s.Remove(ih); err != nil {
		t.Fatal(err)
	}
	if len(s.Stats().Torrents) != 0 {
		t.Error("torrent still listed after Remove")
	}
	if err := s.Remove(ih); !errors.Is(err, ErrUnknownTorrent) {
		t.Errorf("second Remove: err = %v", err)
	}
}

func TestSeederRestartHashesNothing(t *testing.T) {
	stateDir := t.TempDir()
	ep := newEpisode(t, t.TempDir(), 5<<20, nil)

	first := newTestSeeder(t, stateDir)
	// Add (not trusted) verifies once, and the count is honest.
	if err := first.Add(t.Context(), ep.mi, ep.path); err != nil {
		t.Fatal(err)
	}
	if n := first.BytesHashed(); n != int64(len(ep.data)) {
		t.Errorf("first add hashed %d bytes, want %d", n, len(ep.data))
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	if err := first.Add(t.Context(), ep.mi, ep.path); !errors.Is(err, ErrClosed) {
		t.Errorf("add after close: err = %v", err)
	}

	// Also exercises a rate limiter: its burst must fit a request or nothing would upload.
	second := newTestSeederLimit(t, stateDir, 50<<20)
	if err := second.Add(t.Context(), ep.mi, ep.path); err != nil {
		t.Fatal(err)
	}
	if n := second.BytesHashed(); n != 0 {
		t.Errorf("restarted seeder hashed %d bytes, want 0", n)
	}
	if got := leech(t, ep.mi, second.ListenPort()); !bytes.Equal(got, ep.data) {
		t.Fatal("leecher got different bytes after restart")
	}
}

func TestSeederRejectsBadFiles(t *testing.T) {
	dir := t.TempDir()
	ep := newEpisode(t, dir, 1<<20, nil)
	s := newTestSeeder(t, t.TempDir())

	// Same size, one byte flipped: verification must catch it and nothing is seeded.
	corrupt := filepath.Join(dir, "corrupt.mp3")
	bad := bytes.Clone(ep.data)
	bad[len(bad)/2] ^= 0xff
	if err := os.WriteFile(corrupt, bad, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := s.Add(t.Context(), ep.mi, corrupt); !errors.Is(err, ErrVerifyFailed) {
		t.Fatalf("corrupt file: err = %v, want ErrVerifyFailed", err)
	}
	if len(s.Stats().Torrents) != 0 {
		t.Error("corrupt torrent is listed")
	}
	// A failed piece is recorded; adding the same file again must still fail, not trust it.
	if err := s.AddTrusted(t.Context(), ep.mi, corrupt); !errors.Is(err, ErrVerifyFailed) {
		t.Fatalf("corrupt file re-added trusted: err = %v, want ErrVerifyFailed", err)
	}

	short := filepath.Join(dir, "short.mp3")
	if err := os.WriteFile(short, ep.data[:1000], 0o644); err != nil {
		t.Fatal(err)
	}
	if err := s.Add(t.Context(), ep.mi, short); err == nil {
		t.Error("wrong-size file accepted")
	}
	if err := s.Add(t.Context(), ep.mi, filepath.Join(dir, "missing.mp3")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: err = %v", err)
	}
	if err := s.Add(t.Context(), &metainfo.MetaInfo{InfoBytes: []byte("garbage")}, ep.path); err == nil {
		t.Error("garbage metainfo accepted")
	}
}

func TestNewSeederConfigErrors(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	if _, err := NewSeeder(SeederConfig{ListenAddr: "127.0.0.1:0"}, log); err == nil {
		t.Error("missing StateDir accepted")
	}
	if _, err := NewSeeder(SeederConfig{ListenAddr: "nonsense", StateDir: t.TempDir()}, log); err == nil {
		t.Error("bad listen address accepted")
	}
	if _, err := NewSeeder(SeederConfig{ListenAddr: "127.0.0.1:99999", StateDir: t.TempDir()}, log); err == nil {
		t.Error("bad port accepted")
	}
}

// flipByte changes one byte of path in place, keeping its size (no truncation, so the seeder's
// mapping of the file stays valid).
func flipByte(t *testing.T, path string, off int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, off); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0xff
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

func TestSeederVerify(t *testing.T) {
	const size = 3<<20 + 777
	ep := newEpisode(t, t.TempDir(), size, nil)
	ih := ep.mi.HashInfoBytes()
	s := newTestSeeder(t, t.TempDir())
	if err := s.AddTrusted(t.Context(), ep.mi, ep.path); err != nil {
		t.Fatal(err)
	}
	if n := s.BytesHashed(); n != 0 {
		t.Fatalf("trusted add hashed %d bytes", n)
	}

	// Intact: every byte is read once, and seeding goes on.
	if err := s.Verify(t.Context(), ih); err != nil {
		t.Fatalf("intact file: %v", err)
	}
	st := s.Stats()
	if len(st.Torrents) != 1 || st.Torrents[0].BytesHashed != size || st.BytesHashed != size {
		t.Fatalf("after verify: %+v", st)
	}
	if got := leech(t, ep.mi, s.ListenPort()); !bytes.Equal(got, ep.data) {
		t.Fatal("leecher got different bytes after verify")
	}

	// One byte flipped in the middle, same size: caught, and the torrent is no longer served.
	flipByte(t, ep.path, size/2)
	if err := s.Verify(t.Context(), ih); !errors.Is(err, ErrVerifyFailed) {
		t.Fatalf("corrupt file: err = %v, want ErrVerifyFailed", err)
	}
	if n := len(s.Stats().Torrents); n != 0 {
		t.Fatalf("%d torrents still seeded after a failed verify", n)
	}
	if err := s.Verify(t.Context(), ih); !errors.Is(err, ErrUnknownTorrent) {
		t.Fatalf("verify after drop: err = %v, want ErrUnknownTorrent", err)
	}
	// The bad piece is remembered: the same file cannot come back as trusted.
	if err := s.AddTrusted(t.Context(), ep.mi, ep.path); !errors.Is(err, ErrVerifyFailed) {
		t.Fatalf("corrupt file re-added trusted: err = %v, want ErrVerifyFailed", err)
	}
	// Repaired (as a re-fetch would), it seeds again.
	flipByte(t, ep.path, size/2)
	if err := s.AddTrusted(t.Context(), ep.mi, ep.path); err != nil {
		t.Fatalf("repaired file: %v", err)
	}
	if err := s.Verify(t.Context(), ih); err != nil {
		t.Fatalf("repaired file: %v", err)
	}
}

func TestSeederVerifyTruncated(t *testing.T) {
	const size = 2 << 20
	ep := newEpisode(t, t.TempDir(), size, nil)
	ih := ep.mi.HashInfoBytes()
	s := newTestSeeder(t, t.TempDir())
	if err := s.AddTrusted(t.Context(), ep.mi, ep.path); err != nil {
		t.Fatal(err)
	}
	// Replaced by a shorter file (a new inode: truncating the mapped one in place is what the
	// size check exists to avoid touching).
	short := ep.path + ".new"
	if err := os.WriteFile(short, ep.data[:size/2], 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(short, ep.path); err != nil {
		t.Fatal(err)
	}
	if err := s.Verify(t.Context(), ih); !errors.Is(err, ErrVerifyFailed) {
		t.Fatalf("truncated file: err = %v, want ErrVerifyFailed", err)
	}
	if n := len(s.Stats().Torrents); n != 0 {
		t.Fatalf("%d torrents still seeded", n)
	}
	// Nothing was hashed, so the pieces were forgotten: a restored file is verified, not trusted.
	before := s.BytesHashed()
	if err := os.WriteFile(short, ep.data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(short, ep.path); err != nil {
		t.Fatal(err)
	}
	if err := s.AddTrusted(t.Context(), ep.mi, ep.path); err != nil {
		t.Fatal(err)
	}
	if n := s.BytesHashed() - before; n != size {
		t.Fatalf("re-add hashed %d bytes, want %d", n, size)
	}
}

// The seeder dials peers a tracker hands it (a leecher that cannot reach us, behind NAT, relies
// on that): here the leecher never dials, so the only way its download completes is our dialer.
func TestSeederDialsPeersFromTheTracker(t *testing.T) {
	cfg := leecherConfig(t)
	cfg.DialForPeerConns = false
	cl, err := torrent.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	port := cl.LocalPort()

	tracker := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// One compact IPv4 peer: the leecher.
		peer := string([]byte{127, 0, 0, 1, byte(port >> 8), byte(port)})
		fmt.Fprintf(w, "d8:intervali1800e5:peers6:%se", peer)
	}))
	defer tracker.Close()

	ep := newEpisode(t, t.TempDir(), 3<<20+17, [][]string{{tracker.URL + "/announce"}})
	tor := addStripped(t, cl, ep.mi)
	tor.DownloadAll()

	s := newTestSeeder(t, t.TempDir())
	if err := s.AddTrusted(t.Context(), ep.mi, ep.path); err != nil {
		t.Fatal(err)
	}
	select {
	case <-tor.Complete().On():
	case <-time.After(30 * time.Second):
		t.Fatalf("leecher did not complete: %d of %d bytes", tor.BytesCompleted(), tor.Length())
	}
	// Files()[0], not the name: anacrolix saves a hybrid's file under a directory of its name.
	got, err := os.ReadFile(filepath.Join(cfg.DataDir, tor.Files()[0].Path()))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, ep.data) {
		t.Fatal("leecher got different bytes")
	}
}

// The upload limit holds: a leecher cannot get the file faster than the limit allows (a lower
// bound on the time, which a slow machine cannot break), and it does get all of it.
func TestSeederUploadRateLimit(t *testing.T) {
	const limit = 4 << 20 // bytes per second
	ep := newEpisode(t, t.TempDir(), 2<<20, nil)
	s := newTestSeederLimit(t, t.TempDir(), limit)
	if err := s.AddTrusted(t.Context(), ep.mi, ep.path); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if got := leech(t, ep.mi, s.ListenPort()); !bytes.Equal(got, ep.data) {
		t.Fatal("leecher got different bytes")
	}
	took := time.Since(start)
	// The limiter starts with one burst in hand; everything after it is paced.
	if least := time.Duration(float64(len(ep.data)-uploadBurst) / limit * float64(time.Second)); took < least {
		t.Fatalf("2 MiB at %d B/s took %v, less than the %v the limit allows", limit, took, least)
	}
}
