package main

// The steps of `seedcast serve`, in the order cmdServe takes them.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"time"

	"github.com/seedcast/seedcast/config"
	"github.com/seedcast/seedcast/demo"
	"github.com/seedcast/seedcast/publisher"
	"github.com/seedcast/seedcast/report"
	"github.com/seedcast/seedcast/seedbox"
	"github.com/seedcast/seedcast/store"
	"github.com/seedcast/seedcast/store/postgres"
	"github.com/seedcast/seedcast/subscribe"
	"github.com/seedcast/seedcast/tracker"
	"github.com/seedcast/seedcast/web"
	"github.com/seedcast/seedcast/worker"
)

// publicRoutes registers what strangers reach: the tracker, feeds and torrents, pages, reports
// and the demo.
func publicRoutes(cfg *config.Config, mux *http.ServeMux, st store.Store, trk *tracker.Tracker, log *slog.Logger) {
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
	report.NewHandler(st, reportAuth(cfg, st), embeddedAnnounce(cfg), cfg.Audience.CostPerGBOrDefault(),
		log.With("component", "report"), nil).Routes(mux)
	if cfg.DemoEnabled() {
		demo.New(cfg.HTTP.PublicURL).Routes(mux)
	}
}

// listenHTTP opens http.listen and serves mux on it; the channel gets the server's end.
func listenHTTP(cfg *config.Config, mux *http.ServeMux, log *slog.Logger) (*http.Server, <-chan error, error) {
	ln, err := net.Listen("tcp", cfg.HTTP.Listen)
	if err != nil {
		return nil, nil, fmt.Errorf("http.listen %s: %w", cfg.HTTP.Listen, err)
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
	return srv, httpErr, nil
}

// listenPprof serves the profiler on http.pprof_listen (loopback only, see config).
func listenPprof(cfg *config.Config, log *slog.Logger) (stop func(), err error) {
	pln, err := net.Listen("tcp", cfg.HTTP.PprofListen)
	if err != nil {
		return nil, fmt.Errorf("http.pprof_listen %s: %w", cfg.HTTP.PprofListen, err)
	}
	psrv := &http.Server{Handler: pprofMux(), ReadHeaderTimeout: 10 * time.Second}
	go psrv.Serve(pln)
	log.Info("pprof listening", "addr", pln.Addr().String())
	return func() { psrv.Close() }, nil
}

// startTrackerNet opens the UDP tracker and, on PostgreSQL, the swarm mesh between nodes.
func startTrackerNet(ctx context.Context, cfg *config.Config, trk *tracker.Tracker, log *slog.Logger) (stop func(), err error) {
	var closers []func() error
	stop = func() {
		for _, c := range closers {
			c()
		}
	}
	if cfg.Tracker.UDPListen != "off" {
		pc, err := net.ListenPacket("udp", cfg.Tracker.UDPListen)
		if err != nil {
			return nil, fmt.Errorf("tracker.udp_listen %s: %w", cfg.Tracker.UDPListen, err)
		}
		closers = append(closers, pc.Close)
		go func() {
			if err := trk.ServeUDP(ctx, pc); err != nil && ctx.Err() == nil {
				log.Error("udp tracker stopped", "err", err)
			}
		}()
		log.Info("udp tracker listening", "addr", pc.LocalAddr().String())
	}
	if cfg.Store.Driver == "postgres" {
		// One swarm across the nodes on this store (NOTIFY: no address is written to a table).
		mesh, err := postgres.NewMesh(cfg.Store.DSN)
		if err != nil {
			stop()
			return nil, err
		}
		closers = append(closers, mesh.Close)
		trk.SetMesh(mesh)
		go postgres.ListenMesh(ctx, cfg.Store.DSN, trk.ApplyMesh, log.With("component", "mesh"))
	}
	return stop, nil
}

// newServeSeeder starts the seeding client, its errors naming the config key at fault.
func newServeSeeder(cfg *config.Config, log *slog.Logger) (*seedbox.Seeder, error) {
	seeder, err := seedbox.NewSeeder(seedbox.SeederConfig{
		ListenAddr:      fmt.Sprintf(":%d", cfg.Seedbox.PeerPort),
		StateDir:        filepath.Join(cfg.DataDir, "state"),
		DisableUTP:      cfg.Seedbox.DisableUTP,
		ICEServers:      cfg.Seedbox.ICEServers,
		UploadRateLimit: cfg.Seedbox.UploadRateLimit,
		BootID:          bootID(),
		DHT:             cfg.Seedbox.DHTEnabled(),
		DHTBootstrap:    cfg.Seedbox.DHTBootstrap,
		InitialSeeding:  cfg.Seedbox.InitialSeedingEnabled(),
	}, log.With("component", "seeder"))
	if err != nil {
		if errors.Is(err, seedbox.ErrListen) {
			return nil, fmt.Errorf("seedbox.peer_port %d: %w", cfg.Seedbox.PeerPort, err)
		}
		// The state dir or the piece completion DB in it; the error names the path.
		return nil, fmt.Errorf("data_dir: %w", err)
	}
	return seeder, nil
}

// restore seeds what the store has published and takes back the swarms saved at the last
// shutdown, so downloads that straddle a restart still count.
func restore(ctx context.Context, w *worker.Worker, st store.TrackerState, trk *tracker.Tracker, log *slog.Logger) {
	if err := w.Restore(ctx); err != nil {
		// One unreadable torrent must not keep the others from seeding.
		log.Error("restore", "err", err)
	}
	if peers, err := st.TakeTrackerPeers(ctx); err != nil {
		log.Error("restore tracker peers", "err", err)
	} else if len(peers) > 0 {
		log.Info("restored tracker peers", "peers", trk.RestorePeers(peers), "saved", len(peers))
	}
}

// scheduleJobs adds the gateway's periodic jobs (the feeds' polls are the manager's).
func scheduleJobs(cfg *config.Config, sched *worker.Scheduler, w *worker.Worker, mgr *subscribe.Manager,
	scrape func(context.Context) error, uploads *worker.Uploads) error {
	for _, j := range []worker.Job{
		{Name: "sync feeds", Spec: "@every 10s", Run: mgr.Sync},
		// Three heartbeats per node_timeout: one late one does not make the node look dead.
		{Name: "heartbeat", Spec: fmt.Sprintf("@every %s", cfg.NodeTimeout()/3), RunAtStart: true, Run: w.Heartbeat},
		// Seed what cluster.Assign gives this node among the live ones (one node: everything).
		{Name: "reconcile", Spec: fmt.Sprintf("@every %s", cfg.NodeTimeout()), Run: w.Reconcile},
		{Name: "verify", Spec: cfg.Schedule.Verify, Run: w.VerifyAll},
		{Name: "scrape", Spec: cfg.Schedule.Scrape, RunAtStart: true, Run: scrape},
		// Often enough that a report read just after a crowd shows the seeders' share, not 0.
		{Name: "record uploads", Spec: "@every 10s", Run: uploads.Flush},
	} {
		if err := sched.Add(j); err != nil {
			return err
		}
	}
	return nil
}
