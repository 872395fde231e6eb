package pgtest

import (
	"context"
	"errors"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

var srv *Server

func TestMain(m *testing.M) { Main(m, &srv) }

func connect(t *testing.T, dsn string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatalf("connecting to %s: %v", dsn, err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func dbName(t *testing.T, dsn string) string {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimPrefix(u.Path, "/")
}

// tableExists reports whether the table is in conn's database.
func tableExists(t *testing.T, conn *pgx.Conn, table string) bool {
	t.Helper()
	var exists bool
	if err := conn.QueryRow(context.Background(), "SELECT to_regclass($1) IS NOT NULL", table).Scan(&exists); err != nil {
		t.Fatal(err)
	}
	return exists
}

func TestSeparateDatabases(t *testing.T) {
	dsnA, dsnB := srv.NewDatabase(t), srv.NewDatabase(t)
	if dsnA == dsnB {
		t.Fatalf("two NewDatabase calls gave the same DSN %s", dsnA)
	}
	a, b := connect(t, dsnA), connect(t, dsnB)
	for conn, dsn := range map[*pgx.Conn]string{a: dsnA, b: dsnB} {
		var name string
		if err := conn.QueryRow(context.Background(), "SELECT current_database()").Scan(&name); err != nil {
			t.Fatal(err)
		}
		if name != dbName(t, dsn) {
			t.Errorf("connected via %s to database %q", dsn, name)
		}
	}

	if _, err := a.Exec(context.Background(), "CREATE TABLE marker (id int PRIMARY KEY); INSERT INTO marker VALUES (1)"); err != nil {
		t.Fatal(err)
	}
	if !tableExists(t, a, "marker") {
		t.Error("table created in A is not in A")
	}
	if tableExists(t, b, "marker") {
		t.Error("table created in A is also in B")
	}
}

// TestDatabaseDroppedAtCleanup leaves a connection open past the subtest, as a
// careless test would, and checks the database is gone all the same.
func TestDatabaseDroppedAtCleanup(t *testing.T) {
	var name string
	var leaked *pgx.Conn
	t.Run("uses a database", func(t *testing.T) {
		dsn := srv.NewDatabase(t)
		name = dbName(t, dsn)
		var err error
		if leaked, err = pgx.Connect(context.Background(), dsn); err != nil {
			t.Fatal(err)
		}
	})
	if leaked != nil {
		defer leaked.Close(context.Background())
	}
	if name == "" {
		t.Skip("subtest skipped or failed before creating a database")
	}

	admin := connect(t, srv.DSN("postgres"))
	var n int
	if err := admin.QueryRow(context.Background(), "SELECT count(*) FROM pg_database WHERE datname = $1", name).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("database %s still exists after its test's cleanup", name)
	}
	if leaked != nil && leaked.Ping(context.Background()) == nil {
		t.Error("connection to the dropped database still works")
	}
}

// TestSecondServer starts another server beside the shared one, as a second
// test binary would: its own port and dir, both usable, and Stop removes the dir.
func TestSecondServer(t *testing.T) {
	if srv.skipMsg != "" {
		t.Skip(srv.skipMsg)
	}
	begin := time.Now()
	other, err := Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Start (initdb, pg_ctl start, first connection) took %v", time.Since(begin).Round(time.Millisecond))
	if other.port == srv.port || other.dir == srv.dir {
		t.Errorf("second server shares port %d or dir %s with the first", other.port, other.dir)
	}
	for _, s := range []*Server{srv, other} {
		var one int
		if err := connect(t, s.DSN("postgres")).QueryRow(context.Background(), "SELECT 1").Scan(&one); err != nil || one != 1 {
			t.Errorf("server on port %d: SELECT 1 = %d, %v", s.port, one, err)
		}
	}
	if err := other.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(other.dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Stop left %s behind: %v", other.dir, err)
	}
	if conn, err := pgx.Connect(context.Background(), other.DSN("postgres")); err == nil {
		conn.Close(context.Background())
		t.Error("stopped server still accepts connections")
	}
}
