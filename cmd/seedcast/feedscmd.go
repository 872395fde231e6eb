package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/seedcast/seedcast/safehttp"
	"github.com/seedcast/seedcast/store"
	"github.com/seedcast/seedcast/subscribe"
	"github.com/seedcast/seedcast/worker"
)

const feedsUsage = `usage: seedcast feeds list   [-config config.yaml] [-json]
       seedcast feeds add    [-config config.yaml] [-slug SLUG] [-owner-consent] FEED_URL
       seedcast feeds pause  [-config config.yaml] SLUG
       seedcast feeds resume [-config config.yaml] SLUG
       seedcast feeds remove [-config config.yaml] [-delete-media] SLUG
Feeds added here live in the store: a running gateway schedules them within 10 s.`

// cmdFeeds manages the feeds added at run time, as the dashboard and /api/v1/feeds do.
func cmdFeeds(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, feedsUsage)
		return flag.ErrHelp
	}
	sub, args := args[0], args[1:]
	fs := flag.NewFlagSet("feeds "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprintln(stderr, feedsUsage) }
	var cf commonFlags
	cf.register(fs)
	asJSON := fs.Bool("json", false, "list: print JSON")
	slug := fs.String("slug", "", "add: the feed's slug (default: from its title)")
	consent := fs.Bool("owner-consent", false, "add: republish even if the feed says podcast:locked yes")
	deleteMedia := fs.Bool("delete-media", false, "remove: delete its media and .torrent files too")
	if err := fs.Parse(args); err != nil {
		return err
	}
	want := 1
	if sub == "list" {
		want = 0
	}
	if fs.NArg() != want {
		fs.Usage()
		return flag.ErrHelp
	}
	cfg, log, st, err := cf.open(ctx, stderr)
	if err != nil {
		return err
	}
	defer st.Close()
	w := worker.New(workerConfig(cfg), st, clients(cfg), nil, nil, log)
	m := newManager(cfg, st, w, nil, log)
	if err := m.Start(ctx); err != nil { // config.yaml's feeds are listed, as pinned
		return err
	}
	arg := fs.Arg(0)
	switch sub {
	case "list":
		return listFeeds(ctx, stdout, st, *asJSON)
	case "add":
		f, rep, err := m.Add(ctx, arg, *slug, *consent)
		var refused *subscribe.RefusedError
		if errors.As(err, &refused) {
			for _, p := range rep.Problems {
				fmt.Fprintln(stderr, p)
			}
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "added %s (%s): %d items; a running gateway polls it within 10 s\n", f.Slug, rep.Title, len(rep.Items))
		return nil
	case "pause", "resume":
		if err := m.SetPaused(ctx, arg, sub == "pause"); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s: %sd\n", arg, sub)
		return nil
	case "remove":
		if err := m.Remove(ctx, arg, *deleteMedia); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "removed %s\n", arg)
		return nil
	}
	fmt.Fprintf(stderr, "seedcast feeds: unknown subcommand %q\n%s\n", sub, feedsUsage)
	return flag.ErrHelp
}

// feedLine is one feed as `seedcast feeds list -json` prints it.
type feedLine struct {
	Slug      string    `json:"slug"`
	URL       string    `json:"url"`
	Origin    string    `json:"origin"`
	Paused    bool      `json:"paused"`
	LastPoll  time.Time `json:"last_poll"`
	Error     string    `json:"error,omitempty"`
	ErrorKind string    `json:"error_kind,omitempty"`
}

func listFeeds(ctx context.Context, stdout io.Writer, st store.Store, asJSON bool) error {
	fs, err := st.Feeds(ctx)
	if err != nil {
		return err
	}
	lines := []feedLine{}
	for _, f := range fs {
		lines = append(lines, feedLine{Slug: f.Slug, URL: safehttp.RedactURL(f.URL), Origin: f.Origin, Paused: f.Paused,
			LastPoll: f.LastPollAt, Error: f.LastError, ErrorKind: f.ErrorKind})
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(lines)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SLUG\tORIGIN\tSTATE\tLAST POLL\tURL")
	for _, l := range lines {
		state := "ok"
		switch {
		case l.Paused:
			state = "paused"
		case l.Error != "":
			state = "failing (" + l.ErrorKind + ")"
		}
		poll := "never"
		if !l.LastPoll.IsZero() {
			poll = l.LastPoll.UTC().Format(time.DateTime)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", l.Slug, l.Origin, state, poll, l.URL)
	}
	return tw.Flush()
}
