// Command pgserver runs a throwaway PostgreSQL (store/postgres/pgtest) for the bench scripts:
// it writes the DSN of a fresh database to the file named by -dsn-file and stops the server on
// SIGINT or SIGTERM.
package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/seedcast/seedcast/store/postgres/pgtest"
)

func main() {
	dsnFile := flag.String("dsn-file", "", "where to write the DSN of the database (required)")
	flag.Parse()
	if err := run(*dsnFile); err != nil {
		fmt.Fprintln(os.Stderr, "pgserver:", err)
		os.Exit(1)
	}
}

func run(dsnFile string) error {
	if dsnFile == "" {
		return fmt.Errorf("-dsn-file is required")
	}
	srv, err := pgtest.Start()
	if err != nil {
		return err
	}
	defer srv.Stop()
	db, err := sql.Open("pgx", srv.DSN("postgres"))
	if err != nil {
		return err
	}
	_, err = db.Exec("CREATE DATABASE bench")
	db.Close()
	if err != nil {
		return err
	}
	if err := os.WriteFile(dsnFile, []byte(srv.DSN("bench")+"\n"), 0o600); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	return nil
}
