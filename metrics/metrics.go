// Package metrics is the gateway's Prometheus side: it defines every series, serves them at
// GET /metrics, and reads the tracker, seeder and store when scraped. The worker records
// through worker.Recorder (Metrics implements it); nothing else imports Prometheus.
package metrics

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/seedcast/seedcast/tracker"
)

// Sources are read on every scrape; a nil one is left out.
type Sources struct {
	Announces func() tracker.AnnounceCounts
	Swarms    func() (seeders, leechers int64) // summed over the tracked torrents
	Seeder    func() (bytesUploaded, bytesSent int64, peers int)
	// ScrapeErrors counts the failed scrapes of the torrents' trackers (for the report).
	ScrapeErrors func() int64
	// EpisodeStates counts the episodes of every feed by state (store.State*).
	EpisodeStates func(ctx context.Context) (map[string]int, error)
}

// storeTimeout bounds the store query of one scrape: a slow store must not pile up scrapes.
const storeTimeout = 5 * time.Second

// Metrics holds the series; it is safe for concurrent use.
type Metrics struct {
	reg *prometheus.Registry
	log *slog.Logger

	polls          *prometheus.CounterVec
	pollDuration   prometheus.Histogram
	downloaded     prometheus.Counter
	publishLatency prometheus.Histogram
	storeLatency   *prometheus.HistogramVec
	collectErrors  prometheus.Counter
}

// New registers Seedcast's series, the Go runtime's and the process's in reg.
func New(reg *prometheus.Registry, src Sources, log *slog.Logger) *Metrics {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m := &Metrics{
		reg: reg,
		log: log,
		polls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "seedcast_polls_total", Help: "Feed polls by result (ok, not_modified, error).",
		}, []string{"result"}),
		pollDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "seedcast_poll_duration_seconds", Help: "How long a feed poll took, downloads included.",
			Buckets: prometheus.ExponentialBuckets(0.01, 4, 10), // 10ms to ~45min
		}),
		downloaded: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "seedcast_enclosure_downloaded_bytes_total", Help: "Enclosure bytes downloaded from origins for published episodes.",
		}),
		publishLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "seedcast_publish_latency_seconds", Help: "From an episode first seen in its feed to its torrent published.",
			Buckets: prometheus.ExponentialBuckets(0.1, 4, 10), // 100ms to ~7h
		}),
		storeLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "seedcast_store_query_duration_seconds", Help: "Store queries timed by operation.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 4, 9), // 0.5ms to ~33s
		}, []string{"op"}),
		collectErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "seedcast_metrics_collect_errors_total", Help: "Metric sources that failed while /metrics was scraped.",
		}),
	}
	for _, r := range []string{"ok", "not_modified", "error"} {
		m.polls.WithLabelValues(r) // present at 0 before the first poll
	}
	reg.MustRegister(m.polls, m.pollDuration, m.downloaded, m.publishLatency, m.storeLatency, m.collectErrors,
		&readCollector{m: m, src: src},
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Poll records one feed poll (worker.Recorder).
func (m *Metrics) Poll(result string, took time.Duration) {
	m.polls.WithLabelValues(result).Inc()
	m.pollDuration.Observe(took.Seconds())
}

// Downloaded records enclosure bytes fetched from an origin (worker.Recorder).
func (m *Metrics) Downloaded(bytes int64) { m.downloaded.Add(float64(max(bytes, 0))) }

// Published records an episode's publish latency (worker.Recorder).
func (m *Metrics) Published(latency time.Duration) { m.publishLatency.Observe(latency.Seconds()) }

// StoreCall records a store call's latency (worker.Recorder); op is one of a few fixed names.
func (m *Metrics) StoreCall(op string, took time.Duration) {
	m.storeLatency.WithLabelValues(op).Observe(took.Seconds())
}

// Handler serves the metrics to anyone: for the loopback http.metrics_listen only.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorLog:      slog.NewLogLogger(m.log.Handler(), slog.LevelWarn),
		ErrorHandling: promhttp.ContinueOnError,
		// Bounded: a scrape reads the store, so a burst of them must not become a burst of queries.
		MaxRequestsInFlight: 4,
		Timeout:             10 * time.Second,
	})
}

var (
	descAnnounces = prometheus.NewDesc("seedcast_tracker_announces_total",
		"Announces the embedded tracker answered, by protocol and result.", []string{"protocol", "result"}, nil)
	descSeeders  = prometheus.NewDesc("seedcast_tracker_seeders", "Seeders in the tracked swarms, summed.", nil, nil)
	descLeechers = prometheus.NewDesc("seedcast_tracker_leechers", "Leechers in the tracked swarms, summed.", nil, nil)
	descUploaded = prometheus.NewDesc("seedcast_seeder_uploaded_bytes_total",
		"Piece bytes the seeder sent to peers since the gateway started, torrents no longer seeded included.", nil, nil)
	descSent = prometheus.NewDesc("seedcast_seeder_sent_bytes_total",
		"Bytes the seeder wrote to its TCP peers since the gateway started, protocol messages included (counted at the socket).", nil, nil)
	descPeers        = prometheus.NewDesc("seedcast_seeder_peers", "Peers connected to the seeder.", nil, nil)
	descScrapeErrors = prometheus.NewDesc("seedcast_tracker_scrape_errors_total",
		"Scrapes of a torrent tracker (embedded or extra) that failed.", nil, nil)
	descEpisodes = prometheus.NewDesc("seedcast_episodes", "Episodes with an enclosure, by state.", []string{"state"}, nil)
)

// readCollector reads the tracker, seeder and store at scrape time, so they need no hooks.
type readCollector struct {
	m   *Metrics
	src Sources
}

func (c *readCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descAnnounces, descSeeders, descLeechers, descUploaded, descSent, descPeers, descScrapeErrors, descEpisodes} {
		ch <- d
	}
}

func (c *readCollector) Collect(ch chan<- prometheus.Metric) {
	if c.src.Announces != nil {
		counts := c.src.Announces()
		for p, byResult := range counts {
			for r, n := range byResult {
				protocol, result := counts.Labels(p, r)
				ch <- prometheus.MustNewConstMetric(descAnnounces, prometheus.CounterValue, float64(n), protocol, result)
			}
		}
	}
	if c.src.Swarms != nil {
		s, l := c.src.Swarms()
		ch <- prometheus.MustNewConstMetric(descSeeders, prometheus.GaugeValue, float64(s))
		ch <- prometheus.MustNewConstMetric(descLeechers, prometheus.GaugeValue, float64(l))
	}
	if c.src.Seeder != nil {
		up, sent, peers := c.src.Seeder()
		ch <- prometheus.MustNewConstMetric(descUploaded, prometheus.CounterValue, float64(up))
		ch <- prometheus.MustNewConstMetric(descSent, prometheus.CounterValue, float64(sent))
		ch <- prometheus.MustNewConstMetric(descPeers, prometheus.GaugeValue, float64(peers))
	}
	if c.src.ScrapeErrors != nil {
		ch <- prometheus.MustNewConstMetric(descScrapeErrors, prometheus.CounterValue, float64(c.src.ScrapeErrors()))
	}
	if c.src.EpisodeStates != nil {
		// Collect gets no request context; the timeout bounds the query instead.
		ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
		defer cancel()
		started := time.Now()
		states, err := c.src.EpisodeStates(ctx)
		c.m.storeLatency.WithLabelValues("episode_states").Observe(time.Since(started).Seconds())
		if err != nil {
			c.m.collectErrors.Inc()
			c.m.log.Warn("metrics: counting episodes by state", "err", err)
			return
		}
		for state, n := range states {
			ch <- prometheus.MustNewConstMetric(descEpisodes, prometheus.GaugeValue, float64(n), state)
		}
	}
}
