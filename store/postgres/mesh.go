package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
)

// meshChannel is the NOTIFY channel the nodes' trackers share their swarms on.
const meshChannel = "seedcast_swarms"

// Mesh sends tracker swarm changes to every node with NOTIFY: nothing is written to a table, so
// listener addresses pass between nodes without being stored.
type Mesh struct {
	db *sql.DB
}

// NewMesh connects to the cluster's database at dsn for publishing; Close closes it.
func NewMesh(dsn string) (*Mesh, error) {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("store: swarm mesh %s: %w", redactDSN(dsn), err)
	}
	db.SetMaxOpenConns(2)
	return &Mesh{db: db}, nil
}

// Close closes the publishing connections.
func (m *Mesh) Close() error { return m.db.Close() }

// Publish sends payload to every listening node, this one included.
func (m *Mesh) Publish(ctx context.Context, payload string) error {
	if _, err := m.db.ExecContext(ctx, "SELECT pg_notify($1, $2)", meshChannel, payload); err != nil {
		return fmt.Errorf("store: publish swarm changes: %w", err)
	}
	return nil
}

// ListenMesh passes every payload published on the mesh to handle until ctx ends, on a
// connection of its own; a lost connection is made again after a second (changes sent
// meanwhile are missed, and their peers come back at their next announce).
func ListenMesh(ctx context.Context, dsn string, handle func(string), log *slog.Logger) {
	for ctx.Err() == nil {
		err := listenOnce(ctx, dsn, handle)
		if ctx.Err() != nil {
			return
		}
		log.Warn("swarm mesh: listening again in a second", "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

func listenOnce(ctx context.Context, dsn string, handle func(string)) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return fmt.Errorf("connecting to %s: %w", redactDSN(dsn), err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+meshChannel); err != nil {
		return err
	}
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		handle(n.Payload)
	}
}
