package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/seedcast/seedcast/config"
	"github.com/seedcast/seedcast/livestats"
	"github.com/seedcast/seedcast/push"
	"github.com/seedcast/seedcast/safehttp"
	"github.com/seedcast/seedcast/store/postgres"
	"github.com/seedcast/seedcast/store/sqldb"
	"github.com/seedcast/seedcast/store/sqlite"
	"github.com/seedcast/seedcast/subscribe"
	"github.com/seedcast/seedcast/tracker"
	"github.com/seedcast/seedcast/web"
	"github.com/seedcast/seedcast/web/admin"
	"github.com/seedcast/seedcast/worker"
)

type commonFlags struct {
	configPath string
	logLevel   string
}

func (c *commonFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.configPath, "config", "config.yaml", "path to the configuration file")
	fs.StringVar(&c.logLevel, "log-level", "info", "debug, info, warn or error")
}

// open loads the config and opens its store; the caller closes the store.
func (c *commonFlags) open(ctx context.Context, stderr io.Writer) (*config.Config, *slog.Logger, *sqldb.DB, error) {
	cfg, log, err := c.load(stderr)
	if err != nil {
		return nil, nil, nil, err
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		return nil, nil, nil, err
	}
	return cfg, log, st, nil
}

func (c *commonFlags) load(stderr io.Writer) (*config.Config, *slog.Logger, error) {
	level, err := parseLevel(c.logLevel)
	if err != nil {
		return nil, nil, fmt.Errorf("-log-level: %w", err)
	}
	cfg, err := config.Load(c.configPath)
	if err != nil {
		return nil, nil, err
	}
	return cfg, newLogger(stderr, level), nil
}

// announceList is the tier list written into every torrent: the embedded
// HTTP tracker, the embedded UDP tracker, each extra tracker, then the
// embedded tracker's WebSocket side for browsers (WebTorrent). It is last so
// that a BEP 12 client, which moves down the tiers only when one fails, never
// waits on a scheme it cannot speak.
func announceList(cfg *config.Config) [][]string {
	tiers := [][]string{{cfg.HTTP.PublicURL + "/announce"}}
	if cfg.Tracker.UDPListen != "off" {
		_, port, _ := net.SplitHostPort(cfg.Tracker.UDPListen)
		host := publicHostname(cfg)
		tiers = append(tiers, []string{"udp://" + net.JoinHostPort(host, port) + "/announce"})
	}
	for _, a := range cfg.Tracker.ExtraAnnounce {
		tiers = append(tiers, []string{a})
	}
	return append(tiers, []string{webSocketAnnounce(cfg)})
}

// webSocketAnnounce is public_url's /announce as a WebSocket URL: wss behind TLS.
func webSocketAnnounce(cfg *config.Config) string {
	u, _ := url.Parse(cfg.HTTP.PublicURL) // validated by config
	scheme := "ws"
	if u.Scheme == "https" {
		scheme = "wss"
	}
	return scheme + "://" + u.Host + strings.TrimSuffix(u.Path, "/") + "/announce"
}

func publicHostname(cfg *config.Config) string {
	u, _ := url.Parse(cfg.HTTP.PublicURL) // validated by config
	return u.Hostname()
}

func publicHost(cfg *config.Config) string {
	u, _ := url.Parse(cfg.HTTP.PublicURL)
	return u.Host
}

func clients(cfg *config.Config) worker.Clients {
	feedTimeout, headerTimeout, enclosureTimeout := cfg.Timeouts()
	// The gateway never fetches its own tracker, feeds or torrents; only its demo.
	self := &safehttp.Gateway{URLs: []string{cfg.HTTP.PublicURL, "http://" + cfg.HTTP.Listen},
		Listen: cfg.HTTP.Listen, Allow: []string{"/demo/"}}
	opts := func(isSelf bool, timeout time.Duration) safehttp.Options {
		return safehttp.Options{
			AllowPrivate: isSelf || cfg.Fetch.AllowPrivateNetworks, MaxRedirects: cfg.Fetch.MaxRedirects,
			Timeout: timeout, HeaderTimeout: headerTimeout, UserAgent: cfg.Fetch.UserAgent,
			Gateway: self, Self: isSelf,
		}
	}
	return worker.Clients{
		Feed:      safehttp.NewClient(opts(false, feedTimeout)),
		Media:     safehttp.NewClient(opts(false, enclosureTimeout)),
		SelfFeed:  safehttp.NewClient(opts(true, feedTimeout)),
		SelfMedia: safehttp.NewClient(opts(true, enclosureTimeout)),
		SelfHost:  publicHost(cfg),
		MaxFeed:   cfg.Fetch.MaxFeedBytes,
	}
}

func workerFeeds(cfg *config.Config) []worker.Feed {
	var out []worker.Feed
	for _, f := range cfg.Feeds {
		out = append(out, worker.Feed{Slug: f.Slug, URL: f.URL, OwnerConsent: f.OwnerConsent,
			Retention: worker.Retention{KeepEpisodes: f.KeepEpisodes, MaxBytes: f.MaxBytes},
			MinGap:    cfg.PollInterval(f.Slug) / 2})
	}
	return out
}

func workerConfig(cfg *config.Config) worker.Config {
	return worker.Config{
		DataDir:           cfg.DataDir,
		AnnounceList:      announceList(cfg),
		MaxEnclosureBytes: cfg.Fetch.MaxEnclosureBytes,
		MinFreeBytes:      cfg.Fetch.MinFreeBytes,
		MaxItems:          cfg.Fetch.MaxItems,
		IdleTimeout:       cfg.EnclosureIdleTimeout(),
		CreatedBy:         "Seedcast " + version,
		Hybrid:            cfg.Seedbox.Hybrid(),
		BootID:            bootID(),
		NodeName:          cfg.Node.Name,
		LeaseTTL:          cfg.NodeTimeout(),
		Replicas:          cfg.Cluster.Replicas,
	}
}

// bootID names this boot of the OS, so the worker can tell a restart of the process (page cache
// intact) from a reboot; "" where the kernel does not say, and the worker then fsyncs media
// before publishing it.
func bootID() string {
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// openStore opens the configured store, refusing one that has lost the published episodes
// beside it in data_dir (see worker.ErrStoreLost).
func openStore(ctx context.Context, cfg *config.Config) (*sqldb.DB, error) {
	var st *sqldb.DB
	name := "store.dsn"
	switch cfg.Store.Driver {
	case "postgres":
		db, err := postgres.Open(ctx, cfg.Store.DSN)
		if err != nil {
			return nil, err
		}
		st = db
	default:
		name = filepath.Join(cfg.DataDir, "seedcast.db")
		if err := worker.CheckStoreFile(cfg.DataDir, name); err != nil {
			return nil, err
		}
		db, err := sqlite.Open(ctx, name)
		if err != nil {
			return nil, err
		}
		st = db
	}
	if err := worker.CheckStoreContents(ctx, cfg.DataDir, name, st); err != nil {
		st.Close()
		return nil, err
	}
	return st, nil
}

// lockNode makes sure no other process polls and seeds under this node's name on a shared store;
// with SQLite there is nothing to share. The caller calls unlock when done.
func lockNode(ctx context.Context, cfg *config.Config) (unlock func() error, err error) {
	if cfg.Store.Driver != "postgres" {
		return func() error { return nil }, nil
	}
	return postgres.LockNode(ctx, cfg.Store.DSN, cfg.Node.Name)
}

// cmdPoll runs one ingest pass without seeding: published torrents are seeded
// by the next `serve`.
func cmdPoll(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("poll", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cf commonFlags
	cf.register(fs)
	only := fs.String("feed", "", "poll only the feed with this slug")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, log, st, err := cf.open(ctx, stderr)
	if err != nil {
		return err
	}
	defer st.Close()
	unlock, err := lockNode(ctx, cfg)
	if err != nil {
		return err
	}
	defer unlock()
	wcfg := workerConfig(cfg)
	if isTerminal(stderr) {
		// A person is watching: a bar per download. serve never draws them.
		wcfg.Progress = downloadBars(stderr)
	}
	w := worker.New(wcfg, st, clients(cfg), nil, nil, log)
	all, err := newManager(cfg, st, w, nil, log).AllFeeds(ctx)
	if err != nil {
		return err
	}
	var errs []error
	found := false
	for _, f := range all {
		if *only != "" && f.Slug != *only {
			continue
		}
		found = true
		errs = append(errs, w.Poll(ctx, f))
	}
	if !found {
		return fmt.Errorf("-feed %q: no such feed in %s or added at run time", *only, cf.configPath)
	}
	return errors.Join(errs...)
}

// cmdServe runs the daemon until SIGINT or SIGTERM.
func cmdServe(ctx context.Context, args []string, stderr io.Writer) (err error) {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cf commonFlags
	cf.register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, log, st, err := cf.open(ctx, stderr)
	if err != nil {
		return err
	}
	defer st.Close()
	// The dashboard's recent events: this node's log at Info and above.
	events := admin.NewEvents(100)
	log = slog.New(admin.Tee{log.Handler(), events.Handler()})
	unlock, err := lockNode(ctx, cfg)
	if err != nil {
		return err
	}
	defer unlock()

	geo, closeGeo, err := openGeoIP(cfg)
	if err != nil {
		return err
	}
	defer closeGeo()
	tcfg := trackerConfig(cfg, log)
	tcfg.SelfAddrs, tcfg.Locator = selfAddrs(log), geo
	trk := tracker.New(tcfg, st, log.With("component", "tracker"), nil)
	mux := http.NewServeMux()
	// The operator's and podcasters' routes need the worker, made after the listener opens:
	// until then their requests wait (see lateRoutes), never a 404 from a gateway starting up.
	late := lateRoutes(mux, lateStartWait, "/admin", "/admin/", "/api/v1/", "/submit", "/submissions/")
	publicRoutes(cfg, mux, st, trk, log)

	// Listen before anything polls: the demo feed is served by this server.
	srv, httpErr, err := listenHTTP(cfg, mux, log)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			srv.Close()
		}
	}()
	if cfg.HTTP.PprofListen != "" {
		stopPprof, err := listenPprof(cfg, log)
		if err != nil {
			return err
		}
		defer stopPprof()
	}

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	sched := worker.NewScheduler(runCtx, log.With("component", "scheduler"))
	// WebSub and Podping: a hub's notification polls the feed now (its job, see below).
	pusher := push.New(pushConfig(cfg), st, clients(cfg).Feed,
		func(slug string) bool { return sched.RunNow(subscribe.JobName(slug)) }, log.With("component", "push"))
	pusher.Routes(mux)
	pushDone := make(chan struct{})
	go func() { pusher.Run(runCtx); close(pushDone) }()
	defer func() { cancel(); <-pushDone }() // before the store closes
	stopTrackerNet, err := startTrackerNet(runCtx, cfg, trk, log)
	if err != nil {
		return err
	}
	defer stopTrackerNet()
	go trk.Run(runCtx)

	seeder, err := newServeSeeder(cfg, log)
	if err != nil {
		return err
	}
	defer seeder.Close()

	scraper := newScraper(cfg, st, log.With("component", "scraper"))
	mt, stopMetrics, err := serveMetrics(cfg, mux, st, trk, seeder, scraper, log)
	if err != nil {
		return err
	}
	defer stopMetrics()
	wcfg := workerConfig(cfg)
	wcfg.Recorder = mt
	wcfg.Push = pusher
	w := worker.New(wcfg, st, clients(cfg), seeder, trk, log.With("component", "worker"))
	mux.Handle("GET /status", statusHandler(st, w, cfg.NodeTimeout(), cfg.Cluster.Replicas, log))
	restore(runCtx, w, st, trk, log)
	mgr := newManager(cfg, st, w, sched, log.With("component", "feeds"))
	ah := serveAdmin(cfg, late.mux, st, mgr, trk, livestats.New(st, w, trk, seeder, maxBytes(cfg)), events, log.With("component", "admin"))
	serveSubmissions(cfg, late.mux, st, mgr, ah, trk, log.With("component", "submit"))
	late.open()
	all, err := mgr.AllFeeds(runCtx)
	if err != nil {
		return err
	}
	if n, bytes, err := w.SweepPartials(runCtx, all); err != nil {
		log.Error("sweep partial downloads", "err", err)
	} else if n > 0 {
		log.Info("removed partial downloads nothing will resume", "files", n, "bytes", bytes)
	}
	// Tests and operators read this line to see that a restart re-hashed nothing.
	log.Info("seeding restored", "torrents", len(seeder.Stats().Torrents), "bytes_hashed", seeder.BytesHashed())

	// Every feed's polls: config.yaml's and those added at run time, on any node (Sync).
	if err := mgr.Start(runCtx); err != nil {
		return err
	}
	// What the seeder uploaded, for the reports' bandwidth figures: added to the store every 10 s
	// and once more at shutdown.
	uploads := worker.NewUploads(cfg.Node.Name, seeder, st, log.With("component", "uploads"))
	if err := scheduleJobs(cfg, sched, w, mgr, scrapeJob(st, scraper), uploads); err != nil {
		return err
	}
	sched.Start()
	log.Info("seedcast serving", "feeds", len(mgr.Feeds()), "version", version)

	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case err := <-httpErr:
		log.Error("http server stopped", "err", err)
	}
	cancel()
	shutCtx, done := context.WithTimeout(context.Background(), 20*time.Second)
	defer done()
	if err := srv.Shutdown(shutCtx); err != nil {
		log.Warn("http shutdown", "err", err)
	}
	sched.Stop()
	// The seeder closed first, so its counts are final (Close again, deferred, does nothing).
	if err := seeder.Close(); err != nil {
		log.Warn("seeder close", "err", err)
	}
	if err := uploads.Flush(shutCtx); err != nil {
		log.Error("record seeder uploads", "err", err)
	}
	// After the HTTP server stopped and the UDP tracker was told to: the swarms as they ended.
	if err := st.SaveTrackerPeers(shutCtx, trk.Peers()); err != nil {
		log.Error("save tracker peers", "err", err)
	}
	log.Info("stopped")
	return nil
}

// trackerConfig is the embedded tracker's configuration from cfg.
func trackerConfig(cfg *config.Config, log *slog.Logger) tracker.Config {
	return tracker.Config{
		AnnounceInterval:        cfg.AnnounceInterval(),
		AnnouncesPerIPPerMinute: cfg.Tracker.AnnouncesPerIPPerMinute,
		RateLimitExempt:         ownAddresses(log),
		TrustedProxies:          cfg.HTTP.TrustedProxyPrefixes(),
		MaxDownloadRate:         cfg.Tracker.MaxDownloadRate,
		SelfUserAgent:           cfg.Fetch.UserAgent,
		WebSocket: tracker.WebSocketConfig{MaxConns: cfg.Tracker.WebSocket.MaxConns, MaxConnsPerIP: cfg.Tracker.WebSocket.MaxConnsPerIP,
			MaxOffers: cfg.Tracker.WebSocket.MaxOffers, MaxMessageBytes: cfg.Tracker.WebSocket.MaxMessageBytes},
	}
}

// trackerStats gives the pages the embedded tracker's swarm figures.
func trackerStats(trk *tracker.Tracker) web.StatsFunc {
	return func(ih [20]byte) (seeders, leechers, downloaded int64, ok bool) {
		s, ok := trk.Stats(ih)
		return s.Complete, s.Incomplete, s.Downloaded, ok
	}
}

// ownAddresses are this host's addresses: its seeder announces every torrent
// from one of them, and must not be rate-limited by its own tracker.
func ownAddresses(log *slog.Logger) []netip.Prefix {
	out := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		log.Warn("listing interface addresses for the tracker's rate-limit exemption", "err", err)
		return out
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok {
			if ip, ok := netip.AddrFromSlice(n.IP); ok {
				ip = ip.Unmap()
				out = append(out, netip.PrefixFrom(ip, ip.BitLen()))
			}
		}
	}
	return out
}
