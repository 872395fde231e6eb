package tracker

import (
	"bytes"
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/anacrolix/torrent/bencode"
	"github.com/anacrolix/torrent/metainfo"
)

// TestAria2DownloadCountsOnce runs two real aria2 processes against the HTTP
// tracker: a seeder that starts complete and a leecher with --seed-time=0, which
// reports completion only through a stopped announce with left=0.
func TestAria2DownloadCountsOnce(t *testing.T) {
	aria2, err := exec.LookPath("aria2c")
	if err != nil || testing.Short() {
		t.Skip("aria2c not installed or -short")
	}
	dir := t.TempDir()
	seedDir, leechDir := filepath.Join(dir, "seed"), filepath.Join(dir, "leech")
	for _, d := range []string{seedDir, leechDir} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	content := make([]byte, 1<<20)
	_, _ = rand.Read(content)
	if err := os.WriteFile(filepath.Join(seedDir, "episode.mp3"), content, 0o644); err != nil {
		t.Fatal(err)
	}

	st := openStore(t)
	tr := New(Config{AnnounceInterval: time.Minute}, st, testLogger(t), nil)
	_, base := newTestTrackerFor(t, tr)

	info := metainfo.Info{PieceLength: 256 << 10}
	if err := info.BuildFromFilePath(filepath.Join(seedDir, "episode.mp3")); err != nil {
		t.Fatal(err)
	}
	infoBytes, err := bencode.Marshal(info)
	if err != nil {
		t.Fatal(err)
	}
	mi := metainfo.MetaInfo{Announce: base + "/announce", InfoBytes: infoBytes}
	var buf bytes.Buffer
	if err := mi.Write(&buf); err != nil {
		t.Fatal(err)
	}
	torrentPath := filepath.Join(dir, "episode.torrent")
	if err := os.WriteFile(torrentPath, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	ih := mi.HashInfoBytes()
	if err := tr.Allow(t.Context(), ih, 0); err != nil {
		t.Fatal(err)
	}

	common := []string{
		"--interface=127.0.0.1", "--enable-dht=false", "--enable-dht6=false", "--bt-enable-lpd=false",
		"--enable-peer-exchange=false", "--bt-tracker-interval=1", "--console-log-level=warn",
		"--summary-interval=0", "--file-allocation=none", "--bt-max-peers=5",
	}
	seeder := exec.Command(aria2, append(common,
		"--dir="+seedDir, "--check-integrity=true", "--seed-ratio=0.0", "--listen-port=16881-16899",
		torrentPath)...)
	seeder.Stdout, seeder.Stderr = t.Output(), t.Output()
	if err := seeder.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = seeder.Process.Kill()
		_ = seeder.Wait()
	})
	waitFor(t, 20*time.Second, func() bool {
		s, _ := tr.Stats(ih)
		return s.Complete == 1
	})

	leecher := exec.CommandContext(t.Context(), aria2, append(common,
		"--dir="+leechDir, "--seed-time=0", "--listen-port=16900-16919", torrentPath)...)
	leecher.Stdout, leecher.Stderr = t.Output(), t.Output()
	if err := leecher.Run(); err != nil {
		t.Fatalf("aria2 leecher: %v", err)
	}
	got, err := os.ReadFile(filepath.Join(leechDir, "episode.mp3"))
	if err != nil || !bytes.Equal(got, content) {
		t.Fatalf("leecher did not get the file: %v", err)
	}
	waitFor(t, 10*time.Second, func() bool {
		s, _ := tr.Stats(ih)
		return s.Downloaded == 1
	})
	if s, _ := tr.Stats(ih); s.Downloaded != 1 || s.Complete != 1 || s.Incomplete != 0 {
		t.Fatalf("stats %+v, want the seeder only and one download", s)
	}
}

// newTestTrackerFor serves an existing tracker over HTTP.
func newTestTrackerFor(t *testing.T, tr *Tracker) (*Tracker, string) {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("/announce", tr.AnnounceHandler())
	mux.Handle("/scrape", tr.ScrapeHandler())
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return tr, srv.URL
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %v", within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
