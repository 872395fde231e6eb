package worker

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/robfig/cron/v3"
)

// Job is one scheduled unit of work.
type Job struct {
	Name string
	Spec string // robfig/cron spec
	Run  func(ctx context.Context) error
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

	mu   sync.Mutex
	jobs map[string]scheduled // by Job.Name
}

type scheduled struct {
	id  cron.EntryID
	job cron.Job // wrapped: never overlaps itself
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
	return &Scheduler{c: c, log: log, ctx: ctx, jobs: make(map[string]scheduled)}
}

// Add registers a job. A job never overlaps itself (a slow poll makes the
// next tick skip, not stack) and a panic is logged, not fatal.
func (s *Scheduler) Add(j Job) error {
	run := func() {
		if s.ctx.Err() != nil {
			return
		}
		start := time.Now()
		if err := j.Run(s.ctx); err != nil {
			s.log.Warn("job failed", "job", j.Name, "err", err, "took", time.Since(start).Round(time.Millisecond))
			return
		}
		s.log.Debug("job done", "job", j.Name, "took", time.Since(start).Round(time.Millisecond))
	}
	// Each job gets its own chain (not cron.WithChain) so the run at start
	// shares the skip lock with the scheduled runs. SkipIfStillRunning before
	// Recover: the other order would hold the skip lock forever after a panic.
	wrapped := cron.NewChain(cron.SkipIfStillRunning(cronLogger{s.log}), cron.Recover(cronLogger{s.log})).Then(cron.FuncJob(run))
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.jobs[j.Name]; dup {
		return fmt.Errorf("schedule %s: a job of that name is already scheduled", j.Name)
	}
	id, err := s.c.AddJob(j.Spec, wrapped)
	if err != nil {
		return fmt.Errorf("schedule %s: %q: %w", j.Name, j.Spec, err)
	}
	s.jobs[j.Name] = scheduled{id: id, job: wrapped}
	if j.RunAtStart {
		// Through the same wrapped job, so a first run still in progress
		// makes the first cron tick skip instead of overlapping.
		s.runLocked(wrapped)
	}
	return nil
}

// RunNow runs the named job at once, unless a run of it is in progress (that run is skipped, as
// a cron tick would be); it reports whether the job exists.
func (s *Scheduler) RunNow(name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	j, ok := s.jobs[name]
	if ok {
		s.runLocked(j.job)
	}
	return ok
}

// Remove unschedules the named job; a run in progress finishes. It reports whether it existed.
func (s *Scheduler) Remove(name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	j, ok := s.jobs[name]
	if ok {
		s.c.Remove(j.id)
		delete(s.jobs, name)
	}
	return ok
}

// Next is when the named job runs next on its schedule (zero if it is not scheduled or the
// scheduler has not started).
func (s *Scheduler) Next(name string) time.Time {
	s.mu.Lock()
	j, ok := s.jobs[name]
	s.mu.Unlock()
	if !ok {
		return time.Time{}
	}
	return s.c.Entry(j.id).Next
}

// Has reports whether the named job is scheduled.
func (s *Scheduler) Has(name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.jobs[name]
	return ok
}

func (s *Scheduler) runLocked(j cron.Job) {
	if s.ctx.Err() != nil {
		return // stopping: Stop may already be waiting on wg
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		j.Run()
	}()
}

// Start starts the cron loop.
func (s *Scheduler) Start() { s.c.Start() }

// Stop stops scheduling and waits for running jobs; cancel the context given
// to NewScheduler first so they return promptly.
func (s *Scheduler) Stop() {
	<-s.c.Stop().Done()
	s.wg.Wait()
}
