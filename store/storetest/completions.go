package storetest

import (
	"bytes"
	"context"
	"testing"

	"time"
)

func testCompletionsOncePerListenerPerUTCDay(t *testing.T, open Opener) {
	ctx := context.Background()
	s, _ := open(t)
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

func testListenerSaltKeptForTheDayAndDeletedAfter(t *testing.T, open Opener) {
	ctx := context.Background()
	s, _ := open(t)
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
	if again, err := s.ListenerSalt(ctx, day, []byte("salt-5")); err != nil || string(again) != "salt-5" {
		t.Fatalf("1 Nov's salt two days on = %q, %v; want it deleted and salt-5 stored", again, err)
	}
	if bytes.Equal(next, first) {
		t.Fatal("salts of two days are equal")
	}
}
