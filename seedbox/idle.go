package seedbox

import (
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"
)

// ErrIdle means the origin sent no body bytes for FetchOptions.IdleTimeout. It is a network
// failure: with Resume the part is kept for the next attempt.
var ErrIdle = errors.New("no data")

// idleReader fails a body that sends nothing for timeout: each Read arms a timer that, when it
// fires, calls abort (cancelling the request, which unblocks the Read). Only time spent waiting
// in Read counts, so a slow disk behind the copy ring never passes for an idle origin.
type idleReader struct {
	r       io.Reader
	timeout time.Duration
	timer   *time.Timer
	fired   atomic.Bool
}

func newIdleReader(r io.Reader, timeout time.Duration, abort func()) *idleReader {
	ir := &idleReader{r: r, timeout: timeout}
	ir.timer = time.AfterFunc(timeout, func() {
		ir.fired.Store(true)
		abort()
	})
	ir.timer.Stop()
	return ir
}

func (ir *idleReader) Read(p []byte) (int, error) {
	ir.timer.Reset(ir.timeout)
	n, err := ir.r.Read(p)
	ir.timer.Stop()
	if ir.fired.Load() {
		// Whatever the body's error is now (a cancelled request), the reason is the silence.
		return n, &transientError{fmt.Errorf("%w for %s", ErrIdle, ir.timeout)}
	}
	return n, err
}

// stop disarms the timer for good once the body is done with.
func (ir *idleReader) stop() { ir.timer.Stop() }
