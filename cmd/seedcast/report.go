package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/seedcast/seedcast/config"
	"github.com/seedcast/seedcast/report"
	"github.com/seedcast/seedcast/store"
	"github.com/seedcast/seedcast/tracker"
)

// embeddedAnnounce is the embedded HTTP tracker's announce URL: the scraper
// scrapes it like any other tracker, and the report recognises it by it.
func embeddedAnnounce(cfg *config.Config) string { return cfg.HTTP.PublicURL + "/announce" }

// sponsors turns config sponsors into report sponsors, hashing plain tokens
// once here so only hashes are compared.
func sponsors(cfg *config.Config) []report.Sponsor {
	var out []report.Sponsor
	for _, s := range cfg.Sponsors {
		sp := report.Sponsor{Name: s.Name, Feeds: s.Feeds}
		if s.Token != "" {
			sp.TokenSHA256 = sha256.Sum256([]byte(s.Token))
		} else {
			b, _ := hex.DecodeString(s.TokenSHA256) // validated by config
			copy(sp.TokenSHA256[:], b)
		}
		out = append(out, sp)
	}
	return out
}

// scrapeJob scrapes every published torrent on the embedded tracker and each
// extra tracker.
func scrapeJob(st store.Store, sc *tracker.Scraper) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		ts, err := st.Torrents(ctx)
		if err != nil {
			return err
		}
		var hashes []string
		for _, t := range ts {
			hashes = append(hashes, t.InfoHash)
		}
		return sc.Scrape(ctx, hashes)
	}
}

// newScraper scrapes the embedded tracker through its own /scrape, like
// the extra trackers, so every figure takes the same path.
func newScraper(cfg *config.Config, st store.Store, log *slog.Logger) *tracker.Scraper {
	trackers := append([]string{embeddedAnnounce(cfg)}, cfg.Tracker.ExtraAnnounce...)
	return tracker.NewScraper(tracker.ScrapeConfig{Trackers: trackers}, st,
		&http.Client{Timeout: time.Minute}, log, nil)
}

// cmdReport prints one feed's report from the store.
func cmdReport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cf commonFlags
	cf.register(fs)
	slug := fs.String("feed", "", "the feed's slug (required)")
	format := fs.String("format", "table", "table, csv or json")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *slug == "" {
		return fmt.Errorf("-feed is required")
	}
	write := map[string]func(io.Writer, report.Report) error{
		"table": report.WriteTable, "csv": report.WriteCSV, "json": report.WriteJSON,
	}[*format]
	if write == nil {
		return fmt.Errorf("-format %q: want table, csv or json", *format)
	}
	cfg, _, st, err := cf.open(ctx, stderr)
	if err != nil {
		return err
	}
	defer st.Close()
	rep, err := report.Load(ctx, st, *slug, embeddedAnnounce(cfg), cfg.Audience.CostPerGBOrDefault(), time.Now())
	if err != nil {
		return err
	}
	return write(stdout, rep)
}
