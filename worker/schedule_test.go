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
