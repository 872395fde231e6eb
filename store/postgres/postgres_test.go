package postgres_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/seedcast/seedcast/store"
	"github.com/seedcast/seedcast/store/postgres"
	"github.com/seedcast/seedcast/store/postgres/pgtest"
	"github.com/seedcast/seedcast/store/storetest"
)

var srv *pgtest.Server

func TestMain(m *testing.M) { pgtest.Main(m, &srv) }

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) (store.Store, func() store.Store) {
		dsn := srv.NewDatabase(t)
		open := func() store.Store {
			s, err := postgres.Open(context.Background(), dsn)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		}
		return open(), open
	})
}

// Nodes starting at once migrate the database once, under the advisory lock: every Open
// succeeds and the schema is there once.
func TestConcurrentStartsMigrateOnce(t *testing.T) {
	dsn := srv.NewDatabase(t)
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := postgres.Open(context.Background(), dsn)
			if err == nil {
				err = s.EnsureFeed(context.Background(), "demo", "http://example.com/feed.xml")
				s.Close()
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	s, err := postgres.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if n, err := s.FeedCount(context.Background()); err != nil || n != 1 {
		t.Fatalf("feeds = %d, %v; want 1", n, err)
	}
}

func TestOpenErrorHidesPassword(t *testing.T) {
	for _, dsn := range []string{
		"postgres://seedcast:hunter2@127.0.0.1:1/none?sslmode=disable&connect_timeout=2",
		"host=127.0.0.1 port=1 user=seedcast password=hunter2 dbname=none sslmode=disable connect_timeout=2",
	} {
		_, err := postgres.Open(context.Background(), dsn)
		if err == nil {
			t.Fatalf("%s: opened a database on port 1", dsn)
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("the error shows the password: %v", err)
		}
	}
}
