package seedbox

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestFetchIdleTimeout: an origin that stops sending mid-body (it blocks until the client goes
// away) fails the download after IdleTimeout, not after some whole-download limit; the part is
// kept and the next attempt resumes it.
func TestFetchIdleTimeout(t *testing.T) {
	data := randomBytes(resumeSize, 300)
	o := newResumeOrigin(t, data)
	dest := filepath.Join(t.TempDir(), "ep.mp3")
	stalled := o.stallNext(resumeCut)

	start := time.Now()
	_, err := Fetch(t.Context(), o.Client(), o.URL+"/ep.mp3", dest, FetchOptions{Resume: true, IdleTimeout: 200 * time.Millisecond})
	if !errors.Is(err, ErrIdle) {
		t.Fatalf("err = %v, want ErrIdle", err)
	}
	select {
	case <-stalled:
	default:
		t.Fatal("the origin never reached its stall point")
	}
	if took := time.Since(start); took > 20*time.Second {
		t.Fatalf("the stalled download took %s to fail", took)
	}
	if !strings.Contains(err.Error(), "no data for 200ms") || !strings.Contains(err.Error(), o.URL+"/ep.mp3") {
		t.Fatalf("error %q should name the URL and the idle time", err)
	}
	fi, err := os.Stat(dest + ".part")
	if err != nil || fi.Size() == 0 || fi.Size() > resumeCut {
		t.Fatalf("part after an idle failure: %v, %v", fi, err)
	}

	d, err := Fetch(t.Context(), o.Client(), o.URL+"/ep.mp3", dest, FetchOptions{Resume: true, IdleTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if d.ResumedFrom != fi.Size() {
		t.Fatalf("ResumedFrom = %d, want the kept part's %d", d.ResumedFrom, fi.Size())
	}
	sameDownload(t, d, fresh(t, o.Client(), o.URL+"/ep.mp3"), data)
}

// TestFetchIdleTimeoutWithoutResume: without Resume an idle failure leaves nothing behind.
func TestFetchIdleTimeoutWithoutResume(t *testing.T) {
	o := newResumeOrigin(t, randomBytes(resumeSize, 301))
	dir := t.TempDir()
	o.stallNext(resumeCut)
	_, err := Fetch(t.Context(), o.Client(), o.URL+"/ep.mp3", filepath.Join(dir, "ep.mp3"), FetchOptions{IdleTimeout: 100 * time.Millisecond})
	if !errors.Is(err, ErrIdle) {
		t.Fatalf("err = %v, want ErrIdle", err)
	}
	if names := dirEntries(t, dir); len(names) != 0 {
		t.Fatalf("directory holds %v after a failed fetch without resume", names)
	}
}
