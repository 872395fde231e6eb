package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/seedcast/seedcast/store/postgres"
	"github.com/seedcast/seedcast/store/sqldb"
)

// cmdMigrate brings the configured store's schema up to date and exits; serve and poll do the
// same at start, under the same lock, so this is for doing it ahead of a rollout.
func cmdMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cf commonFlags
	cf.register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, _, st, err := cf.open(ctx, stderr)
	if err != nil {
		return err
	}
	defer st.Close()
	fmt.Fprintf(stdout, "store migrated (%s)\n", cfg.Store.Driver)
	return nil
}

// cmdStore runs `seedcast store copy -config FILE -to DSN`: the configured store (SQLite, say)
// copied into an empty PostgreSQL database, for moving an installation to it.
func cmdStore(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "copy" {
		return errors.New("usage: seedcast store copy [-config config.yaml] -to DSN")
	}
	fs := flag.NewFlagSet("store copy", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cf commonFlags
	cf.register(fs)
	to := fs.String("to", "", "the PostgreSQL database to copy into (libpq URL or key=value DSN); it must hold no feed")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *to == "" {
		return errors.New("-to: a PostgreSQL DSN is required")
	}
	_, log, src, err := cf.open(ctx, stderr)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := postgres.Open(ctx, *to)
	if err != nil {
		return fmt.Errorf("-to: %w", err)
	}
	defer dst.Close()
	counts, err := sqldb.Copy(ctx, dst, src)
	if err != nil {
		return err
	}
	log.Info("store copied", "feeds", counts["feeds"], "episodes", counts["episodes"],
		"completions", counts["completions"], "snapshots", counts["snapshots"])
	fmt.Fprintf(stdout, "copied %d feeds, %d episodes, %d counted downloads, %d scrape snapshots\n",
		counts["feeds"], counts["episodes"], counts["completions"], counts["snapshots"])
	return nil
}
