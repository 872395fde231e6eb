// Command seedcast turns podcasts into BitTorrent broadcasts.
//
//	seedcast serve   [-config config.yaml]              the daemon
//	seedcast poll    [-config config.yaml] [-feed SLUG]  one ingest pass, then exit
//	seedcast torrent create FILE [-o out.torrent] [-webseed URL] [-announce URL] [-piece-length N]
//	seedcast check   [-json] FEED_URL_OR_FILE            what the gateway would publish
//	seedcast feeds   list|add|pause|resume|remove ...    the feeds added at run time
//	seedcast report  [-config config.yaml] -feed SLUG [-format table|csv|json]
//	seedcast migrate [-config config.yaml]
//	seedcast store copy [-config config.yaml] -to DSN
//	seedcast version
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `usage:
  seedcast serve   [-config config.yaml]              run the gateway: scheduler, seeder, tracker, web server
  seedcast poll    [-config config.yaml] [-feed SLUG]  poll feeds once, download and publish, then exit
  seedcast torrent create FILE [-o out.torrent] [-webseed URL] [-announce URL] [-piece-length N]
                                                      make a .torrent of a local file, hashing on all cores
  seedcast status  [-config config.yaml] [-json]       each feed's last poll, last error, pending, downloading, seeding, failed
  seedcast check   [-json] FEED_URL_OR_FILE            show what the gateway would publish for a feed; exit 1 if refused
  seedcast feeds   list|add|pause|resume|remove [-config config.yaml] ...
                                                      list feeds; add, pause, resume or remove one (as the dashboard does)
  seedcast report  [-config config.yaml] -feed SLUG [-format table|csv|json]
                                                      print a feed's download report from the store
  seedcast migrate [-config config.yaml]              bring the store's schema up to date, then exit
  seedcast store copy [-config config.yaml] -to DSN   copy the store (stop the gateway first) into an empty PostgreSQL database
  seedcast version                                    print the version
`

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	cmd, rest := args[0], args[1:]
	var err error
	switch cmd {
	case "serve":
		err = cmdServe(ctx, rest, stderr)
	case "poll":
		err = cmdPoll(ctx, rest, stderr)
	case "torrent":
		err = cmdTorrent(ctx, rest, stdout, stderr)
	case "status":
		err = cmdStatus(ctx, rest, stdout, stderr)
	case "check":
		err = cmdCheck(ctx, rest, stdout, stderr)
	case "feeds":
		err = cmdFeeds(ctx, rest, stdout, stderr)
	case "report":
		err = cmdReport(ctx, rest, stdout, stderr)
	case "migrate":
		err = cmdMigrate(ctx, rest, stdout, stderr)
	case "store":
		err = cmdStore(ctx, rest, stdout, stderr)
	case "version":
		fmt.Fprintf(stdout, "seedcast %s\n", version)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "seedcast: unknown command %q\n%s", cmd, usage)
		return 2
	}
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 2
		}
		fmt.Fprintf(stderr, "seedcast %s: %v\n", cmd, err)
		return 1
	}
	return 0
}

func newLogger(w io.Writer, level slog.Level) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	err := l.UnmarshalText([]byte(s))
	return l, err
}
