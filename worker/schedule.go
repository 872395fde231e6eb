package worker

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"github.com/robfig/cron/v3"
)

// Job is one scheduled unit of work.
type Job struct {
	Name string
	Spec string // robfig/cron spec
	Run  func(ctx context.Context) error
	// Asked is what RunNow runs instead of Run, when set (a poll asked for by a hub's
	// notification need not wait out the gap kept between nodes' scheduled polls).
	Asked func(ctx context.Context) error
	// RunAtStart runs the job once right away: cron's first @every run is one
	// interval after start, too late for a fresh install.
	RunAtStart bool
}

// Scheduler runs jobs on cron specs with the gateway's own context, so
// stopping it cancels the work in flight instead of only waiting for it.
type Scheduler struct {
	c   *cron.Cron
	log *slog.Logger
	ctx context.Context
	wg  sync.WaitGroup

	mu      sync.Mutex
	jobs    map[string]*entry
	stopped bool
}

// entry is a job and whether it runs: a job never overlaps itself.
type entry struct {
	job Job
	id  cron.EntryID

	mu      sync.Mutex
	running bool
	again   bool // RunNow was called during the run: run once more after it
}

// cronLogger adapts slog to cron's logger interface.
type cronLogger struct{ log *slog.Logger }

func (l cronLogger) Info(msg string, kv ...any) { l.log.Debug("cron: "+msg, kv...) }
func (l cronLogger) Error(err error, msg string, kv ...any) {
	l.log.Error("cron: "+msg, append(kv, "err", err)...)
}

// NewScheduler makes a scheduler whose jobs run with ctx.
func NewScheduler(ctx context.Context, log *slog.Logger) *Scheduler {
	c := cron.New(cron.WithLocation(time.UTC), cron.WithLogger(cronLogger{log}))
	return &Scheduler{c: c, log: log, ctx: ctx, jobs: map[string]*entry{}}
}

// Add registers a job. A job never overlaps itself (a slow poll makes the
// next tick skip, not stack) and a panic is logged, not fatal.
func (s *Scheduler) Add(j Job) error {
	s.mu.Lock()
	_, dup := s.jobs[j.Name]
	s.mu.Unlock()
	if dup {
		return fmt.Errorf("schedule %s: a job of that name is already scheduled", j.Name)
	}
	e := &entry{job: j}
	tick := func() {
		if !e.begin(false) {
			s.log.Debug("job still running: tick skipped", "job", j.Name)
			return
		}
		s.runEntry(e, false)
	}
	id, err := s.c.AddFunc(j.Spec, tick)
	if err != nil {
		return fmt.Errorf("schedule %s: %q: %w", j.Name, j.Spec, err)
	}
	e.id = id
	s.mu.Lock()
	s.jobs[j.Name] = e
	s.mu.Unlock()
	if j.RunAtStart {
		// Through the same guard, so a first run still in progress makes the
		// first cron tick skip instead of overlapping.
		s.goRun(e, false)
	}
	return nil
}

// RunNow starts the named job now unless it is running; it reports whether it started it. A
// call during a run makes the job run once more as soon as that run ends (any number of calls:
// one more run, never two at once), since what the caller heard of may have come after the
// running one began. An unknown name or a stopped scheduler runs nothing.
func (s *Scheduler) RunNow(name string) bool {
	s.mu.Lock()
	e, ok := s.jobs[name]
	s.mu.Unlock()
	if !ok || s.ctx.Err() != nil {
		return false
	}
	return s.goRun(e, true)
}

// Remove unschedules the named job; a run in progress finishes. It reports whether it existed.
func (s *Scheduler) Remove(name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.jobs[name]
	if ok {
		s.c.Remove(e.id)
		delete(s.jobs, name)
	}
	return ok
}

// Has reports whether the named job is scheduled.
func (s *Scheduler) Has(name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.jobs[name]
	return ok
}

// Next is when the named job runs next on its schedule (zero if it is not scheduled or the
// scheduler has not started).
func (s *Scheduler) Next(name string) time.Time {
	s.mu.Lock()
	e, ok := s.jobs[name]
	s.mu.Unlock()
	if !ok {
		return time.Time{}
	}
	return s.c.Entry(e.id).Next
}

// goRun runs e in a goroutine Stop waits for, unless it is running.
func (s *Scheduler) goRun(e *entry, asked bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped || !e.begin(asked) {
		return false
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.runEntry(e, asked)
	}()
	return true
}

// begin marks e running and reports true, or, when it runs already, reports false (noting
// that an asked-for run is wanted after it).
func (e *entry) begin(asked bool) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.running {
		e.again = e.again || asked
		return false
	}
	e.running = true
	return true
}

// runEntry runs e, then again while RunNow asked during the run, and marks it idle.
func (s *Scheduler) runEntry(e *entry, asked bool) {
	for {
		s.runOnce(e.job, asked)
		e.mu.Lock()
		if !e.again || s.ctx.Err() != nil {
			e.running, e.again = false, false
			e.mu.Unlock()
			return
		}
		e.again, asked = false, true
		e.mu.Unlock()
	}
}

// runOnce runs the job once, logging its failure or panic.
func (s *Scheduler) runOnce(j Job, asked bool) {
	if s.ctx.Err() != nil {
		return
	}
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("job panicked", "job", j.Name, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
		}
	}()
	run := j.Run
	if asked && j.Asked != nil {
		run = j.Asked
	}
	start := time.Now()
	if err := run(s.ctx); err != nil {
		s.log.Warn("job failed", "job", j.Name, "err", err, "took", time.Since(start).Round(time.Millisecond))
		return
	}
	s.log.Debug("job done", "job", j.Name, "took", time.Since(start).Round(time.Millisecond))
}

// Start starts the cron loop.
func (s *Scheduler) Start() { s.c.Start() }

// Stop stops scheduling and waits for running jobs; cancel the context given
// to NewScheduler first so they return promptly.
func (s *Scheduler) Stop() {
	<-s.c.Stop().Done()
	s.mu.Lock()
	s.stopped = true
	s.mu.Unlock()
	s.wg.Wait()
}
