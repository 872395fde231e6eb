package main

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/seedcast/seedcast/config"
	"github.com/seedcast/seedcast/metrics"
	"github.com/seedcast/seedcast/seedbox"
	"github.com/seedcast/seedcast/store/sqldb"
	"github.com/seedcast/seedcast/tracker"
)

// serveMetrics routes GET /metrics on mux behind the admin token and, with
// http.metrics_listen, serves it unauthenticated there; the caller calls stop when done.
func serveMetrics(cfg *config.Config, mux *http.ServeMux, st *sqldb.DB, trk *tracker.Tracker,
	seeder *seedbox.Seeder, scraper *tracker.Scraper, log *slog.Logger) (mt *metrics.Metrics, stop func(), err error) {
	// Its own registry, not Prometheus's global one.
	mt = metrics.New(prometheus.NewRegistry(), metrics.Sources{Announces: trk.AnnounceCounts, Swarms: trk.SwarmTotals,
		Seeder: seederTotals(seeder), ScrapeErrors: scraper.Errors, EpisodeStates: st.AllStateCounts}, log.With("component", "metrics"))
	tokenHash, hasToken := cfg.Admin.TokenHash()
	mux.Handle("GET /metrics", metrics.Protected(mt.Handler(), tokenHash, hasToken))
	if cfg.HTTP.MetricsListen == "" {
		return mt, func() {}, nil
	}
	ln, err := net.Listen("tcp", cfg.HTTP.MetricsListen)
	if err != nil {
		return nil, nil, fmt.Errorf("http.metrics_listen %s: %w", cfg.HTTP.MetricsListen, err)
	}
	own := http.NewServeMux()
	own.Handle("GET /metrics", mt.Handler())
	msrv := &http.Server{Handler: own, ReadHeaderTimeout: 10 * time.Second}
	go msrv.Serve(ln)
	log.Info("metrics listening", "addr", ln.Addr().String())
	return mt, func() { msrv.Close() }, nil
}

// seederTotals gives the metrics the seeder's upload and peer totals.
func seederTotals(s *seedbox.Seeder) func() (uploaded, sent int64, peers int) {
	return func() (int64, int64, int) {
		st := s.Stats()
		return st.BytesUploaded, st.BytesSent, st.Peers
	}
}
