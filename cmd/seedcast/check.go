package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/seedcast/seedcast/feeds"
	"github.com/seedcast/seedcast/safehttp"
	"github.com/seedcast/seedcast/worker"
)

// checkReport is the -json output of `seedcast check`.
type checkReport struct {
	Title    string      `json:"title"`
	Items    []checkItem `json:"items"`
	Problems []string    `json:"problems"`
}

type checkItem struct {
	Title      string           `json:"title"`
	GUID       string           `json:"guid"` // the GUID, or the identity used instead
	Enclosures []checkEnclosure `json:"enclosures"`
}

type checkEnclosure struct {
	URL    string `json:"url"`
	Type   string `json:"type"`
	Length int64  `json:"length"`
}

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

	body, contentType, base, err := readFeed(ctx, src)
	if err != nil {
		return err
	}
	rep := checkReport{Items: []checkItem{}, Problems: []string{}}
	var refusal error
	norm, err := feeds.Normalize(body, contentType)
	var f *feeds.Feed
	if err == nil {
		f, err = feeds.ParseNewest(norm, base, *maxItems) // as the worker does: Problems says how many were left out
	}
	if err != nil {
		refusal = err
	} else {
		refusal = feeds.Refusal(f, *consent)
		rep.Title = f.Title
		rep.Items = checkItems(f)
		rep.Problems = append(rep.Problems, feeds.Problems(f)...)
	}
	if refusal != nil {
		rep.Problems = append([]string{"refused: " + refusal.Error()}, rep.Problems...)
	}

	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else {
		printCheck(stdout, src, rep, refusal)
	}
	if refusal != nil {
		return fmt.Errorf("%s: %w", safehttp.RedactURL(src), errRefused)
	}
	return nil
}

// checkItems lists what the worker would publish, built by the worker's own
// worker.Episodes so the two cannot disagree: one entry per item it keeps,
// each enclosure it would make a torrent of (primary first, a URL repeated
// by an alternateEnclosure once).
func checkItems(f *feeds.Feed) []checkItem {
	items := []checkItem{}
	at := map[string]int{}
	for _, e := range worker.Episodes(f) {
		i, ok := at[e.ItemKey]
		if !ok {
			ci := checkItem{Title: e.Title, GUID: e.GUID, Enclosures: []checkEnclosure{}}
			if ci.GUID == "" {
				ci.GUID = e.ItemKey
			}
			i = len(items)
			at[e.ItemKey] = i
			items = append(items, ci)
		}
		if e.EnclosureURL != "" {
			items[i].Enclosures = append(items[i].Enclosures,
				checkEnclosure{URL: e.EnclosureURL, Type: e.EnclosureType, Length: e.EnclosureLength})
		}
	}
	return items
}

// readFeed reads a feed from a file or an http(s) URL.
func readFeed(ctx context.Context, src string) (body []byte, contentType, base string, err error) {
	if !strings.HasPrefix(src, "http://") && !strings.HasPrefix(src, "https://") {
		body, err = os.ReadFile(src)
		if err != nil {
			return nil, "", "", fmt.Errorf("check: %w", err)
		}
		return body, "", "file://" + src, nil
	}
	// The person running check chose the URL, so private addresses are
	// allowed (a feed on the local network is a fine thing to check).
	client := safehttp.NewClient(safehttp.Options{AllowPrivate: true, Timeout: time.Minute, UserAgent: "Seedcast/1 check"})
	res, err := feeds.NewFetcher(client, 0).Fetch(ctx, src, "", "")
	if err != nil {
		return nil, "", "", err
	}
	base = res.FinalURL
	if base == "" {
		base = src
	}
	return res.Body, res.ContentType, base, nil
}

func printCheck(w io.Writer, src string, rep checkReport, refusal error) {
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
			fmt.Fprintf(w, "      enclosure: %s (%s, %s)\n", e.URL, typ, length)
		}
	}
	if len(rep.Problems) > 0 {
		fmt.Fprintf(w, "problems:\n")
		for _, p := range rep.Problems {
			fmt.Fprintf(w, "  - %s\n", p)
		}
	}
	if refusal != nil {
		fmt.Fprintf(w, "verdict: refused\n")
	} else {
		fmt.Fprintf(w, "verdict: would be republished\n")
	}
}
