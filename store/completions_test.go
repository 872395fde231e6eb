package store

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func TestCompletionsOncePerListenerPerUTCDay(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t)
	ih := "0123456789abcdef0123456789abcdef01234567"
	day := time.Date(2026, 11, 1, 23, 58, 0, 0, time.UTC)
	for i, c := range []struct {
		listener string
		at       time.Time
		want     bool
	}{
		{"L1", day, true},
		{"L1", day.Add(time.Minute), false},     // same listener, same UTC day
		{"L2", day.Add(time.Minute), true},      // another listener
		{"L1", day.Add(3 * time.Minute), true},  // 00:01 the next day
		{"L1", day.Add(4 * time.Minute), false}, // and again that day
	} {
		added, err := s.RecordCompletion(ctx, ih, c.listener, c.at)
		if err != nil {
			t.Fatal(err)
		}
		if added != c.want {
			t.Fatalf("completion %d (%s at %s): added=%v, want %v", i, c.listener, c.at, added, c.want)
		}
	}
	if n, err := s.CompletionCount(ctx, ih); err != nil || n != 3 {
		t.Fatalf("counted = %d, %v; want 3", n, err)
	}
	if n, err := s.CompletionEvents(ctx, ih); err != nil || n != 5 {
		t.Fatalf("raw completions = %d, %v; want 5", n, err)
	}
	if times, err := s.Completions(ctx, ih); err != nil || len(times) != 3 {
		t.Fatalf("completions = %v, %v; want the 3 counted", times, err)
	}
}

// An older database's completions (one per peer, no day) are kept as
// counted downloads of their day.
func TestCompletionsMigrationKeepsRows(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "seedcast.db")
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	before := slices.Index(migrations, countedDownloads) // the migrations before it
	for i, m := range migrations[:before] {
		if _, err := db.ExecContext(ctx, m); err != nil {
			t.Fatalf("migration %d: %v", i+1, err)
		}
	}
	ih := "0123456789abcdef0123456789abcdef01234567"
	at := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	for i, peer := range []string{"p1", "p2", "p3"} {
		if _, err := db.ExecContext(ctx, `INSERT INTO completions(info_hash, peer_key, at) VALUES(?,?,?)`,
			ih, peer, unix(at.Add(time.Duration(i)*12*time.Hour))); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", before)); err != nil {
		t.Fatal(err)
	}
	db.Close()

	s, err := OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if n, err := s.CompletionCount(ctx, ih); err != nil || n != 3 {
		t.Fatalf("counted after migration = %d, %v; want 3", n, err)
	}
	if n, err := s.CompletionEvents(ctx, ih); err != nil || n != 3 {
		t.Fatalf("raw after migration = %d, %v; want 3", n, err)
	}
	// p1 was counted on 1 Nov: again that day is a repeat, the next day is not.
	if added, err := s.RecordCompletion(ctx, ih, "p1", at.Add(time.Hour)); err != nil || added {
		t.Fatalf("p1 again on its day: added=%v, %v; want false", added, err)
	}
	if added, err := s.RecordCompletion(ctx, ih, "p1", at.Add(48*time.Hour)); err != nil || !added {
		t.Fatalf("p1 two days later: added=%v, %v; want true", added, err)
	}
}

func TestListenerSaltKeptForTheDayAndDeletedAfter(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t)
	day := time.Date(2026, 11, 1, 0, 0, 1, 0, time.UTC)
	first, err := s.ListenerSalt(ctx, day, []byte("salt-1"))
	if err != nil || string(first) != "salt-1" {
		t.Fatalf("first salt = %q, %v", first, err)
	}
	again, err := s.ListenerSalt(ctx, day.Add(23*time.Hour), []byte("salt-2"))
	if err != nil || string(again) != "salt-1" {
		t.Fatalf("later the same day = %q, %v; want the day's salt-1 (a restart keeps dedupe)", again, err)
	}
	next, err := s.ListenerSalt(ctx, day.Add(24*time.Hour), []byte("salt-3"))
	if err != nil || string(next) != "salt-3" {
		t.Fatalf("next day = %q, %v; want salt-3", next, err)
	}
	// Two days on, 1 Nov's salt is gone: asking for it stores a new one.
	if _, err := s.ListenerSalt(ctx, day.Add(48*time.Hour), []byte("salt-4")); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM listener_salts WHERE salt = ?`, []byte("salt-1")).Scan(&n); err != nil || n != 0 {
		t.Fatalf("1 Nov's salt rows = %d, %v; want deleted", n, err)
	}
	if bytes.Equal(next, first) {
		t.Fatal("salts of two days are equal")
	}
}
