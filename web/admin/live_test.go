package admin

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestEventsKeepNewestAtInfoAndAbove(t *testing.T) {
	ev := NewEvents(3)
	var text bytes.Buffer
	log := slog.New(Tee{slog.NewTextHandler(&text, nil), ev.Handler()}).With("component", "worker")
	log.Debug("not kept")
	for i := range 5 {
		log.Info(fmt.Sprintf("event %d", i), "feed", "show")
	}
	got := ev.Recent()
	if len(got) != 3 || got[0].Message != "event 4" || got[2].Message != "event 2" {
		t.Fatalf("recent = %+v, want events 4, 3, 2", got)
	}
	if got[0].Attrs != "component=worker feed=show" || got[0].Level != "INFO" {
		t.Fatalf("event = %+v", got[0])
	}
	// The tee still writes every record to the other handler.
	if n := strings.Count(text.String(), "event "); n != 5 {
		t.Fatalf("text handler got %d events, want 5", n)
	}
	var none *Events
	if none.Recent() != nil {
		t.Fatal("nil Events has events")
	}
}

func TestCompletionsChart(t *testing.T) {
	now := time.Date(2026, 3, 15, 18, 0, 0, 0, time.UTC)
	c := completionsChart(map[string]int64{"2026-03-15": 10, "2026-03-14": 5, "2026-03-01": 99}, now)
	if len(c.Bars) != chartDays || c.Max != 10 {
		t.Fatalf("bars %d max %d", len(c.Bars), c.Max)
	}
	last, prev := c.Bars[chartDays-1], c.Bars[chartDays-2]
	if last.Day != "2026-03-15" || last.Count != 10 || prev.H*2 != last.H || c.Bars[0].Day != "2026-03-02" || c.Bars[0].H != 0 {
		t.Fatalf("bars %+v / %+v / first %+v", last, prev, c.Bars[0])
	}
	if last.Y+last.H != c.Height-20 {
		t.Fatalf("bar not on the baseline: %+v", last)
	}
}

func TestRatesBetweenViews(t *testing.T) {
	var r rates
	t0 := time.Unix(1000, 0)
	rows := []TorrentRow{{InfoHash: "a", Uploaded: 100}}
	r.update(rows, t0)
	if rows[0].Rate != 0 {
		t.Fatal("a rate from one sample")
	}
	rows = []TorrentRow{{InfoHash: "a", Uploaded: 1100}, {InfoHash: "b", Uploaded: 5}}
	r.update(rows, t0.Add(2*time.Second))
	if rows[0].Rate != 500 || rows[1].Rate != 0 {
		t.Fatalf("rates %+v", rows)
	}
}

func TestHumanBytes(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 999: "999 B", 1500: "1.5 kB", 2_500_000_000: "2.5 GB"} {
		if got := humanBytes(n); got != want {
			t.Errorf("humanBytes(%d) = %q, want %q", n, got, want)
		}
	}
}
