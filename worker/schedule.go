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
	return &Scheduler{c: c, log: log, ctx: ctx}
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
	if _, err := s.c.AddJob(j.Spec, wrapped); err != nil {
		return fmt.Errorf("schedule %s: %q: %w", j.Name, j.Spec, err)
	}
	if j.RunAtStart {
		// Through the same wrapped job, so a first run still in progress
		// makes the first cron tick skip instead of overlapping.
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			wrapped.Run()
		}()
	}
	return nil
}

// Start starts the cron loop.
func (s *Scheduler) Start() { s.c.Start() }

// Stop stops scheduling and waits for running jobs; cancel the context given
// to NewScheduler first so they return promptly.
func (s *Scheduler) Stop() {
	<-s.c.Stop().Done()
	s.wg.Wait()
}
