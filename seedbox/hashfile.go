package seedbox

import (
	"context"
	"crypto/sha1"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
)

// HashFile computes the concatenated v1 SHA-1 piece hashes of a local file, hashing pieces in
// parallel on workers goroutines (runtime.NumCPU() when 0). It is for files we did not download
// ourselves, such as `seedcast torrent create`.
func HashFile(ctx context.Context, path string, pieceLength int64, workers int) ([]byte, error) {
	pieces, err := hashFile(ctx, path, pieceLength, workers)
	if err != nil {
		return nil, fmt.Errorf("seedbox: hash %s: %w", path, err)
	}
	return pieces, nil
}

func hashFile(ctx context.Context, path string, pieceLength int64, workers int) ([]byte, error) {
	if pieceLength <= 0 {
		return nil, fmt.Errorf("invalid piece length %d", pieceLength)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	size := fi.Size()
	numPieces := (size + pieceLength - 1) / pieceLength
	if workers <= 0 {
		workers = runtime.NumCPU()
	}
	workers = int(min(int64(workers), max(numPieces, 1)))

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	out := make([]byte, numPieces*20)
	var (
		next     atomic.Int64
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
	)
	fail := func(err error) {
		errOnce.Do(func() { firstErr = err })
		cancel()
	}
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, pieceLength)
			for {
				i := next.Add(1) - 1
				if i >= numPieces {
					return
				}
				if err := ctx.Err(); err != nil {
					fail(err)
					return
				}
				off := i * pieceLength
				n := min(pieceLength, size-off)
				// ReadAt either fills the buffer or says why not; io.EOF with a full read is fine.
				if m, err := f.ReadAt(buf[:n], off); int64(m) != n {
					if err == nil || err == io.EOF {
						err = io.ErrUnexpectedEOF
					}
					fail(fmt.Errorf("reading piece %d: %w", i, err))
					return
				}
				sum := sha1.Sum(buf[:n])
				copy(out[i*20:], sum[:])
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	return out, nil
}
