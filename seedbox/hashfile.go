package seedbox

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/seedcast/seedcast/seedbox/piecehash"
)

// chunkBytes is how much of each piece a HashFile worker reads at a time: with 16 pieces in flight
// its buffer is 2 MiB, which stays in cache between the read and the hash (64 KiB and 256 KiB
// measured within noise of it).
const chunkBytes = 128 << 10

// HashFile computes the concatenated v1 SHA-1 piece hashes of a local file, hashing pieces in
// parallel on workers goroutines (runtime.NumCPU() when 0). It is for files we did not download
// ourselves, such as `seedcast torrent create`.
func HashFile(ctx context.Context, path string, pieceLength int64, workers int) ([]byte, error) {
	pieces, _, err := HashFileWith(ctx, path, pieceLength, HashOptions{Workers: workers})
	return pieces, err
}

// HashFileV2 is HashFile that also computes the file's BEP 52 merkle tree in the same reads, for
// a hybrid torrent; the piece length must be a power of two of at least 16 KiB.
func HashFileV2(ctx context.Context, path string, pieceLength int64, workers int) ([]byte, *Merkle, error) {
	return HashFileWith(ctx, path, pieceLength, HashOptions{Workers: workers, V2: true})
}

// HashOptions tunes HashFileWith.
type HashOptions struct {
	Workers int  // goroutines hashing pieces; 0 = runtime.NumCPU()
	V2      bool // also compute the BEP 52 merkle tree (see HashFileV2)
	// Progress, when set, is told of every run of n bytes read for hashing; the runs of a hash
	// that succeeds add up to the file's size. It is called from several goroutines at once.
	Progress func(n int64)
}

// HashFileWith is HashFile, or HashFileV2 with o.V2, reporting progress; the merkle tree is nil
// without o.V2.
func HashFileWith(ctx context.Context, path string, pieceLength int64, o HashOptions) ([]byte, *Merkle, error) {
	if o.V2 && !validPieceLength(pieceLength) {
		return nil, nil, fmt.Errorf("seedbox: hash %s: piece length %d is not a power of two from 16 KiB to 16 MiB", path, pieceLength)
	}
	pieces, leaves, err := hashFile(ctx, path, pieceLength, o)
	if err != nil {
		return nil, nil, fmt.Errorf("seedbox: hash %s: %w", path, err)
	}
	if !o.V2 {
		return pieces, nil, nil
	}
	b := newMerkleBuilder(pieceLength)
	for _, l := range leaves {
		b.add(l)
	}
	m, err := b.finish()
	if err != nil {
		return nil, nil, fmt.Errorf("seedbox: hash %s: %w", path, err)
	}
	return pieces, &m, nil
}

// hashFile returns the SHA-1 pieces and, with v2, the SHA-256 of every 16 KiB block, each worker
// hashing the blocks of the chunks it has just read for SHA-1, while they are in cache.
func hashFile(ctx context.Context, path string, pieceLength int64, o HashOptions) ([]byte, [][32]byte, error) {
	if pieceLength <= 0 {
		return nil, nil, fmt.Errorf("invalid piece length %d", pieceLength)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	size := fi.Size()
	var leaves [][32]byte
	if o.V2 {
		leaves = make([][32]byte, (size+blockSize-1)/blockSize)
	}
	// blocks hashes b, read from the file at off (a block boundary), into leaves.
	blocks := func(b []byte, off int64) {
		if leaves == nil {
			return
		}
		for i := 0; i < len(b); i += blockSize {
			leaves[(off+int64(i))/blockSize] = sha256.Sum256(b[i:min(i+blockSize, len(b))])
		}
	}
	numPieces := (size + pieceLength - 1) / pieceLength
	// Full pieces are hashed in runs of up to piecehash.Lanes() consecutive pieces through a
	// piecehash.Hasher, chunkBytes of each piece at a time, so the buffer stays in cache from the
	// read to the hash and does not grow with the piece length. The Hasher takes lengths that are
	// multiples of 64 (powers of two are); the short last piece, and every piece of any other
	// length, is hashed alone.
	lanes := int64(piecehash.Lanes())
	numFull := size / pieceLength
	if pieceLength%64 != 0 {
		numFull = 0
	}
	numRuns := (numFull + lanes - 1) / lanes
	jobs := numRuns + numPieces - numFull // the runs, then the pieces hashed alone
	chunk := min(pieceLength, chunkBytes)
	workers := o.Workers
	if workers <= 0 {
		workers = runtime.NumCPU()
	}
	workers = int(min(int64(workers), max(jobs, 1)))

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	out := make([]byte, numPieces*20)
	var (
		next     atomic.Int64 // the next job to claim
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
			buf := make([]byte, min(lanes*chunk, size))
			chunks := make([][]byte, lanes)
			sums := make([][20]byte, lanes)
			var h piecehash.Hasher
			one := sha1.New()
			// read fills b from the file at off, part of piece; false means stop. Checking ctx on
			// every read keeps cancellation prompt even with 16 MiB pieces.
			read := func(b []byte, off, piece int64) bool {
				if err := ctx.Err(); err != nil {
					fail(err)
					return false
				}
				if err := readAt(f, b, off); err != nil {
					fail(fmt.Errorf("reading piece %d: %w", piece, err))
					return false
				}
				if o.Progress != nil {
					o.Progress(int64(len(b)))
				}
				return true
			}
			for {
				j := next.Add(1) - 1
				if j >= jobs {
					return
				}
				if j < numRuns {
					first := j * lanes
					n := min(lanes, numFull-first)
					h.Reset(int(n))
					for c := int64(0); c < pieceLength; c += chunk {
						m := min(chunk, pieceLength-c)
						for k := range n {
							chunks[k] = buf[k*chunk : k*chunk+m]
							if !read(chunks[k], (first+k)*pieceLength+c, first+k) {
								return
							}
							blocks(chunks[k], (first+k)*pieceLength+c)
						}
						h.Write(chunks[:n])
					}
					h.Sum(sums[:n])
					for k := range n {
						copy(out[(first+k)*20:], sums[k][:])
					}
					continue
				}
				i := numFull + j - numRuns
				one.Reset()
				// Reads of whole blocks, so that only the file's last block is short.
				step := int64(len(buf))
				if step > blockSize {
					step -= step % blockSize
				}
				for off, end := i*pieceLength, min((i+1)*pieceLength, size); off < end; off += step {
					b := buf[:min(step, end-off)]
					if !read(b, off, i) {
						return
					}
					one.Write(b)
					blocks(b, off)
				}
				one.Sum(sums[0][:0])
				copy(out[i*20:], sums[0][:])
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return nil, nil, firstErr
	}
	return out, leaves, nil
}

// readAt fills b from f at off. ReadAt either fills b or says why not; io.EOF with a full read is
// fine.
func readAt(f *os.File, b []byte, off int64) error {
	m, err := f.ReadAt(b, off)
	if m == len(b) {
		return nil
	}
	if err == nil || err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return err
}
