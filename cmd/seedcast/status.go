package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"text/tabwriter"
	"time"

	"github.com/seedcast/seedcast/store"
	"github.com/seedcast/seedcast/worker"
)

// statusHandler serves GET /status: every feed's health as JSON.
func statusHandler(st store.Store, w *worker.Worker, nodeTimeout time.Duration, replicas int, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		feeds, err := worker.Status(r.Context(), st, w)
		var nodes []worker.NodeStatus
		if err == nil {
			nodes, err = worker.NodesStatus(r.Context(), st, nodeTimeout, replicas, time.Now())
		}
		if err != nil {
			log.Error("status", "err", err)
			http.Error(rw, "status unavailable", http.StatusInternalServerError)
			return
		}
		rw.Header().Set("Content-Type", "application/json")
		rw.Header().Set("Cache-Control", "no-store")
		enc := json.NewEncoder(rw)
		enc.SetIndent("", "  ")
		enc.Encode(map[string]any{"generated_at": time.Now().UTC(), "nodes": nodes, "feeds": feeds})
	})
}

// cmdStatus prints each feed's status: from the running daemon when it
// answers (so downloads in progress show), else from the store.
func cmdStatus(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("status", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cf commonFlags
	cf.register(fs)
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, _, err := cf.load(stderr)
	if err != nil {
		return err
	}
	var feeds []worker.FeedStatus
	var nodes []worker.NodeStatus
	source := "daemon at " + cfg.HTTP.PublicURL
	if live, liveNodes, err := fetchStatus(ctx, "http://"+cfg.HTTP.Listen+"/status"); err == nil {
		feeds, nodes = live, liveNodes
	} else {
		st, err := openStore(ctx, cfg)
		if err != nil {
			return err
		}
		defer st.Close()
		if feeds, err = worker.Status(ctx, st, nil); err != nil {
			return err
		}
		if nodes, err = worker.NodesStatus(ctx, st, cfg.NodeTimeout(), cfg.Cluster.Replicas, time.Now()); err != nil {
			return err
		}
		source = "store (daemon not running: downloads in progress not shown)"
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(map[string]any{"nodes": nodes, "feeds": feeds})
	}
	fmt.Fprintf(stdout, "status from the %s\n\n", source)
	for _, n := range nodes {
		state := "dead"
		if n.Alive {
			state = "alive"
		}
		fmt.Fprintf(stdout, "node %s: %s, last seen %s, seeding %d of %d assigned, %d media bytes\n", n.Name, state,
			n.LastSeen.Local().Format("2006-01-02 15:04:05"), n.Seeding, n.Assigned, n.DiskBytes)
	}
	if len(nodes) > 0 {
		fmt.Fprintln(stdout)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "FEED\tLAST POLL\tSEEDING\tPENDING\tDOWNLOADING\tFAILED\tLAST ERROR")
	for _, f := range feeds {
		last := "never"
		if f.LastPollAt != nil {
			last = f.LastPollAt.Local().Format("2006-01-02 15:04:05")
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%s\n", f.Slug, last, f.Seeding, f.Pending,
			len(f.Downloading), len(f.Failed), oneLine(f.LastError, 100))
	}
	tw.Flush()
	for _, f := range feeds {
		if f.Warning != "" {
			fmt.Fprintf(stdout, "\n%s: %s", f.Slug, oneLine(f.Warning, 200))
		}
		for _, d := range f.Downloading {
			fmt.Fprintf(stdout, "\n%s: downloading %q %d/%d bytes (%.0f%%)", f.Slug, d.Title, d.Bytes, d.Length, 100*d.Progress)
		}
		for _, e := range f.Failed {
			fmt.Fprintf(stdout, "\n%s: failed %q: %s", f.Slug, e.Title, oneLine(e.Error, 200))
		}
	}
	fmt.Fprintln(stdout)
	return nil
}

func fetchStatus(ctx context.Context, url string) ([]worker.FeedStatus, []worker.NodeStatus, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, nil, fmt.Errorf("status %d", resp.StatusCode)
	}
	var body struct {
		Feeds []worker.FeedStatus `json:"feeds"`
		Nodes []worker.NodeStatus `json:"nodes"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 16<<20)).Decode(&body); err != nil {
		return nil, nil, err
	}
	return body.Feeds, body.Nodes, nil
}

func oneLine(s string, max int) string {
	out := make([]rune, 0, len(s))
	for _, r := range s {
		if r == '\n' || r == '\r' || r == '\t' {
			r = ' '
		}
		out = append(out, r)
	}
	if len(out) > max {
		out = append(out[:max-1], '…')
	}
	return string(out)
}
