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
	"github.com/seedcast/seedcast/demo"
	"github.com/seedcast/seedcast/livestats"
	"github.com/seedcast/seedcast/publisher"
	"github.com/seedcast/seedcast/push"
	"github.com/seedcast/seedcast/report"
	"github.com/seedcast/seedcast/safehttp"
	"github.com/seedcast/seedcast/seedbox"
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
func cmdServe(ctx context.Context, args []string, stderr io.Writer) error {
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
	mux.Handle("GET /announce", trk.AnnounceHandler())
	mux.Handle("GET /scrape", trk.ScrapeHandler())
	var trackers []string
	for _, tier := range announceList(cfg) {
		trackers = append(trackers, tier...)
	}
	links := publisher.Config{PublicURL: cfg.HTTP.PublicURL, DataDir: cfg.DataDir, Trackers: trackers,
		Hub: cfg.Push.WebSubHub, Podping: cfg.Push.PodpingURL != ""}
	publisher.New(links, st, log.With("component", "publisher")).Routes(mux)
	// The public pages; podcast art is fetched with the feeds' SSRF-guarded client.
	web.New(web.Config{Links: links, ArtDir: filepath.Join(cfg.DataDir, "art")}, st, trackerStats(trk),
		clients(cfg).Feed, log.With("component", "web")).Routes(mux)
	report.NewHandler(st, reportAuth(cfg, st), embeddedAnnounce(cfg), cfg.Audience.CostPerGBOrDefault(), log.With("component", "report"), nil).Routes(mux)
	if cfg.DemoEnabled() {
		demo.New(cfg.HTTP.PublicURL).Routes(mux)
	}

	// Listen before anything polls: the demo feed is served by this server.
	ln, err := net.Listen("tcp", cfg.HTTP.Listen)
	if err != nil {
		return fmt.Errorf("http.listen %s: %w", cfg.HTTP.Listen, err)
	}
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      5 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	httpErr := make(chan error, 1)
	go func() { httpErr <- srv.Serve(ln) }()
	log.Info("http listening", "addr", ln.Addr().String(), "public_url", cfg.HTTP.PublicURL)
	if cfg.HTTP.PprofListen != "" {
		pln, err := net.Listen("tcp", cfg.HTTP.PprofListen)
		if err != nil {
			srv.Close()
			return fmt.Errorf("http.pprof_listen %s: %w", cfg.HTTP.PprofListen, err)
		}
		psrv := &http.Server{Handler: pprofMux(), ReadHeaderTimeout: 10 * time.Second}
		go psrv.Serve(pln)
		defer psrv.Close()
		log.Info("pprof listening", "addr", pln.Addr().String())
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
	if cfg.Tracker.UDPListen != "off" {
		pc, err := net.ListenPacket("udp", cfg.Tracker.UDPListen)
		if err != nil {
			srv.Close()
			return fmt.Errorf("tracker.udp_listen %s: %w", cfg.Tracker.UDPListen, err)
		}
		defer pc.Close()
		go func() {
			if err := trk.ServeUDP(runCtx, pc); err != nil && runCtx.Err() == nil {
				log.Error("udp tracker stopped", "err", err)
			}
		}()
		log.Info("udp tracker listening", "addr", pc.LocalAddr().String())
	}
	if cfg.Store.Driver == "postgres" {
		// One swarm across the nodes on this store (NOTIFY: no address is written to a table).
		mesh, err := postgres.NewMesh(cfg.Store.DSN)
		if err != nil {
			srv.Close()
			return err
		}
		defer mesh.Close()
		trk.SetMesh(mesh)
		go postgres.ListenMesh(runCtx, cfg.Store.DSN, trk.ApplyMesh, log.With("component", "mesh"))
	}
	go trk.Run(runCtx)

	seeder, err := seedbox.NewSeeder(seedbox.SeederConfig{
		ListenAddr:      fmt.Sprintf(":%d", cfg.Seedbox.PeerPort),
		StateDir:        filepath.Join(cfg.DataDir, "state"),
		DisableUTP:      cfg.Seedbox.DisableUTP,
		ICEServers:      cfg.Seedbox.ICEServers,
		UploadRateLimit: cfg.Seedbox.UploadRateLimit,
		ServeOnceFirst:  cfg.Seedbox.ServeOnceFirst,
		BootID:          bootID(),
		DHT:             cfg.Seedbox.DHTEnabled(),
		DHTBootstrap:    cfg.Seedbox.DHTBootstrap,
	}, log.With("component", "seeder"))
	if err != nil {
		srv.Close()
		if errors.Is(err, seedbox.ErrListen) {
			return fmt.Errorf("seedbox.peer_port %d: %w", cfg.Seedbox.PeerPort, err)
		}
		// The state dir or the piece completion DB in it; the error names the path.
		return fmt.Errorf("data_dir: %w", err)
	}
	defer seeder.Close()

	scraper := newScraper(cfg, st, log.With("component", "scraper"))
	mt, stopMetrics, err := serveMetrics(cfg, mux, st, trk, seeder, scraper, log)
	if err != nil {
		srv.Close()
		return err
	}
	defer stopMetrics()
	wcfg := workerConfig(cfg)
	wcfg.Recorder = mt
	wcfg.Push = pusher
	w := worker.New(wcfg, st, clients(cfg), seeder, trk, log.With("component", "worker"))
	mux.Handle("GET /status", statusHandler(st, w, cfg.NodeTimeout(), cfg.Cluster.Replicas, log))
	if err := w.Restore(runCtx); err != nil {
		// One unreadable torrent must not keep the others from seeding.
		log.Error("restore", "err", err)
	}
	// Swarms saved at the last shutdown: downloads that straddle a restart still count.
	if peers, err := st.TakeTrackerPeers(runCtx); err != nil {
		log.Error("restore tracker peers", "err", err)
	} else if len(peers) > 0 {
		log.Info("restored tracker peers", "peers", trk.RestorePeers(peers), "saved", len(peers))
	}
	mgr := newManager(cfg, st, w, sched, log.With("component", "feeds"))
	ah := serveAdmin(cfg, late.mux, st, mgr, trk, livestats.New(st, w, trk, seeder, maxBytes(cfg)), events, log.With("component", "admin"))
	serveSubmissions(cfg, late.mux, st, mgr, ah, trk, log.With("component", "submit"))
	late.open()
	all, err := mgr.AllFeeds(runCtx)
	if err != nil {
		srv.Close()
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
		srv.Close()
		return err
	}
	if err := sched.Add(worker.Job{Name: "sync feeds", Spec: "@every 10s", Run: mgr.Sync}); err != nil {
		srv.Close()
		return err
	}
	// Three heartbeats per node_timeout: one late one does not make the node look dead.
	beat := fmt.Sprintf("@every %s", cfg.NodeTimeout()/3)
	if err := sched.Add(worker.Job{Name: "heartbeat", Spec: beat, RunAtStart: true, Run: w.Heartbeat}); err != nil {
		srv.Close()
		return err
	}
	// Seed what cluster.Assign gives this node among the live ones (one node: everything).
	if err := sched.Add(worker.Job{Name: "reconcile", Spec: fmt.Sprintf("@every %s", cfg.NodeTimeout()), Run: w.Reconcile}); err != nil {
		srv.Close()
		return err
	}
	if err := sched.Add(worker.Job{Name: "verify", Spec: cfg.Schedule.Verify, Run: w.VerifyAll}); err != nil {
		srv.Close()
		return err
	}
	if err := sched.Add(worker.Job{Name: "scrape", Spec: cfg.Schedule.Scrape, RunAtStart: true,
		Run: scrapeJob(st, scraper)}); err != nil {
		srv.Close()
		return err
	}
	// What the seeder uploaded, for the reports' bandwidth figures: added to the store each minute
	// and once more at shutdown.
	uploads := worker.NewUploads(cfg.Node.Name, seeder, st, log.With("component", "uploads"))
	if err := sched.Add(worker.Job{Name: "record uploads", Spec: "@every 1m", Run: uploads.Flush}); err != nil {
		srv.Close()
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
