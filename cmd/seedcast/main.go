// Command seedcast turns podcasts into BitTorrent broadcasts.
//
//	seedcast serve   [-config config.yaml]              the daemon
//	seedcast poll    [-config config.yaml] [-feed SLUG]  one ingest pass, then exit
//	seedcast torrent create FILE [-o out.torrent] [-webseed URL] [-announce URL] [-piece-length N]
//	seedcast check   [-json] FEED_URL_OR_FILE            what the gateway would publish
//	seedcast report  [-config config.yaml] -feed SLUG [-format table|csv|json]
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
	if err := useClassicFileIO(); err != nil {
		fmt.Fprintf(os.Stderr, "seedcast: %v\n", err)
		os.Exit(1)
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// fileIOEnv is read by anacrolix/torrent's storage package when the program
// loads. Its default, mmap, holds one descriptor and one mapping per file
// ever read (10,000 episodes read once: 10,013 fds, 5.6 GiB resident, see
// docs/BENCHMARKS.md) and kills the process with SIGBUS if a seeded file is
// truncated. Classic pread I/O has neither problem, and because the choice
// is made before main runs, the process re-executes itself once with it set.
const fileIOEnv = "TORRENT_STORAGE_DEFAULT_FILE_IO"

func useClassicFileIO() error {
	if os.Getenv(fileIOEnv) != "" {
		return nil // chosen already (by us, or by an operator who knows better)
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("finding own executable to set %s: %w", fileIOEnv, err)
	}
	env := append(os.Environ(), fileIOEnv+"=classic")
	return syscall.Exec(exe, os.Args, env)
}

const usage = `usage:
  seedcast serve   [-config config.yaml]              run the gateway: scheduler, seeder, tracker, web server
  seedcast poll    [-config config.yaml] [-feed SLUG]  poll feeds once, download and publish, then exit
  seedcast torrent create FILE [-o out.torrent] [-webseed URL] [-announce URL] [-piece-length N]
                                                      make a .torrent of a local file, hashing on all cores
  seedcast status  [-config config.yaml] [-json]       each feed's last poll, last error, pending, downloading, seeding, failed
  seedcast check   [-json] FEED_URL_OR_FILE            show what the gateway would publish for a feed; exit 1 if refused
  seedcast report  [-config config.yaml] -feed SLUG [-format table|csv|json]
                                                      print a feed's download report from the store
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
	case "report":
		err = cmdReport(ctx, rest, stdout, stderr)
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
