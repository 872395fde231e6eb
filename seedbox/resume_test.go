package seedbox

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"
)

// resumeOrigin serves one file that the test can swap, counts the body bytes each request was
// sent, and can stall a request after a number of bytes (for interrupting a download mid-body).
type resumeOrigin struct {
	*httptest.Server

	mu           sync.Mutex
	data         []byte
	etag         string    // "" = no ETag header
	modTime      time.Time // zero = no Last-Modified header
	ignoreRanges bool
	stallAfter   int64 // > 0: the next request stalls after this many body bytes
	stalled      chan struct{}
	requests     []originRequest
}

type originRequest struct {
	rangeHdr, ifRange string
	status            int
	sent              int64
}

func newResumeOrigin(t *testing.T, data []byte) *resumeOrigin {
	t.Helper()
	o := &resumeOrigin{data: data, etag: `"v1"`, modTime: time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)}
	o.Server = httptest.NewServer(http.HandlerFunc(o.serve))
	t.Cleanup(o.Close)
	return o
}

func (o *resumeOrigin) set(data []byte, etag string, modTime time.Time) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.data, o.etag, o.modTime = data, etag, modTime
}

func (o *resumeOrigin) ignoreRange() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.ignoreRanges = true
}

// stallNext makes the next request stop after n body bytes until the client goes away; the
// returned channel closes once those bytes are written.
func (o *resumeOrigin) stallNext(n int64) <-chan struct{} {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.stallAfter, o.stalled = n, make(chan struct{})
	return o.stalled
}

func (o *resumeOrigin) log() []originRequest {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.requests)
}

func (o *resumeOrigin) serve(w http.ResponseWriter, r *http.Request) {
	o.mu.Lock()
	data, etag, modTime, ignore := o.data, o.etag, o.modTime, o.ignoreRanges
	stallAfter, stalled := o.stallAfter, o.stalled
	o.stallAfter = 0
	i := len(o.requests)
	o.requests = append(o.requests, originRequest{rangeHdr: r.Header.Get("Range"), ifRange: r.Header.Get("If-Range")})
	o.mu.Unlock()

	cw := &stallingWriter{ResponseWriter: w, limit: stallAfter}
	defer func() {
		o.mu.Lock()
		o.requests[i].status, o.requests[i].sent = cw.status, cw.sent
		o.mu.Unlock()
	}()
	if etag != "" {
		w.Header().Set("ETag", etag)
	}
	w.Header().Set("Content-Type", "audio/mpeg")
	if ignore {
		if !modTime.IsZero() {
			w.Header().Set("Last-Modified", modTime.Format(http.TimeFormat))
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(data)))
		cw.WriteHeader(http.StatusOK)
		cw.Write(data)
	} else {
		http.ServeContent(cw, r, "", modTime, bytes.NewReader(data))
	}
	if cw.limited {
		w.(http.Flusher).Flush()
		close(stalled)
		<-r.Context().Done()
	}
}

// stallingWriter counts body bytes and stops writing once limit (if > 0) is reached.
type stallingWriter struct {
	http.ResponseWriter
	status  int
	sent    int64
	limit   int64
	limited bool
}

func (c *stallingWriter) WriteHeader(code int) {
	c.status = code
	c.ResponseWriter.WriteHeader(code)
}

func (c *stallingWriter) Write(p []byte) (int, error) {
	if c.status == 0 {
		c.status = http.StatusOK
	}
	if c.limit > 0 && c.sent+int64(len(p)) >= c.limit {
		p = p[:c.limit-c.sent]
		c.limited = true
	}
	n, err := c.ResponseWriter.Write(p)
	c.sent += int64(n)
	if c.limited && err == nil {
		// Ending the handler's copy here; the handler then stalls.
		return n, errors.New("stalled")
	}
	return n, err
}

// interrupt runs a resumable Fetch that the origin stalls after cut bytes, cancels it once the
// part file holds at least minPart bytes, and returns the part's size.
func interrupt(t *testing.T, o *resumeOrigin, dest string, cut, minPart int64) int64 {
	t.Helper()
	return interruptWith(t, o, dest, cut, minPart, FetchOptions{Resume: true})
}

// interruptWith is interrupt with the interrupted fetch's options.
func interruptWith(t *testing.T, o *resumeOrigin, dest string, cut, minPart int64, opts FetchOptions) int64 {
	t.Helper()
	stalled := o.stallNext(cut)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go func() {
		<-stalled
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			if fi, err := os.Stat(dest + ".part"); err == nil && fi.Size() >= minPart {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		cancel()
	}()
	_, err := Fetch(ctx, o.Client(), o.URL+"/ep.mp3", dest, opts)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted fetch: err = %v, want context.Canceled", err)
	}
	if _, err := os.Stat(dest); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("destPath exists after an interrupted fetch: %v", err)
	}
	fi, err := os.Stat(dest + ".part")
	if err != nil {
		return 0
	}
	return fi.Size()
}

// fresh fetches url whole into a new directory: the reference a resumed download must equal.
func fresh(t *testing.T, client *http.Client, url string) Download {
	t.Helper()
	d, err := Fetch(t.Context(), client, url, filepath.Join(t.TempDir(), "ref.mp3"), FetchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func sameDownload(t *testing.T, got, want Download, data []byte) {
	t.Helper()
	content, err := os.ReadFile(got.Path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(content, data) {
		t.Fatal("file differs from the origin's content")
	}
	sum := sha256.Sum256(data)
	if got.Size != int64(len(data)) || got.Size != want.Size || got.PieceLength != want.PieceLength {
		t.Fatalf("size %d piece length %d, fresh: %d %d", got.Size, got.PieceLength, want.Size, want.PieceLength)
	}
	if !bytes.Equal(got.Pieces, want.Pieces) || !bytes.Equal(got.Pieces, referencePieces(t, got.Path, got.PieceLength)) {
		t.Fatal("piece hashes differ from a fresh download")
	}
	if !bytes.Equal(got.SHA256, want.SHA256) || !bytes.Equal(got.SHA256, sum[:]) {
		t.Fatal("sha256 differs from a fresh download")
	}
	if got.ContentType != want.ContentType || got.ETag != want.ETag || got.LastModified != want.LastModified {
		t.Fatalf("headers %q %q %q, fresh %q %q %q", got.ContentType, got.ETag, got.LastModified,
			want.ContentType, want.ETag, want.LastModified)
	}
}

const (
	resumeSize = 3<<20 + 12345
	// The origin stalls here; the part then holds at least two of Fetch's 512 KiB buffers, and
	// the resume point falls inside a 256 KiB piece.
	resumeCut     = 1<<20 + 100_000
	resumeMinPart = 1 << 20
)

func TestFetchResume(t *testing.T) {
	cases := []struct {
		name      string
		etag      string
		modTime   time.Time
		wantIfRng string
	}{
		{"etag", `"v1"`, time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC), `"v1"`},
		{"last-modified only", "", time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC), "Wed, 01 May 2024 12:00:00 GMT"},
		{"weak etag falls back to last-modified", `W/"v1"`, time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC), "Wed, 01 May 2024 12:00:00 GMT"},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			data := randomBytes(resumeSize, uint64(100+i))
			o := newResumeOrigin(t, data)
			o.set(data, c.etag, c.modTime)
			dir := t.TempDir()
			dest := filepath.Join(dir, "ep.mp3")

			part := interrupt(t, o, dest, resumeCut, resumeMinPart)
			if part < resumeMinPart || part > resumeCut {
				t.Fatalf("part holds %d bytes, want %d..%d", part, resumeMinPart, resumeCut)
			}
			if _, err := os.Stat(dest + ".part.json"); err != nil {
				t.Fatalf("no partial download record: %v", err)
			}

			// V2 too: the v2 tree of the part is hashed again from disk, like its pieces.
			d, err := Fetch(t.Context(), o.Client(), o.URL+"/ep.mp3", dest, FetchOptions{Resume: true, V2: true})
			if err != nil {
				t.Fatal(err)
			}
			if d.Merkle == nil {
				t.Fatal("no v2 tree")
			}
			checkMerkle(t, "resumed", *d.Merkle, referenceMerkle(data, d.PieceLength))
			d.Merkle = nil
			if d.ResumedFrom != part {
				t.Fatalf("ResumedFrom = %d, want %d", d.ResumedFrom, part)
			}
			reqs := o.log()
			last := reqs[len(reqs)-1]
			if len(reqs) != 2 || last.status != http.StatusPartialContent {
				t.Fatalf("requests %+v, want the second to be a 206", reqs)
			}
			if last.rangeHdr != "bytes="+strconv.FormatInt(part, 10)+"-" || last.ifRange != c.wantIfRng {
				t.Fatalf("Range %q If-Range %q", last.rangeHdr, last.ifRange)
			}
			if last.sent != int64(len(data))-part {
				t.Fatalf("origin sent %d bytes on resume, want only the remaining %d", last.sent, int64(len(data))-part)
			}
			sameDownload(t, d, fresh(t, o.Client(), o.URL+"/ep.mp3"), data)
			if names := dirEntries(t, dir); !slices.Equal(names, []string{"ep.mp3"}) {
				t.Fatalf("directory holds %v, want only ep.mp3", names)
			}
		})
	}
}

// TestFetchResumeStartsOver covers every answer that must not be spliced onto the part: the result
// is always the origin's current content, fetched whole.
func TestFetchResumeStartsOver(t *testing.T) {
	v1 := randomBytes(resumeSize, 200)
	v2 := randomBytes(resumeSize, 201)
	longer := randomBytes(resumeSize+1000, 202)
	shorter := randomBytes(500_000, 203)
	t1 := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	t2 := t1.Add(time.Hour)
	cases := []struct {
		name string
		// change runs between the interrupted and the resumed attempt.
		change     func(o *resumeOrigin)
		want       []byte
		wantStatus []int // statuses of the requests the resumed Fetch made
	}{
		{"etag changed", func(o *resumeOrigin) { o.set(v2, `"v2"`, t1) }, v2, []int{200}},
		{"last-modified changed", func(o *resumeOrigin) { o.set(v2, "", t2) }, v2, []int{200}},
		{"origin ignores Range", func(o *resumeOrigin) { o.ignoreRange() }, v1, []int{200}},
		// A broken origin that keeps its ETag while the file changes: the Content-Range total
		// gives it away, and a fresh GET follows.
		{"length changed, same etag", func(o *resumeOrigin) { o.set(longer, `"v1"`, t1) }, longer, []int{206, 200}},
		{"shrank below the part, same etag", func(o *resumeOrigin) { o.set(shorter, `"v1"`, t1) }, shorter, []int{416, 200}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := newResumeOrigin(t, v1)
			if c.name == "last-modified changed" {
				o.set(v1, "", t1)
			}
			dir := t.TempDir()
			dest := filepath.Join(dir, "ep.mp3")
			if part := interrupt(t, o, dest, resumeCut, resumeMinPart); part < resumeMinPart {
				t.Fatalf("part holds %d bytes", part)
			}
			c.change(o)

			d, err := Fetch(t.Context(), o.Client(), o.URL+"/ep.mp3", dest, FetchOptions{Resume: true})
			if err != nil {
				t.Fatal(err)
			}
			if d.ResumedFrom != 0 {
				t.Fatalf("ResumedFrom = %d, want a fresh download", d.ResumedFrom)
			}
			reqs := o.log()[1:]
			var statuses []int
			for _, r := range reqs {
				statuses = append(statuses, r.status)
			}
			if !slices.Equal(statuses, c.wantStatus) {
				t.Fatalf("statuses %v, want %v", statuses, c.wantStatus)
			}
			if last := reqs[len(reqs)-1]; last.sent != int64(len(c.want)) {
				t.Fatalf("final request sent %d bytes, want the whole %d", last.sent, len(c.want))
			}
			sameDownload(t, d, fresh(t, o.Client(), o.URL+"/ep.mp3"), c.want)
			if names := dirEntries(t, dir); !slices.Equal(names, []string{"ep.mp3"}) {
				t.Fatalf("directory holds %v, want only ep.mp3", names)
			}
		})
	}
}

func TestFetchResumeNeedsValidators(t *testing.T) {
	data := randomBytes(resumeSize, 300)
	o := newResumeOrigin(t, data)
	o.set(data, `W/"weak"`, time.Time{}) // nothing usable in If-Range
	dir := t.TempDir()
	dest := filepath.Join(dir, "ep.mp3")

	interrupt(t, o, dest, resumeCut, 0)
	// Nothing could be resumed, so nothing is kept.
	if names := dirEntries(t, dir); len(names) != 0 {
		t.Fatalf("leftover files: %v", names)
	}

	// A part without a record (say, from an older version of Seedcast) is not trusted either.
	if err := os.WriteFile(dest+".part", data[:1<<20], 0o644); err != nil {
		t.Fatal(err)
	}
	d, err := Fetch(t.Context(), o.Client(), o.URL+"/ep.mp3", dest, FetchOptions{Resume: true})
	if err != nil {
		t.Fatal(err)
	}
	reqs := o.log()
	if last := reqs[len(reqs)-1]; last.rangeHdr != "" || last.sent != int64(len(data)) || d.ResumedFrom != 0 {
		t.Fatalf("request %+v resumed from %d, want a whole download", last, d.ResumedFrom)
	}
	sameDownload(t, d, fresh(t, o.Client(), o.URL+"/ep.mp3"), data)
}

func TestFetchResumeFailures(t *testing.T) {
	data := randomBytes(resumeSize, 400)

	t.Run("too large on resume discards the part", func(t *testing.T) {
		o := newResumeOrigin(t, data)
		dir := t.TempDir()
		dest := filepath.Join(dir, "ep.mp3")
		interrupt(t, o, dest, resumeCut, resumeMinPart)
		_, err := Fetch(t.Context(), o.Client(), o.URL+"/ep.mp3", dest, FetchOptions{Resume: true, MaxBytes: 2 << 20})
		if !errors.Is(err, ErrTooLarge) {
			t.Fatalf("err = %v, want ErrTooLarge", err)
		}
		if names := dirEntries(t, dir); len(names) != 0 {
			t.Fatalf("leftover files: %v", names)
		}
	})

	t.Run("another URL does not resume", func(t *testing.T) {
		o := newResumeOrigin(t, data)
		dest := filepath.Join(t.TempDir(), "ep.mp3")
		interrupt(t, o, dest, resumeCut, resumeMinPart)
		d, err := Fetch(t.Context(), o.Client(), o.URL+"/other.mp3", dest, FetchOptions{Resume: true})
		if err != nil || d.ResumedFrom != 0 {
			t.Fatalf("ResumedFrom %d, err %v", d.ResumedFrom, err)
		}
	})

	// The part is written without fsync: after a reboot its tail may be lost or zeros, so a
	// part from another boot starts over, and one from this boot resumes.
	t.Run("a part from another boot starts over", func(t *testing.T) {
		for _, c := range []struct {
			boot   string
			resume bool
		}{{"boot-2", false}, {"boot-1", true}} {
			o := newResumeOrigin(t, data)
			dest := filepath.Join(t.TempDir(), "ep.mp3")
			part := interruptWith(t, o, dest, resumeCut, resumeMinPart, FetchOptions{Resume: true, BootID: "boot-1"})
			d, err := Fetch(t.Context(), o.Client(), o.URL+"/ep.mp3", dest, FetchOptions{Resume: true, BootID: c.boot})
			if err != nil {
				t.Fatal(err)
			}
			reqs := o.log()
			last := reqs[len(reqs)-1]
			if c.resume && (d.ResumedFrom != part || last.status != http.StatusPartialContent) {
				t.Fatalf("same boot: ResumedFrom %d (part %d), last status %d; want a resume", d.ResumedFrom, part, last.status)
			}
			if !c.resume && (d.ResumedFrom != 0 || last.status != http.StatusOK || last.rangeHdr != "") {
				t.Fatalf("other boot: ResumedFrom %d, last status %d, Range %q; want a whole GET", d.ResumedFrom, last.status, last.rangeHdr)
			}
			sameDownload(t, d, fresh(t, o.Client(), o.URL+"/ep.mp3"), data)
		}
	})

	t.Run("without Resume a part is discarded", func(t *testing.T) {
		o := newResumeOrigin(t, data)
		dest := filepath.Join(t.TempDir(), "ep.mp3")
		interrupt(t, o, dest, resumeCut, resumeMinPart)
		d, err := Fetch(t.Context(), o.Client(), o.URL+"/ep.mp3", dest, FetchOptions{})
		if err != nil || d.ResumedFrom != 0 {
			t.Fatalf("ResumedFrom %d, err %v", d.ResumedFrom, err)
		}
		if _, err := os.Stat(dest + ".part.json"); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("record left behind: %v", err)
		}
	})

	t.Run("RemovePartial", func(t *testing.T) {
		o := newResumeOrigin(t, data)
		dir := t.TempDir()
		dest := filepath.Join(dir, "ep.mp3")
		interrupt(t, o, dest, resumeCut, resumeMinPart)
		if err := RemovePartial(dest); err != nil {
			t.Fatal(err)
		}
		if names := dirEntries(t, dir); len(names) != 0 {
			t.Fatalf("leftover files: %v", names)
		}
		if err := RemovePartial(dest); err != nil {
			t.Fatalf("second RemovePartial: %v", err)
		}
	})
}

func TestParseContentRange(t *testing.T) {
	good := []struct {
		in                 string
		start, end, length int64
	}{
		{"bytes 0-0/1", 0, 0, 1},
		{"bytes 100-199/200", 100, 199, 200},
		{"bytes 5-9/*", 5, 9, -1},
	}
	for _, c := range good {
		s, e, l, err := parseContentRange(c.in)
		if err != nil || s != c.start || e != c.end || l != c.length {
			t.Errorf("%q: %d %d %d %v", c.in, s, e, l, err)
		}
	}
	for _, in := range []string{
		"", "bytes", "bytes */200", "bytes 10-5/200", "bytes 0-200/200", "bytes -1-5/10",
		"bytes +1-5/10", "bytes 1-5/+10", "items 0-1/2", "bytes 0-1/2/3", "bytes 0-1 /2",
		"bytes 0-99999999999999999999/1", "bytes 1--2/5",
	} {
		if _, _, _, err := parseContentRange(in); err == nil {
			t.Errorf("%q accepted", in)
		}
	}
}

func FuzzParseContentRange(f *testing.F) {
	f.Add("bytes 100-199/200")
	f.Add("bytes 5-9/*")
	f.Fuzz(func(t *testing.T, s string) {
		start, end, total, err := parseContentRange(s)
		if err == nil && (start < 0 || end < start || (total >= 0 && end >= total) || total < -1) {
			t.Fatalf("%q: %d-%d/%d accepted", s, start, end, total)
		}
	})
}
