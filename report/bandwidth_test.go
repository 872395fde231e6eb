package report

import (
	"math"
	"strings"
	"testing"
)

// Bandwidth on the fixture: per torrent the media size times counted downloads against the
// seeders' bytes, summed per episode and feed, the share clamped, the saving priced per decimal GB.
func TestBandwidthFigures(t *testing.T) {
	r := Build(fixture())
	one, two := r.Episodes[0], r.Episodes[1]
	want := func(name string, got Bandwidth, seedbox, delivered int64, share float64) {
		t.Helper()
		if got.SeedboxBytes != seedbox || got.DeliveredBytes != delivered || math.Abs(got.ListenerShare-share) > 1e-12 {
			t.Errorf("%s: %+v; want seedbox %d, delivered %d, share %v", name, got, seedbox, delivered, share)
		}
	}
	want("episode one", one.Bandwidth, 3_000_000_000, 5*2_000_000_000, 0.7)
	want("episode two's current torrent", two.Torrents[0].Bandwidth, 0, 2*1_500_000, 1)
	want("episode two's superseded torrent", two.Torrents[1].Bandwidth, 4_000_000, 3*1_000_000, 0)
	want("episode two", two.Bandwidth, 4_000_000, 6_000_000, 1-4.0/6)
	want("the feed", r.Bandwidth.Bandwidth, 3_004_000_000, 10_006_000_000, 1-3_004_000_000.0/10_006_000_000)
	if b := r.Bandwidth; b.ListenerBytes != 7_002_000_000 || math.Abs(b.CostSaved-7.002*0.05) > 1e-9 ||
		b.CostPerGB != 0.05 || !strings.Contains(b.CostUnit, "10^9 bytes") {
		t.Errorf("feed saving = %+v; want 7002000000 listener bytes, 0.3501 saved at 0.05 per decimal GB", b)
	}
	// Nothing downloaded: no share, whatever the seeders sent (a replica, a partial download).
	if b := newBandwidth(10, 0); b.ListenerShare != 0 {
		t.Errorf("no downloads: share %v, want 0", b.ListenerShare)
	}
	if b := feedBandwidth(newBandwidth(10, 4), 1); b.ListenerBytes != 0 || b.CostSaved != 0 {
		t.Errorf("seedbox beyond delivered: %+v; want nothing saved", b)
	}
}

// The HTML shows the share chart: a bar per episode and one for the feed, each split in
// proportion to who carried the bytes.
func TestBandwidthChart(t *testing.T) {
	r := Build(fixture())
	c := newBandwidthChart(r)
	if len(c.Rows) != 3 || c.Rows[1].ListenW != 448 || c.Rows[1].SeedW != 192 || c.Rows[1].ListenX != c.Left+192 {
		t.Fatalf("rows = %+v; want the feed, then episode one at 70%% (448 of 640 px)", c.Rows)
	}
	var b strings.Builder
	if err := WriteHTML(&b, r, nil); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	for _, w := range []string{`aria-label="listener share"`, `fill="#2da44e"`, "70.0%", "Who carried the downloads",
		"0.35</b><span>hosting cost saved at 0.05 per GB", "10<sup>9</sup> bytes"} {
		if !strings.Contains(page, w) {
			t.Errorf("page lacks %q", w)
		}
	}
}
