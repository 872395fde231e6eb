package worker

import (
	"context"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"
)

// RunNow starts a job at once, never beside a run in progress: calls during a run make one
// more run after it, and that run is the job's Asked function.
func TestSchedulerRunNow(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := NewScheduler(ctx, slog.New(slog.DiscardHandler))
	var scheduled, asked, running, maxRunning atomic.Int32
	release := make(chan struct{})
	started := make(chan struct{}, 10)
	body := func(counter *atomic.Int32) func(context.Context) error {
		return func(ctx context.Context) error {
			n := running.Add(1)
			defer running.Add(-1)
			if n > maxRunning.Load() {
				maxRunning.Store(n)
			}
			if counter.Add(1) == 1 && counter == &asked {
				started <- struct{}{}
				select { // the first asked run is held until the test has called RunNow again
				case <-release:
				case <-ctx.Done():
				}
			}
			return nil
		}
	}
	// An hourly job: the cron never fires during the test, only RunNow runs it.
	if err := s.Add(Job{Name: "poll show", Spec: "@every 1h", Run: body(&scheduled), Asked: body(&asked)}); err != nil {
		t.Fatal(err)
	}
	s.Start()
	defer s.Stop()
	if s.RunNow("poll nosuch") {
		t.Fatal("RunNow of an unknown job reported a run")
	}
	if !s.RunNow("poll show") {
		t.Fatal("RunNow of an idle job did not start it")
	}
	<-started
	for range 5 {
		if s.RunNow("poll show") {
			t.Fatal("RunNow started a job that is running")
		}
	}
	close(release)
	idle := func() bool {
		e := s.jobs["poll show"]
		e.mu.Lock()
		defer e.mu.Unlock()
		return !e.running
	}
	deadline := time.Now().Add(10 * time.Second)
	for !idle() && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if !idle() {
		t.Fatal("the job never finished")
	}
	if a, sc := asked.Load(), scheduled.Load(); a != 2 || sc != 0 {
		t.Fatalf("runs: %d asked, %d scheduled; want 2 asked (one now, one for the calls during it) and none scheduled", a, sc)
	}
	if maxRunning.Load() != 1 {
		t.Fatalf("the job overlapped itself: %d at once", maxRunning.Load())
	}
	if !s.RunNow("poll show") {
		t.Fatal("RunNow after the runs ended did not start the job")
	}
	cancel()
	s.Stop()
	if s.RunNow("poll show") {
		t.Fatal("RunNow after Stop started a run")
	}
}

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
		t.Fatal("RunNow did not start the job")
	}
	waitRecv(t, started)
	// A run is in progress: asking again does not start a second one now.
	if s.RunNow("poll a") {
		t.Fatal("RunNow started a second run during the first")
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
	if next := s.Next("poll a"); next.IsZero() {
		t.Fatal("no next run")
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
