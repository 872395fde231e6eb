// Package pgtest starts a throwaway PostgreSQL server for tests: a fresh
// cluster in a temp dir, trust auth, listening on a unix socket in that dir
// and on 127.0.0.1 with a free port, tuned for speed rather than durability.
// Each test binary starts its own server (see Main), so packages that go test
// runs in parallel never share a cluster, a dir or a port.
//
// Tests run as root on CI, and initdb refuses root, so then every PostgreSQL
// program runs as the postgres user that Debian's package creates.
package pgtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// ErrNotInstalled is returned by Start when no PostgreSQL binaries are found.
var ErrNotInstalled = errors.New("pgtest: PostgreSQL is not installed (install Debian's postgresql package: apt-get install postgresql)")

// startTimeout bounds initdb plus start plus the first connection. A cold
// initdb on a busy 2-core CI machine takes a few seconds; a minute means
// something is wrong.
const startTimeout = 60 * time.Second

// Server is one running PostgreSQL cluster owned by this process.
type Server struct {
	dir     string // temp dir: data/, the unix socket, postgres.log
	binDir  string
	port    int
	cred    *syscall.Credential // postgres user when we are root, else nil
	skipMsg string              // set by Main when PostgreSQL is missing: NewDatabase skips
	nextDB  atomic.Int64
}

// Start starts a PostgreSQL server in a new temp dir and returns once it
// accepts connections. The caller must Stop it.
func Start() (*Server, error) {
	binDir, err := findBinDir()
	if err != nil {
		return nil, err
	}
	s := &Server{binDir: binDir}
	if os.Geteuid() == 0 {
		if s.cred, err = postgresCredential(); err != nil {
			return nil, err
		}
	}
	// The socket path (dir + "/.s.PGSQL.NNNNN") must fit in sun_path's 107
	// bytes, so the dir stays short under the default temp dir.
	s.dir, err = os.MkdirTemp("", "pgtest-")
	if err != nil {
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	if s.cred != nil {
		if err := os.Chown(s.dir, int(s.cred.Uid), int(s.cred.Gid)); err != nil {
			os.RemoveAll(s.dir)
			return nil, fmt.Errorf("pgtest: giving %s to the postgres user: %w", s.dir, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	if err := s.start(ctx); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

func (s *Server) dataDir() string { return filepath.Join(s.dir, "data") }
func (s *Server) logPath() string { return filepath.Join(s.dir, "postgres.log") }

func (s *Server) start(ctx context.Context) error {
	out, err := s.run(ctx, "initdb",
		"--pgdata", s.dataDir(),
		"--username", "postgres", // the superuser's name, whoever runs initdb
		"--auth", "trust", // local and host 127.0.0.1/32, ::1/128
		"--encoding", "UTF8", "--locale", "C", // independent of the machine's LANG
		"--no-sync")
	if err != nil {
		return fmt.Errorf("pgtest: initdb: %w\n%s", err, out)
	}
	// Throwaway data: durability buys nothing and costs fsyncs.
	conf := fmt.Sprintf(`
listen_addresses = '127.0.0.1'
unix_socket_directories = '%s'
fsync = off
full_page_writes = off
synchronous_commit = off
`, s.dir)
	if err := appendFile(filepath.Join(s.dataDir(), "postgresql.conf"), conf); err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}

	// A free port can be taken by another process (another test binary's
	// server) between our probe and postgres binding it, so a bind failure
	// retries with a new port; the port is a command-line option for that
	// reason, not a line in postgresql.conf.
	for attempt := 1; ; attempt++ {
		if s.port, err = freePort(); err != nil {
			return fmt.Errorf("pgtest: %w", err)
		}
		// Each attempt's log alone decides whether to retry.
		if err := os.Remove(s.logPath()); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("pgtest: %w", err)
		}
		out, err := s.run(ctx, "pg_ctl", "start", "--wait",
			"--timeout", strconv.Itoa(int(startTimeout/time.Second)),
			"--pgdata", s.dataDir(), "--log", s.logPath(),
			"--options", "-p "+strconv.Itoa(s.port))
		if err == nil {
			break
		}
		log := s.logTail()
		if attempt < 5 && strings.Contains(log, "could not bind") {
			continue
		}
		return fmt.Errorf("pgtest: pg_ctl start: %w\n%s\npostgres.log:\n%s", err, out, log)
	}
	return s.waitReady(ctx)
}

// waitReady polls until a connection succeeds. pg_ctl --wait already waits
// for the postmaster to report ready; this checks the TCP path the tests use.
func (s *Server) waitReady(ctx context.Context) error {
	for {
		conn, err := pgx.Connect(ctx, s.DSN("postgres"))
		if err == nil {
			return conn.Close(ctx)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("pgtest: server on port %d not accepting connections: %w\npostgres.log:\n%s", s.port, err, s.logTail())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// DSN is a libpq URL for the database name on this server.
func (s *Server) DSN(name string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", s.port, url.PathEscape(name))
}

var unsafeName = regexp.MustCompile(`[^a-z0-9_]+`)

// NewDatabase creates a fresh database, named after the test for reading
// postgres.log, and returns its DSN. The database is dropped at t.Cleanup,
// even if the test left connections open. If Main found no PostgreSQL, it
// skips the test.
func (s *Server) NewDatabase(t testing.TB) string {
	t.Helper()
	if s == nil {
		t.Fatal("pgtest: no server (call pgtest.Main from TestMain)")
	}
	if s.skipMsg != "" {
		t.Skip(s.skipMsg)
	}
	// Identifiers are at most 63 bytes; the counter keeps names unique.
	prefix := strings.Trim(unsafeName.ReplaceAllString(strings.ToLower(t.Name()), "_"), "_")
	name := fmt.Sprintf("%.40s_%d", "t_"+prefix, s.nextDB.Add(1))
	ident := pgx.Identifier{name}.Sanitize()

	if err := s.exec("CREATE DATABASE " + ident); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() {
		// FORCE: a test that leaked a connection must not leave its database behind.
		if err := s.exec("DROP DATABASE IF EXISTS " + ident + " WITH (FORCE)"); err != nil {
			t.Errorf("pgtest: %v", err)
		}
	})
	return s.DSN(name)
}

// exec runs one statement in the postgres database on a connection of its
// own, so NewDatabase is safe from parallel tests.
func (s *Server) exec(sql string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, s.DSN("postgres"))
	if err != nil {
		return fmt.Errorf("connecting to the postgres database: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		return fmt.Errorf("%s: %w", sql, err)
	}
	return nil
}

// Stop stops the server at once (no checkpoint: the data is thrown away) and
// removes its dir.
func (s *Server) Stop() error {
	var err error
	if _, statErr := os.Stat(filepath.Join(s.dataDir(), "postmaster.pid")); statErr == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		var out []byte
		if out, err = s.run(ctx, "pg_ctl", "stop", "--wait", "--mode", "immediate", "--pgdata", s.dataDir()); err != nil {
			err = fmt.Errorf("pgtest: pg_ctl stop: %w\n%s", err, out)
		}
	}
	return errors.Join(err, os.RemoveAll(s.dir))
}

// Main is for TestMain: it starts a server into *srv, runs the tests, stops
// the server and exits with the tests' code.
//
// If PostgreSQL is not installed, a run with SEEDCAST_REQUIRE_PEERS set (as
// on CI) fails; otherwise *srv is a server whose NewDatabase skips the test,
// so tests that need no database still run. Any other start failure fails
// the run.
//
//	var srv *pgtest.Server
//
//	func TestMain(m *testing.M) { pgtest.Main(m, &srv) }
func Main(m *testing.M, srv **Server) {
	s, err := Start()
	switch {
	case errors.Is(err, ErrNotInstalled) && os.Getenv("SEEDCAST_REQUIRE_PEERS") == "":
		*srv = &Server{skipMsg: err.Error()}
		os.Exit(m.Run())
	case err != nil:
		if errors.Is(err, ErrNotInstalled) {
			err = fmt.Errorf("%w (SEEDCAST_REQUIRE_PEERS is set)", err)
		}
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	*srv = s
	code := m.Run()
	if err := s.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

// findBinDir finds the newest /usr/lib/postgresql/VERSION/bin (Debian keeps
// its programs off $PATH), else initdb's dir on $PATH.
func findBinDir() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	dirs = slices.DeleteFunc(dirs, func(d string) bool {
		_, err := os.Stat(filepath.Join(d, "initdb"))
		return err != nil
	})
	if len(dirs) > 0 {
		// Numerically: 9.6 < 10 < 15.
		version := func(d string) float64 {
			v, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(d)), 64)
			return v
		}
		slices.SortFunc(dirs, func(a, b string) int {
			switch va, vb := version(a), version(b); {
			case va < vb:
				return -1
			case va > vb:
				return 1
			}
			return 0
		})
		return dirs[len(dirs)-1], nil
	}
	// Through symlinks, to the dir that also holds pg_ctl and postgres.
	if p, err := exec.LookPath("initdb"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			p = real
		}
		return filepath.Dir(p), nil
	}
	return "", ErrNotInstalled
}

func postgresCredential() (*syscall.Credential, error) {
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("pgtest: running as root needs the postgres user (Debian's postgresql package makes it): %w", err)
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("pgtest: postgres uid %q: %w", u.Uid, err)
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("pgtest: postgres gid %q: %w", u.Gid, err)
	}
	// No supplementary groups: root's must not leak into the server.
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}, nil
}

// run runs a PostgreSQL program as the server's user, from the server's dir
// (the postgres user may not be able to read our working directory).
func (s *Server) run(ctx context.Context, prog string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(s.binDir, prog), args...)
	cmd.Dir = s.dir
	if s.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred}
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.Bytes(), err
}

// logTail is the end of postgres.log, for start failures.
func (s *Server) logTail() string {
	b, err := os.ReadFile(s.logPath())
	if err != nil {
		return "(" + err.Error() + ")"
	}
	const max = 4096
	if len(b) > max {
		b = b[len(b)-max:]
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		}
	}
	return string(b)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func appendFile(path, text string) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(text); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
