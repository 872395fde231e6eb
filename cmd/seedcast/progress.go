package main

import (
	"fmt"
	"io"
	"strings"
	"time"
	"unicode"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// isTerminal says whether w is a terminal: only there are progress bars drawn. Anywhere else (a
// file, a pipe, journald) the log lines are all that is written.
func isTerminal(w io.Writer) bool {
	f, ok := w.(interface{ Fd() uintptr })
	return ok && term.IsTerminal(int(f.Fd()))
}

// barLabelRunes bounds a bar's label, so that the bar fits a narrow terminal.
const barLabelRunes = 32

// barLabel makes s safe to print on a terminal (a feed's title is untrusted: no escape
// sequences or control characters) and short.
func barLabel(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsPrint(r) {
			return r
		}
		return '?'
	}, s)
	if r := []rune(s); len(r) > barLabelRunes {
		s = string(r[:barLabelRunes-1]) + "…"
	}
	return s
}

// newBar draws a byte-count bar of total bytes on w (a spinner when total is -1).
func newBar(w io.Writer, label string, total int64) *progressbar.ProgressBar {
	return progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(barLabel(label)),
		progressbar.OptionShowBytes(true),
		progressbar.OptionShowCount(),
		progressbar.OptionSetWidth(30),
		// Redrawn at most ten times a second; the bar is always drawn when it reaches 100%.
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(w) }),
	)
}

// endBar completes bar after success, or leaves it where it stopped after a failure (a bar of
// unknown length is completed either way: its spinner runs until it is).
func endBar(bar *progressbar.ProgressBar, total int64, err error) {
	if err == nil || total < 0 {
		bar.Finish()
		return
	}
	bar.Exit()
}

// downloadBars is worker.Config.Progress for a terminal: one bar per enclosure download.
func downloadBars(w io.Writer) func(name string, done, total int64) (io.Writer, func(error)) {
	return func(name string, done, total int64) (io.Writer, func(error)) {
		if total == 0 {
			return io.Discard, func(error) {} // nothing to show
		}
		bar := newBar(w, name, total)
		if done > 0 {
			bar.Add64(done) // resumed: the part already on disk
		}
		return bar, func(err error) { endBar(bar, total, err) }
	}
}
