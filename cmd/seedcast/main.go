// Command seedcast turns podcasts into BitTorrent broadcasts.
//
//	seedcast serve   [-config config.yaml]              the daemon
//	seedcast poll    [-config config.yaml] [-feed SLUG]  one ingest pass, then exit
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
