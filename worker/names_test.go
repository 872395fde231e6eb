package worker

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/anacrolix/torrent"
	"github.com/anacrolix/torrent/metainfo"

	"github.com/seedcast/seedcast/seedbox"
	"github.com/seedcast/seedcast/store"
)

func TestTorrentName(t *testing.T) {
	long := strings.Repeat("é", 150) + ".mp3" // 304 bytes
	cases := []struct{ url, title, typ, want string }{
		{"https://cdn.example/shows/ep/Episode%203%20-%20Caf%C3%A9.mp3", "T", "audio/mpeg", "Episode 3 - Café.mp3"},
		{"https://cdn.example/ep-3.mp3?token=secret&x=1#frag", "T", "audio/mpeg", "ep-3.mp3"},
		{"https://dts.example/redirect.mp3/host.example/audio/final.m4a", "T", "audio/mp4", "final.m4a"},
		{"https://cdn.example/EPISODE.MP3", "T", "", "EPISODE.MP3"},
		{"https://cdn.example/a/b/", "Trailing slash", "audio/ogg", "Trailing slash.ogg"},
		// Hostile paths never leave the download directory: the URL's own segments are gone,
		// an encoded one is decoded inside the name and its separators replaced.
		{"https://evil.example/../../etc/passwd", "Ep", "audio/mpeg", "Ep.mp3"},
		{"https://evil.example/x/%2e%2e%2f%2e%2e%2fetc%2fpasswd", "Ep", "audio/mpeg", "Ep.mp3"},
		{"https://evil.example/x/%2e%2e%2fsecret.mp3", "Ep", "audio/mpeg", "secret.mp3"},
		{"https://evil.example/x/..%5C..%5Cwin.ini", "Ep", "", "win.ini"},
		{"https://evil.example/x/%2e%2e", "Dots", "audio/mpeg", "Dots.mp3"},
		{"https://evil.example/x/a%00b%0d%0a.mp3", "T", "audio/mpeg", "ab .mp3"},
		{"https://evil.example/x/%E2%80%AEgpj.exe", "T", "", "gpj.exe"},         // U+202E right-to-left override
		{"https://evil.example/x/.hidden.mp3", "T", "audio/mpeg", "hidden.mp3"}, // no dot files
		{"https://evil.example/x/%ff%fe.mp3", "T", "audio/mpeg", "T.mp3"},       // invalid UTF-8 dropped: only ".mp3" left
		{"https://evil.example/x/CON.mp3", "T", "audio/mpeg", "_CON.mp3"},
		{"https://evil.example/x/" + long, "T", "audio/mpeg", strings.Repeat("é", 88) + ".mp3"},
		// No usable file name in the URL: the title, with the type's extension.
		{"https://host.example/episodes/42/download", "Ep 42: What/Why? <live>", "audio/mpeg", "Ep 42 What Why live.mp3"},
		{"https://host.example/play?id=42", "Interview", "video/mp4", "Interview.mp4"},
		{"https://host.example/play?id=42", "Interview", "audio/mpeg; charset=binary", "Interview.mp3"},
		{"https://host.example/stream", "Unknown type", "application/x-odd", "Unknown type.bin"},
		{"https://host.example/42", "", "audio/x-wav", "42.wav"},
		{"https://host.example/", "\x00\x07", "audio/ogg", "episode.ogg"},
		{"https://host.example/x", "Line\nbreak\ttab", "audio/ogg", "Line break tab.ogg"},
		{"::not a url", "Title", "audio/mpeg", "Title.mp3"},
	}
	for _, c := range cases {
		got := TorrentName(c.url, c.title, c.typ)
		if got != c.want {
			t.Errorf("TorrentName(%q, %q, %q) = %q, want %q", c.url, c.title, c.typ, got, c.want)
		}
		if err := plainName(got); err != "" {
			t.Errorf("TorrentName(%q) = %q: %s", c.url, got, err)
		}
	}
	if got := TorrentName("https://h.example/x", strings.Repeat("word ", 100), "audio/mpeg"); len(got) > maxNameBytes ||
		!strings.HasSuffix(got, ".mp3") || plainName(got) != "" {
		t.Errorf("long title gives %q (%d bytes)", got, len(got))
	}
}

// plainName says what is wrong with name as one file name in a download directory.
func plainName(name string) string {
	switch {
	case name == "" || name == "." || name == "..":
		return "empty or a directory"
	case strings.ContainsAny(name, "/\\\x00"):
		return "has a separator or NUL"
	case strings.HasPrefix(name, ".") || strings.HasSuffix(name, " ") || strings.HasSuffix(name, "."):
		return "starts with a dot or ends with a dot or space"
	case !utf8.ValidString(name):
		return "not UTF-8"
	case len(name) > maxNameBytes:
		return "too long"
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			return "has a control character"
		}
	}
	return ""
}

// The info source is the storage name's hash prefix, so two episodes with the same bytes and the
// same file name still get two info hashes.
func TestTorrentSource(t *testing.T) {
	a := MediaName("guid:a", "https://x.example/ep.mp3", "audio/mpeg")
	b := MediaName("guid:b", "https://x.example/ep.mp3", "audio/mpeg")
	if sa, sb := torrentSource(a), torrentSource(b); len(sa) != 12 || sa == sb || !strings.HasPrefix(a, sa+"-") {
		t.Errorf("sources %q %q of %q %q", sa, sb, a, b)
	}
	if got := torrentSource("media/show/" + a); got != torrentSource(a) {
		t.Errorf("source of a path %q", got)
	}
}

// A published torrent is named for people (the enclosure's file name, or the title when the URL
// has none) while the media keeps its storage name; two enclosures with the same file name and
// the same bytes are two torrents; and a real client saves the download under that name.
func TestPublishedTorrentNamedForPeople(t *testing.T) {
	ctx := context.Background()
	body := strings.Repeat("podcast audio ", 40000)
	mux := http.NewServeMux()
	media := func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, body) }
	mux.HandleFunc("/a/", media)
	mux.HandleFunc("/b/", media)
	mux.HandleFunc("/dl", media)
	var srvURL string
	mux.HandleFunc("/feed.xml", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<rss version="2.0"><channel><title>T</title>
<item><guid>1</guid><title>One</title><enclosure url="%[1]s/a/My%%20Show%%20-%%20Ep%%201.mp3" length="560000" type="audio/mpeg"/></item>
<item><guid>2</guid><title>One again</title><enclosure url="%[1]s/b/My%%20Show%%20-%%20Ep%%201.mp3" length="560000" type="audio/mpeg"/></item>
<item><guid>3</guid><title>Three: the end</title><enclosure url="%[1]s/dl?id=3" length="560000" type="audio/mpeg"/></item>
</channel></rss>`, srvURL)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	srvURL = srv.URL

	dir := t.TempDir()
	st := openTestStore(t, dir)
	w, seeder := startSeedingWorker(t, dir, st, "")
	defer seeder.Close()
	if err := w.Poll(ctx, Feed{Slug: "s", URL: srv.URL + "/feed.xml"}); err != nil {
		t.Fatal(err)
	}
	ts, err := st.Torrents(ctx)
	if err != nil || len(ts) != 3 {
		t.Fatalf("torrents: %v %v", ts, err)
	}
	want := map[string]string{"guid:1": "My Show - Ep 1.mp3", "guid:2": "My Show - Ep 1.mp3", "guid:3": "Three the end.mp3"}
	hashes := map[string]bool{}
	var first *metainfo.MetaInfo
	for _, tr := range ts {
		mi, err := metainfo.LoadFromFile(filepath.Join(dir, tr.TorrentPath))
		if err != nil {
			t.Fatal(err)
		}
		info, err := mi.UnmarshalInfo()
		if err != nil {
			t.Fatal(err)
		}
		if info.Name != want[tr.Key] {
			t.Errorf("%s: info name %q, want %q", tr.Key, info.Name, want[tr.Key])
		}
		media := filepath.Base(tr.MediaPath)
		if !regexp.MustCompile(`^[0-9a-f]{12}-`).MatchString(media) || info.Source != media[:12] {
			t.Errorf("%s: media %q keeps no storage name, or source %q is not its prefix", tr.Key, tr.MediaPath, info.Source)
		}
		hashes[tr.InfoHash] = true
		if tr.Key == "guid:1" {
			first = mi
		}
	}
	if len(hashes) != 3 {
		t.Errorf("%d distinct info hashes for 3 enclosures", len(hashes))
	}

	// A second anacrolix client, told only the seeder's address, saves the file under the name.
	cfg := torrent.NewDefaultClientConfig()
	cfg.DataDir = t.TempDir()
	cfg.KeepAliveTimeout = seedbox.WriterWakeInterval
	cfg.NoDHT, cfg.DisableTrackers, cfg.DisableWebseeds, cfg.DisableWebtorrent = true, true, true, true
	cfg.NoDefaultPortForwarding, cfg.DisableUTP, cfg.DisableIPv6 = true, true, true
	cfg.ListenHost = func(string) string { return "127.0.0.1" }
	cfg.ListenPort = 0
	cl, err := torrent.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	stripped := *first
	stripped.UrlList, stripped.Announce, stripped.AnnounceList = nil, "", nil
	tor, err := cl.AddTorrent(&stripped)
	if err != nil {
		t.Fatal(err)
	}
	seederAddr := []torrent.PeerInfo{{Addr: torrent.StringAddr("127.0.0.1:" + strconv.Itoa(seeder.ListenPort()))}}
	tor.AddPeers(seederAddr)
	tor.DownloadAll()
	deadline := time.After(30 * time.Second)
	redial := time.NewTicker(2 * time.Second)
	defer redial.Stop()
	for done := false; !done; {
		select {
		case <-tor.Complete().On():
			done = true
		case <-redial.C:
			tor.AddPeers(seederAddr)
		case <-deadline:
			t.Fatalf("download incomplete: %d of %d bytes", tor.BytesCompleted(), tor.Length())
		}
	}
	got, err := os.ReadFile(filepath.Join(cfg.DataDir, "My Show - Ep 1.mp3"))
	if err != nil || string(got) != body {
		t.Fatalf("saved file: %d bytes, %v", len(got), err)
	}
}

// A damaged .torrent is made again with the name it was published with: a torrent from before
// names were for people (storage name, no source) keeps its info hash, and so does a new one
// named after its title with an extension from its media type, which the store does not keep.
func TestRebuildFindsPublishedName(t *testing.T) {
	dir := t.TempDir()
	w := &Worker{cfg: Config{DataDir: dir, AnnounceList: [][]string{{"http://127.0.0.1:1/announce"}}, CreatedBy: "test"}}
	url := "https://host.example/play?id=7"
	name := MediaName("guid:7", url, "video/mp4")
	rel := filepath.Join("media", "s", name)
	body := strings.Repeat("video", 70000)
	if err := os.MkdirAll(filepath.Join(dir, "media", "s"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, rel), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	published := time.Date(2025, 5, 1, 12, 0, 0, 0, time.UTC)
	pl := seedbox.PieceLengthFor(int64(len(body)))
	pieces, err := seedbox.HashFile(context.Background(), filepath.Join(dir, rel), pl, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range []seedbox.MetaOptions{
		{Name: name},
		{Name: TorrentName(url, "Seven", "video/mp4"), Source: torrentSource(name)},
	} {
		o.AnnounceList, o.WebSeeds, o.CreatedBy, o.CreationDate, o.Comment = w.cfg.AnnounceList, []string{url}, "test", published, "Seven"
		mi, err := seedbox.BuildMetaInfo(seedbox.Download{Path: filepath.Join(dir, rel), Size: int64(len(body)), PieceLength: pl, Pieces: pieces}, o)
		if err != nil {
			t.Fatal(err)
		}
		got, err := w.rebuildTorrent(context.Background(), store.Torrent{InfoHash: mi.HashInfoBytes().HexString(),
			MediaPath: rel, MediaSize: int64(len(body)), EnclosureURL: url, Title: "Seven", PublishedAt: published})
		if err != nil {
			t.Fatalf("name %q: %v", o.Name, err)
		}
		if got.HashInfoBytes() != mi.HashInfoBytes() {
			t.Fatalf("name %q: rebuilt %s, want %s", o.Name, got.HashInfoBytes(), mi.HashInfoBytes())
		}
	}
}
