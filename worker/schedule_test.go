package worker

import (
	"context"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"
)

func TestSchedulerRunNowRemove(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	s := NewScheduler(ctx, slog.New(slog.DiscardHandler))
	defer func() { cancel(); s.Stop() }()
	var runs atomic.Int32
	started := make(chan struct{}, 10)
	release := make(chan struct{})
	job := Job{Name: "poll a", Spec: "@every 1h", Run: func(ctx context.Context) error {
		runs.Add(1)
		started <- struct{}{}
		select {
		case <-release:
		case <-ctx.Done():
		}
		return nil
	}}
	if err := s.Add(job); err != nil {
		t.Fatal(err)
	}
	if err := s.Add(job); err == nil {
		t.Fatal("a second job of the same name was scheduled")
	}
	s.Start()
	if !s.RunNow("poll a") {
		t.Fatal("RunNow: job not found")
	}
	waitRecv(t, started)
	// A run is in progress: asking again does not start a second one.
	if !s.RunNow("poll a") {
		t.Fatal("RunNow: job not found")
	}
	close(release)
	// After the first run ends, a new RunNow runs again.
	deadline := time.Now().Add(5 * time.Second)
	for runs.Load() < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("%d runs, want a second after the first ended", runs.Load())
		}
		s.RunNow("poll a")
		select {
		case <-started:
		case <-time.After(50 * time.Millisecond):
		}
	}
	if !s.Has("poll a") || !s.Remove("poll a") || s.Has("poll a") || s.RunNow("poll a") || s.Remove("poll a") {
		t.Fatal("Remove did not unschedule the job")
	}
	// The name is free again.
	if err := s.Add(Job{Name: "poll a", Spec: "@every 1h", Run: func(context.Context) error { return nil }}); err != nil {
		t.Fatal(err)
	}
}

func TestSchedulerSkipsOverlap(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	s := NewScheduler(ctx, slog.New(slog.DiscardHandler))
	defer func() { cancel(); s.Stop() }()
	var running, overlaps atomic.Int32
	done := make(chan struct{}, 100)
	gate := make(chan struct{})
	if err := s.Add(Job{Name: "j", Spec: "@every 1h", Run: func(ctx context.Context) error {
		if running.Add(1) > 1 {
			overlaps.Add(1)
		}
		<-gate
		running.Add(-1)
		done <- struct{}{}
		return nil
	}}); err != nil {
		t.Fatal(err)
	}
	for range 20 {
		s.RunNow("j")
	}
	close(gate)
	waitRecv(t, done)
	if overlaps.Load() != 0 {
		t.Fatalf("%d overlapping runs", overlaps.Load())
	}
}

func waitRecv(t *testing.T, c <-chan struct{}) {
	t.Helper()
	select {
	case <-c:
	case <-time.After(10 * time.Second):
		t.Fatal("timed out")
	}
}
