package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/creack/pty"

	"github.com/seedcast/seedcast/config"
)

// barChars are what a drawn bar prints and a log line never does.
var barChars = []string{"█", "\r", "100%"}

// terminal opens a real pseudo-terminal: the command writes to tty, as it would to a person's
// terminal, and output returns everything the terminal received once the command is done.
func terminal(t *testing.T) (tty *os.File, output func() string) {
	t.Helper()
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal here: %v", err)
	}
	t.Cleanup(func() { ptmx.Close(); tty.Close() })
	if err := pty.Setsize(ptmx, &pty.Winsize{Rows: 40, Cols: 160}); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	done := make(chan struct{})
	go func() {
		// Drained as it comes, so the command never blocks on a full terminal; ends (EIO) when
		// the last tty is closed.
		io.Copy(&buf, ptmx)
		close(done)
	}()
	return tty, func() string {
		tty.Close()
		<-done
		return buf.String()
	}
}

func noBars(t *testing.T, what, out string) {
	t.Helper()
	for _, c := range barChars {
		if strings.Contains(out, c) {
			t.Fatalf("%s written to a buffer contains %q, a bar's:\n%q", what, c, out)
		}
	}
}

func wantBar(t *testing.T, what, out, label string) {
	t.Helper()
	if !strings.Contains(out, "100%") || !strings.Contains(out, "█") || !strings.Contains(out, label) {
		t.Fatalf("%s on a terminal: no bar %q at 100%%:\n%q", what, label, out)
	}
}

// TestTorrentCreateProgress: hashing draws a bar that reaches 100% on a terminal, and nothing
// of a bar when stderr is not one.
func TestTorrentCreateProgress(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "episode.mp3")
	writeRandom(t, file, 3<<20+999)
	for _, format := range []string{"v1", "hybrid"} {
		t.Run(format, func(t *testing.T) {
			args := []string{"torrent", "create", file, "-o", filepath.Join(dir, format+".torrent"), "-format", format}
			tty, output := terminal(t)
			var stdout bytes.Buffer
			if code := run(args, &stdout, tty); code != 0 {
				t.Fatalf("exit %d: %s", code, output())
			}
			wantBar(t, "torrent create", output(), "hashing episode.mp3")
			if !strings.Contains(stdout.String(), "info_hash ") {
				t.Fatalf("stdout %q", stdout.String())
			}

			code, _, stderr := runCmd(t, args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			noBars(t, "torrent create's stderr", stderr)
		})
	}
}

// pollConfig writes a config whose one feed lists one enclosure of size bytes, served with its
// Content-Length.
func pollConfig(t *testing.T, size int) string { return pollConfigLength(t, size, true) }

// pollConfigLength is pollConfig with the enclosure's Content-Length sent or not (chunked).
func pollConfigLength(t *testing.T, size int, declared bool) string {
	t.Helper()
	media := strings.Repeat("m", size)
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/feed.xml":
			fmt.Fprintf(w, `<?xml version="1.0"?><rss version="2.0"><channel><title>Show</title>
<item><guid>e1</guid><title>Episode one</title><enclosure url="%s/e1.mp3" length="%d" type="audio/mpeg"/></item>
</channel></rss>`, srv.URL, size)
		case "/e1.mp3":
			if declared {
				w.Header().Set("Content-Length", strconv.Itoa(size))
			}
			for i := 0; i < size; i += 64 << 10 {
				io.WriteString(w, media[i:min(i+64<<10, size)])
				w.(http.Flusher).Flush()
			}
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	path := filepath.Join(dir, "config.yaml")
	text := fmt.Sprintf(`data_dir: %s
demo: false
tracker: {udp_listen: "off"}
fetch: {allow_private_networks: true, min_free_bytes: 1}
feeds:
  - {slug: show, url: %q}
`, filepath.Join(dir, "data"), srv.URL+"/feed.xml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestPollProgress: `seedcast poll` draws a bar per download that reaches 100% on a terminal,
// beside its log lines; written elsewhere it writes the log lines only.
func TestPollProgress(t *testing.T) {
	tty, output := terminal(t)
	var stdout bytes.Buffer
	if code := run([]string{"poll", "-config", pollConfig(t, 3<<20)}, &stdout, tty); code != 0 {
		t.Fatalf("exit %d: %s", code, output())
	}
	out := output()
	wantBar(t, "poll", out, "show: Episode one")
	if !strings.Contains(out, "msg=published") {
		t.Fatalf("poll on a terminal: no log line for the publication:\n%q", out)
	}

	var stderr bytes.Buffer
	if code := run([]string{"poll", "-config", pollConfig(t, 3<<20)}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if !strings.Contains(stderr.String(), "msg=downloading") || !strings.Contains(stderr.String(), "msg=published") {
		t.Fatalf("poll's log lines are missing:\n%s", stderr.String())
	}
	noBars(t, "poll's stderr", stderr.String())
}

// TestPollProgressUnknownLength: a download of undeclared size shows a spinner and its byte
// count, and ends on a line of its own.
func TestPollProgressUnknownLength(t *testing.T) {
	tty, output := terminal(t)
	var stdout bytes.Buffer
	if code := run([]string{"poll", "-config", pollConfigLength(t, 3<<20, false)}, &stdout, tty); code != 0 {
		t.Fatalf("exit %d: %s", code, output())
	}
	out := output()
	if !strings.Contains(out, "show: Episode one") || !strings.Contains(out, "3.1 MB") || !strings.Contains(out, "\r\ntime=") {
		t.Fatalf("poll of an undeclared length on a terminal: no finished spinner with the byte count:\n%q", out)
	}
	if strings.Contains(out, "100%") {
		t.Fatalf("a download of unknown size claims a percentage:\n%q", out)
	}
}

// TestServeDrawsNoBars: the daemon's worker has no progress hook, whatever its stderr is.
func TestServeDrawsNoBars(t *testing.T) {
	cfg, err := config.Load(pollConfig(t, 10))
	if err != nil {
		t.Fatal(err)
	}
	if workerConfig(cfg).Progress != nil {
		t.Fatal("workerConfig, which serve uses, sets a progress hook")
	}
}

// TestBarLabel: a feed's title cannot send escape sequences to the terminal, and is cut short.
func TestBarLabel(t *testing.T) {
	if got := barLabel("show: \x1b]0;pwned\x07Ep\u202eone"); strings.ContainsAny(got, "\x1b\x07\u202e") {
		t.Fatalf("barLabel kept control characters: %q", got)
	}
	if got := barLabel(strings.Repeat("é", 100)); len([]rune(got)) != barLabelRunes {
		t.Fatalf("barLabel of 100 runes has %d", len([]rune(got)))
	}
}
