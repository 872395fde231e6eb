package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/seedcast/seedcast/feedcheck"
	"github.com/seedcast/seedcast/feeds"
	"github.com/seedcast/seedcast/safehttp"
)

// checkReport is the -json output of `seedcast check`.
type checkReport = feedcheck.Report

// errRefused marks a feed the gateway would not republish; the reason has
// already been printed.
var errRefused = errors.New("the gateway would refuse this feed")

// cmdCheck tells a podcaster what the gateway would publish for a feed. It
// reads the feed only: no enclosure download, no store.
func cmdCheck(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print the report as JSON")
	consent := fs.Bool("owner-consent", false, "check as if the feed's config entry had owner_consent: true")
	maxItems := fs.Int("max-items", feeds.DefaultMaxItems, "check as if fetch.max_items were this")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: seedcast check [-json] [-owner-consent] [-max-items N] FEED_URL_OR_FILE")
		fs.PrintDefaults()
	}
	// Flags may come before or after the feed.
	var pos []string
	for len(args) > 0 {
		if err := fs.Parse(args); err != nil {
			return err
		}
		args = fs.Args()
		if len(args) > 0 {
			pos, args = append(pos, args[0]), args[1:]
		}
	}
	if len(pos) != 1 {
		fs.Usage()
		return flag.ErrHelp
	}
	src := pos[0]

	opts := feedcheck.Options{OwnerConsent: *consent, MaxItems: *maxItems}
	var rep checkReport
	var err error
	if strings.HasPrefix(src, "http://") || strings.HasPrefix(src, "https://") {
		// The person running check chose the URL, so private addresses are
		// allowed (a feed on the local network is a fine thing to check).
		opts.Client = safehttp.NewClient(safehttp.Options{AllowPrivate: true, Timeout: time.Minute, UserAgent: "Seedcast/1 check"})
		rep, err = feedcheck.Check(ctx, opts, src)
	} else {
		rep, err = feedcheck.CheckFile(opts, src)
	}
	if err != nil {
		return err
	}

	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else {
		printCheck(stdout, src, rep)
	}
	if rep.Refused {
		return fmt.Errorf("%s: %w", safehttp.RedactURL(src), errRefused)
	}
	return nil
}

func printCheck(w io.Writer, src string, rep checkReport) {
	title := rep.Title
	if title == "" {
		title = "(no title)"
	}
	fmt.Fprintf(w, "feed: %s\ntitle: %s\nitems: %d\n", safehttp.RedactURL(src), title, len(rep.Items))
	for i, it := range rep.Items {
		fmt.Fprintf(w, "%4d. %q\n      guid: %s\n", i+1, it.Title, it.GUID)
		for _, e := range it.Enclosures {
			typ := e.Type
			if typ == "" {
				typ = "no type"
			}
			length := "length unknown"
			if e.Length > 0 {
				length = fmt.Sprintf("%d bytes", e.Length)
			}
			fmt.Fprintf(w, "      enclosure: %s (%s, %s)\n      torrent name: %q\n", e.URL, typ, length, e.TorrentName)
		}
	}
	// Quoted: the tokens are a stranger's text, shown on a terminal.
	for _, tok := range rep.VerifyTokens {
		fmt.Fprintf(w, "verify token: %q\n", tok)
	}
	if len(rep.Problems) > 0 {
		fmt.Fprintf(w, "problems:\n")
		for _, p := range rep.Problems {
			fmt.Fprintf(w, "  - %s\n", p)
		}
	}
	if rep.Refused {
		fmt.Fprintf(w, "verdict: refused\n")
	} else {
		fmt.Fprintf(w, "verdict: would be republished\n")
	}
}
