package report

import (
	"bytes"
	_ "embed"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// WriteJSON writes the report as indented JSON.
func WriteJSON(w io.Writer, r Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("report: json: %w", err)
	}
	return nil
}

// trackerURLs is every tracker of the report, embedded first: the CSV's
// extra column groups, the same for every row.
func trackerURLs(r Report) []string {
	var out []string
	for _, t := range r.Totals.Trackers {
		out = append(out, t.URL)
	}
	return out
}

// WriteCSV writes one row per torrent after a header row: an episode whose
// enclosure never changed has one row, one that was replaced also a row per
// superseded torrent, each with the episode's guid, title and release date.
// So the downloads column sums to the feed's totals and, per guid, to the
// episode's figures. Each tracker gets its own columns named after its URL,
// so counters are never merged.
func WriteCSV(w io.Writer, r Report) error {
	cw := csv.NewWriter(w)
	header := []string{"feed", "guid", "title", "published", "info_hash", "downloads",
		"downloads_24h", "downloads_7d", "downloads_30d", "seeders", "leechers",
		"torrent_state", "torrent_published_at", "evicted_at", "seedbox_bytes", "delivered_bytes", "listener_share"}
	header = append(header, audienceHeader...)
	countries := countryColumns(r)
	for _, a := range ClientApps {
		header = append(header, "client "+a)
	}
	for _, c := range countries {
		header = append(header, "country "+c)
	}
	urls := trackerURLs(r)
	for _, u := range urls {
		header = append(header, u+" complete", u+" incomplete", u+" downloaded", u+" scraped_at")
	}
	cw.Write(header)
	for _, e := range r.Episodes {
		ts := e.Torrents
		if len(ts) == 0 { // an item without an enclosure: its row, all zero
			ts = []Torrent{{Figures: e.Figures}}
		}
		for _, t := range ts {
			row := []string{r.Feed, cell(e.GUID), cell(e.Title), csvTime(e.Published), t.InfoHash,
				itoa(t.Downloads), itoa(t.Downloads24h), itoa(t.Downloads7d), itoa(t.Downloads30d),
				itoa(t.Seeders), itoa(t.Leechers), t.State, csvTime(t.PublishedAt), csvTime(t.EvictedAt),
				itoa(t.Bandwidth.SeedboxBytes), itoa(t.Bandwidth.DeliveredBytes), share(t.Bandwidth.ListenerShare)}
			row = append(row, audienceCells(t.Audience, e.UniqueListeners)...)
			for _, a := range ClientApps {
				row = append(row, itoa(t.Clients[a]))
			}
			for _, c := range countries {
				row = append(row, itoa(t.Countries[c]))
			}
			for _, u := range urls {
				var tr Tracker
				for _, x := range t.Trackers {
					if x.URL == u {
						tr = x
					}
				}
				row = append(row, itoa(tr.Complete), itoa(tr.Incomplete), itoa(tr.Downloaded), csvTime(tr.ScrapedAt))
			}
			cw.Write(row)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("report: csv: %w", err)
	}
	return nil
}

// audienceHeader names the audience columns of a CSV row: the torrent's own figures, but
// unique listeners are the episode's (an item's torrents share its listeners), repeated on
// each of its rows.
var audienceHeader = []string{"completions", "starts", "completion_rate", "unique_listeners_24h",
	"unique_listeners_7d", "unique_listeners_30d", "since_release_24h", "since_release_7d", "since_release_30d"}

func audienceCells(a Audience, u Windows) []string {
	return []string{itoa(a.Completions), itoa(a.Starts), rateText(a.CompletionRate), itoa(u.H24), itoa(u.D7),
		itoa(u.D30), itoa(a.SinceRelease.H24), itoa(a.SinceRelease.D7), itoa(a.SinceRelease.D30)}
}

// rateText is a completion rate with four decimals; empty without starts.
func rateText(r *float64) string {
	if r == nil {
		return ""
	}
	return strconv.FormatFloat(*r, 'f', 4, 64)
}

// percent is a completion rate as a percentage; "—" without starts.
func percent(r *float64) string {
	if r == nil {
		return "—"
	}
	return strconv.FormatFloat(*r*100, 'f', 1, 64) + "%"
}

// countryColumns are the countries with downloads in the report, by code ("unknown" last).
func countryColumns(r Report) []string {
	var out []string
	for _, s := range sortedShares(r.Totals.Countries, nil) {
		out = append(out, s.Name)
	}
	slices.Sort(out)
	return out
}

// cell keeps a feed's text from being run as a spreadsheet formula.
func cell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// share is a listener share as a fraction with four decimals.
func share(f float64) string { return strconv.FormatFloat(f, 'f', 4, 64) }

func csvTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// WriteTable writes the report as aligned text for a terminal.
func WriteTable(w io.Writer, r Report) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s (%s), generated %s\n", r.Title, r.Feed, r.GeneratedAt.Format(time.RFC3339))
	fmt.Fprintf(&b, "downloads: %d total, %d in 24h, %d in 7d, %d in 30d, %d episodes\n\n",
		r.Totals.Downloads, r.Totals.Downloads24h, r.Totals.Downloads7d, r.Totals.Downloads30d, r.Totals.Episodes)
	fmt.Fprintf(&b, "unique listeners: %d in 24h, %d in 7d, %d in 30d; starts %d, completion rate %s, raw completions %d\n",
		r.Totals.UniqueListeners.H24, r.Totals.UniqueListeners.D7, r.Totals.UniqueListeners.D30, r.Totals.Starts,
		percent(r.Totals.CompletionRate), r.Totals.Completions)
	fmt.Fprintf(&b, "clients: %s\ncountries: %s\n", sharesText(sortedShares(r.Totals.Clients, ClientApps)),
		sharesText(sortedShares(r.Totals.Countries, nil)))
	bw := r.Bandwidth
	fmt.Fprintf(&b, "bandwidth: %d bytes delivered, %d from the seedbox, listener share %.1f%%; saved %.2f at %g %s\n\n",
		bw.DeliveredBytes, bw.SeedboxBytes, 100*bw.ListenerShare, bw.CostSaved, bw.CostPerGB, bw.CostUnit)
	tw := tabwriter.NewWriter(&b, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "downloads\t24h\t7d\t30d\tseeders\tleechers\tstarts\trate\tuniques 30d\tfirst 7d\tlisteners' share\t\tepisode")
	for _, e := range r.Episodes {
		fmt.Fprintf(tw, "%d\t%d\t%d\t%d\t%d\t%d\t%d\t%s\t%d\t%d\t%.1f%%\t\t%s\n", e.Downloads, e.Downloads24h, e.Downloads7d,
			e.Downloads30d, e.Seeders, e.Leechers, e.Starts, percent(e.CompletionRate), e.UniqueListeners.D30,
			e.SinceRelease.D7, 100*e.Bandwidth.ListenerShare, oneLine(e.Title))
		if len(e.Torrents) < 2 {
			continue
		}
		for _, t := range e.Torrents {
			fmt.Fprintf(tw, "%d\t%d\t%d\t%d\t%d\t%d\t%d\t%s\t\t%d\t%.1f%%\t\t  of which %s torrent %s%s\n", t.Downloads, t.Downloads24h,
				t.Downloads7d, t.Downloads30d, t.Seeders, t.Leechers, t.Starts, percent(t.CompletionRate),
				t.SinceRelease.D7, 100*t.Bandwidth.ListenerShare, t.State, t.InfoHash, evicted(t))
		}
	}
	tw.Flush()
	fmt.Fprintln(&b, "\nper tracker (each tracker's own counter, not added to downloads):")
	for _, e := range r.Episodes {
		for _, t := range e.Torrents {
			fmt.Fprintf(&b, "  %s  %s (%s)\n", t.InfoHash, oneLine(e.Title), t.State)
			for _, tr := range t.Trackers {
				fmt.Fprintf(&b, "    %-50s complete %d, incomplete %d, downloaded %d (scraped %s)\n",
					tr.URL, tr.Complete, tr.Incomplete, tr.Downloaded, tr.ScrapedAt.Format(time.RFC3339))
			}
		}
	}
	if _, err := w.Write(b.Bytes()); err != nil {
		return fmt.Errorf("report: table: %w", err)
	}
	return nil
}

// sharesText lists a breakdown on one line ("none" when empty).
func sharesText(ss []Share) string {
	if len(ss) == 0 {
		return "none"
	}
	var parts []string
	for _, s := range ss {
		parts = append(parts, fmt.Sprintf("%s %d", oneLine(s.Name), s.Downloads))
	}
	return strings.Join(parts, ", ")
}

// evicted notes a torrent whose media retention removed.
func evicted(t Torrent) string {
	if t.EvictedAt.IsZero() {
		return ""
	}
	return ", media evicted " + t.EvictedAt.UTC().Format(time.DateOnly)
}

// oneLine keeps a hostile title from breaking a terminal table.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}

//go:embed report.html
var pageHTML string

var pageTmpl = template.Must(template.New("report").Funcs(template.FuncMap{
	"date": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.UTC().Format("2006-01-02")
	},
	"evicted": evicted,
	"percent": percent,
	"pct":     func(f float64) string { return strconv.FormatFloat(100*f, 'f', 1, 64) + "%" },
	"gb":      func(n int64) string { return strconv.FormatFloat(float64(n)/1e9, 'f', 3, 64) },
	"money":   func(f float64) string { return strconv.FormatFloat(f, 'f', 2, 64) },
	"datetime": func(t time.Time) string {
		if t.IsZero() {
			return "never"
		}
		return t.UTC().Format("2006-01-02 15:04 UTC")
	},
}).Parse(pageHTML))

// page is what the HTML template sees.
type page struct {
	Report
	Chart  chart
	Share  bandwidthChart
	Links  map[string]string // format -> URL of the same report
	Extern bool              // any tracker besides the embedded one
	// Clients and Countries are the feed's downloads by app and by country.
	Clients, Countries shareChart
}

// WriteHTML renders the report page. links maps "json" and "csv" to the
// URLs of the same report in those formats.
func WriteHTML(w io.Writer, r Report, links map[string]string) error {
	p := page{Report: r, Chart: newChart(r), Links: links, Share: newBandwidthChart(r),
		Clients: newShareChart(sortedShares(r.Totals.Clients, ClientApps)), Countries: newShareChart(sortedShares(r.Totals.Countries, nil))}
	for _, t := range r.Totals.Trackers {
		p.Extern = p.Extern || !t.Embedded
	}
	var b bytes.Buffer
	if err := pageTmpl.Execute(&b, p); err != nil {
		return fmt.Errorf("report: html: %w", err)
	}
	if _, err := w.Write(b.Bytes()); err != nil {
		return fmt.Errorf("report: html: %w", err)
	}
	return nil
}

// chart is the daily bar chart, laid out here so the template only places
// numbers.
type chart struct {
	Width, Height, Left, Top, PlotW, PlotH, Bottom int
	Bars                                           []bar
	Ticks                                          []tick
	Labels                                         []xLabel
	Markers                                        []marker
	// Uniques are the daily unique listeners, a line over the bars.
	Uniques []dot
	Line    string // the polyline's points
}

type dot struct {
	X, Y int
	Date string
	N    int64
}

type bar struct {
	X, Y, W, H int
	Date       string
	N          int64
}

type tick struct {
	Y     int
	Label string
}

type xLabel struct {
	X     int
	Label string
}

type marker struct {
	X     int
	Title string
	Date  string
}

func newChart(r Report) chart {
	c := chart{Width: 960, Height: 280, Left: 48, Top: 16}
	c.PlotW, c.PlotH = c.Width-c.Left-16, c.Height-c.Top-40
	c.Bottom = c.Top + c.PlotH
	n := len(r.Daily)
	if n == 0 {
		return c
	}
	var peak int64 = 1
	for _, d := range r.Daily {
		peak = max(peak, d.Downloads, d.UniqueListeners)
	}
	top := niceCeil(peak)
	slot := c.PlotW / n
	for i, d := range r.Daily {
		h := int(int64(c.PlotH) * d.Downloads / top)
		c.Bars = append(c.Bars, bar{X: c.Left + i*slot + 2, Y: c.Top + c.PlotH - h, W: slot - 4, H: h,
			Date: d.Date, N: d.Downloads})
		u := dot{X: c.Left + i*slot + slot/2, Y: c.Top + c.PlotH - int(int64(c.PlotH)*d.UniqueListeners/top),
			Date: d.Date, N: d.UniqueListeners}
		c.Uniques = append(c.Uniques, u)
		c.Line += fmt.Sprintf("%d,%d ", u.X, u.Y)
		if (n-1-i)%7 == 0 { // weekly, counted back from today

			c.Labels = append(c.Labels, xLabel{X: c.Left + i*slot + slot/2, Label: d.Date[5:]})
		}
	}
	for _, v := range []int64{0, top / 2, top} {
		c.Ticks = append(c.Ticks, tick{Y: c.Top + c.PlotH - int(int64(c.PlotH)*v/top), Label: itoa(v)})
	}
	for _, e := range r.Episodes {
		day := e.Published.UTC().Format(time.DateOnly)
		for i, d := range r.Daily {
			if d.Date == day {
				c.Markers = append(c.Markers, marker{X: c.Left + i*slot + slot/2, Title: e.Title, Date: day})
			}
		}
	}
	return c
}

// niceCeil rounds up to a round number (1, 2, 4, 5, 6 or 8 times a power of
// ten) that is even, so the half-way tick is whole.
func niceCeil(n int64) int64 {
	if n <= 2 {
		return 2
	}
	for p := int64(1); ; p *= 10 {
		for _, m := range []int64{1, 2, 4, 5, 6, 8} {
			if v := m * p; v >= n && v%2 == 0 {
				return v
			}
		}
	}
}
