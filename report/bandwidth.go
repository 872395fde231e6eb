package report

import "strconv"

// Who carried the deliveries: the gateway's seeders (their upload counters, kept in the store
// per node and torrent) or the listeners themselves. A completed download is one whole file
// delivered, so what was delivered is the file's size per counted download; what the seedbox did
// not send of it came from other listeners or the web seed (see docs/MEASUREMENT.md).

// DefaultCostPerGB is audience.cost_per_gb's default: what hosting one decimal gigabyte
// (10^9 bytes) of delivery is taken to cost.
const DefaultCostPerGB = 0.05

// CostUnit says what the cost figures are in.
const CostUnit = "per decimal GB (10^9 bytes) delivered, in the currency of audience.cost_per_gb"

// Bandwidth is the delivery of a torrent, an episode or a feed.
type Bandwidth struct {
	// SeedboxBytes are the piece bytes the gateway's seeders (every node) uploaded.
	SeedboxBytes int64 `json:"seedbox_bytes"`
	// DeliveredBytes is the file's size times its counted downloads.
	DeliveredBytes int64 `json:"delivered_bytes"`
	// ListenerShare is 1 − seedbox ÷ delivered, clamped to 0…1: the part listeners carried.
	ListenerShare float64 `json:"listener_share"`
}

// FeedBandwidth is the feed's delivery and the hosting cost the listeners saved.
type FeedBandwidth struct {
	Bandwidth
	// ListenerBytes is delivered − seedbox, never below zero.
	ListenerBytes int64   `json:"listener_bytes"`
	CostPerGB     float64 `json:"cost_per_gb"`
	// CostSaved is ListenerBytes in decimal GB times CostPerGB.
	CostSaved float64 `json:"cost_saved"`
	CostUnit  string  `json:"cost_unit"`
}

// newBandwidth works out the share of seedbox bytes out of delivered ones.
func newBandwidth(seedbox, delivered int64) Bandwidth {
	b := Bandwidth{SeedboxBytes: seedbox, DeliveredBytes: delivered}
	if delivered > 0 && seedbox < delivered {
		b.ListenerShare = 1 - float64(max(seedbox, 0))/float64(delivered)
	}
	return b
}

// add sums o into b.
func (b *Bandwidth) add(o Bandwidth) {
	*b = newBandwidth(b.SeedboxBytes+o.SeedboxBytes, b.DeliveredBytes+o.DeliveredBytes)
}

// feedBandwidth is b priced at costPerGB.
func feedBandwidth(b Bandwidth, costPerGB float64) FeedBandwidth {
	listeners := max(b.DeliveredBytes-b.SeedboxBytes, 0)
	return FeedBandwidth{Bandwidth: b, ListenerBytes: listeners, CostPerGB: costPerGB,
		CostSaved: float64(listeners) / 1e9 * costPerGB, CostUnit: CostUnit}
}

// bandwidthChart is the listener-share chart: a bar per row (the feed, then each episode), split
// into what the seedbox sent and what listeners carried, laid out here so the template only
// places numbers.
type bandwidthChart struct {
	Width, Height, Left, BarW int
	Rows                      []bandwidthRow
}

type bandwidthRow struct {
	Y, SeedW, ListenX, ListenW, EndX int
	Label, Share                     string
	Bandwidth
}

func newBandwidthChart(r Report) bandwidthChart {
	const rowH, left, barW = 28, 240, 640
	c := bandwidthChart{Width: left + barW + 80, Left: left, BarW: barW}
	add := func(label string, b Bandwidth) {
		row := bandwidthRow{Y: len(c.Rows) * rowH, ListenX: left, EndX: left + barW + 8, Label: label, Bandwidth: b, Share: "no downloads"}
		if b.DeliveredBytes > 0 {
			row.ListenW = int(float64(barW)*b.ListenerShare + 0.5)
			row.SeedW = barW - row.ListenW
			row.ListenX = left + row.SeedW
			row.Share = strconv.FormatFloat(100*b.ListenerShare, 'f', 1, 64) + "%"
		}
		c.Rows = append(c.Rows, row)
	}
	add("whole feed", r.Bandwidth.Bandwidth)
	for _, e := range r.Episodes {
		add(shorten(e.Title, 34), e.Bandwidth)
	}
	c.Height = len(c.Rows) * rowH
	return c
}

// shorten cuts s to at most n runes, marking the cut.
func shorten(s string, n int) string {
	rs := []rune(s)
	if len(rs) <= n {
		return s
	}
	return string(rs[:n-1]) + "…"
}
