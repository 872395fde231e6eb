// Package seedbox downloads podcast enclosures while hashing them into BitTorrent pieces, builds
// v1 or hybrid v1+v2 metainfo from those hashes, and seeds the files with one anacrolix/torrent
// client.
package seedbox

import (
	"cmp"
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/seedcast/seedcast/safehttp"
	"github.com/seedcast/seedcast/seedbox/piecehash"
)

const (
	defaultMaxBytes = 8 << 30
	minPieceLength  = 256 << 10
	maxPieceLength  = 16 << 20
	targetPieces    = 2000
	// Without a Content-Length we must pick the piece length before seeing the size; 1 MiB keeps
	// a typical episode (20-200 MB) between 20 and 200 pieces and a 2 GiB video near 2000.
	unknownSizePieceLength = 1 << 20
	copyBufferSize         = 512 << 10
	copyBuffers            = 8
	writebackWindow        = 8 << 20
)

var (
	// ErrTooLarge means the body (declared or actual) exceeds FetchOptions.MaxBytes.
	ErrTooLarge = errors.New("seedbox: body exceeds size limit")
	// ErrLengthMismatch means the body length differs from the declared Content-Length.
	ErrLengthMismatch = errors.New("seedbox: body length differs from Content-Length")
	// ErrBadStatus means the origin answered with something other than 200 OK.
	ErrBadStatus = errors.New("seedbox: unexpected HTTP status")
)

// FetchOptions tunes Fetch.
type FetchOptions struct {
	MaxBytes    int64 // refuse larger (Content-Length or actual); 0 = 8 GiB
	PieceLength int64 // 0 = choose: PieceLengthFor(content length)
	// Resume continues an interrupted download of the same URL left at destPath+".part", with
	// "Range: bytes=N-" and If-Range, when the record beside it (destPath+".part.json") holds the
	// origin's ETag or Last-Modified; anything doubtful starts over from byte 0. With Resume a
	// failure of the network or the context keeps the part and its record for the next call.
	// Without it any part is discarded.
	Resume bool
	// NoSync leaves out the fsync of the finished file (its directory entry is still synced),
	// so the file can be published from the page cache at download speed. The caller must call
	// SyncFile afterwards and, until that returns, treat the bytes as lost by an OS crash.
	NoSync bool
	// BootID names the OS boot this download runs in (worker: /proc/sys/kernel/random/boot_id).
	// A part left by another boot is not resumed: the part is written without fsync, so a power
	// cut may have lost its tail, or kept its length with zeros where data was, and hashing such
	// a part would publish a torrent of bytes the origin never sent. Empty = always resume.
	BootID string
	// IdleTimeout fails the download when the origin sends no body bytes for that long (ErrIdle),
	// so a stalled origin frees its slot long before any whole-download timeout. 0 = none.
	IdleTimeout time.Duration
	// V2 also computes the BEP 52 merkle tree (Download.Merkle) in the same pass, for a hybrid
	// v1+v2 torrent.
	V2 bool
	// Progress, when set, is called once the origin's answer is accepted, with the bytes already
	// on disk (a resumed part) and the file's whole size (-1 when the origin does not say). Every
	// body byte read after that is written to the writer it returns (whose errors are ignored),
	// and end is called once when the download ends, with its error (nil: complete). nil = none.
	Progress func(done, total int64) (w io.Writer, end func(error))
}

// Download describes a fetched file and the hashes computed while it was written.
type Download struct {
	Path        string // final path (as asked)
	Size        int64
	PieceLength int64
	Pieces      []byte // concatenated 20-byte SHA-1 piece hashes, computed as the bytes arrived
	SHA256      []byte // whole-file sha256 computed in the same pass (for podcast:integrity later)
	// Merkle is the file's v2 tree, computed in the same pass too; nil unless asked for
	// (FetchOptions.V2, HashFileV2). BuildMetaInfo makes a hybrid torrent when it is set.
	Merkle *Merkle
	// ResumedFrom is how many bytes came from an earlier partial download (0 = fetched whole).
	ResumedFrom int64

	ContentType, ETag, LastModified string
}

// PieceLengthFor picks a power-of-two piece length of at least 256 KiB and at most 16 MiB, aiming
// for no more than about 2000 pieces.
func PieceLengthFor(size int64) int64 {
	pl := int64(minPieceLength)
	for pl < maxPieceLength && (size+pl-1)/pl > targetPieces {
		pl *= 2
	}
	return pl
}

// PieceLengths lists every piece length Fetch may have chosen for a file of size bytes, the
// likeliest first (PieceLengthFor, then the length chosen without a Content-Length), so a
// torrent can be made again from its file alone.
func PieceLengths(size int64) []int64 {
	out := []int64{PieceLengthFor(size)}
	if out[0] != unknownSizePieceLength {
		out = append(out, unknownSizePieceLength)
	}
	for pl := int64(minPieceLength); pl <= maxPieceLength; pl *= 2 {
		if pl != out[0] && pl != unknownSizePieceLength {
			out = append(out, pl)
		}
	}
	return out
}

func validPieceLength(pl int64) bool {
	// 16 KiB is the BitTorrent block size; smaller pieces are legal but pointless.
	return pl >= 16<<10 && pl <= maxPieceLength && pl&(pl-1) == 0
}

// Fetch GETs rawURL with client (an SSRF-guarded client made by the caller), writes the body to
// destPath+".part" while hashing SHA-1 pieces and SHA-256 in the same pass, checks the length
// against Content-Length, fsyncs, renames to destPath and fsyncs the directory. On any error
// destPath is left as it was; the temporary file is removed, except that with o.Resume a network
// or context failure keeps it (see FetchOptions.Resume). A resumed download yields the same
// pieces and SHA-256 as a fresh one.
func Fetch(ctx context.Context, client *http.Client, rawURL, destPath string, o FetchOptions) (Download, error) {
	d, err := fetch(ctx, client, rawURL, destPath, o)
	if err != nil {
		return Download{}, fmt.Errorf("seedbox: fetch %s: %w", safehttp.RedactURL(rawURL), safehttp.RedactError(err))
	}
	return d, nil
}

func fetch(ctx context.Context, client *http.Client, rawURL, destPath string, o FetchOptions) (Download, error) {
	maxBytes := o.MaxBytes
	if maxBytes <= 0 {
		maxBytes = defaultMaxBytes
	}
	if o.PieceLength != 0 && !validPieceLength(o.PieceLength) {
		return Download{}, fmt.Errorf("invalid piece length %d", o.PieceLength)
	}
	if destPath == "" {
		return Download{}, errors.New("empty destination path")
	}
	if o.Resume {
		if m, n, ok := readPartial(rawURL, destPath, maxBytes, o.BootID); ok {
			d, err := download(ctx, client, rawURL, destPath, o, maxBytes, &resumeFrom{meta: m, offset: n})
			if !errors.Is(err, errRestart) {
				return d, err
			}
		}
	}
	// Whatever part is left cannot be continued; it must go before a new one is started.
	if err := RemovePartial(destPath); err != nil {
		return Download{}, err
	}
	return download(ctx, client, rawURL, destPath, o, maxBytes, nil)
}

// resumeFrom is a partial download to continue: offset bytes already in the part file.
type resumeFrom struct {
	meta   partialMeta
	offset int64
}

// download does one GET: a fresh one when from is nil, else a Range request continuing from. It
// returns errRestart (having changed nothing) when the answer cannot continue the part.
func download(ctx context.Context, client *http.Client, rawURL, destPath string, o FetchOptions, maxBytes int64, from *resumeFrom) (_ Download, err error) {
	partPath := destPath + partSuffix
	// keep says whether the part on disk is worth resuming if this attempt fails: true while it is
	// a prefix of a body whose validators are recorded beside it.
	keep := false
	var f *os.File
	defer func() {
		if err == nil || errors.Is(err, errRestart) {
			return
		}
		if f != nil {
			f.Close()
		}
		if !(o.Resume && keep && isTransient(err)) {
			RemovePartial(destPath)
		}
	}()

	// The request has a context of its own so that the idle timer can abort it.
	reqCtx, abort := context.WithCancel(ctx)
	defer abort()
	req, err := http.NewRequestWithContext(reqCtx, http.MethodGet, rawURL, nil)
	if err != nil {
		return Download{}, fmt.Errorf("building request: %w", err)
	}
	// Webseed clients fetch byte ranges of the identity encoding, so the pieces must hash exactly
	// those bytes; asking explicitly also stops net/http from decompressing gzip behind our back.
	req.Header.Set("Accept-Encoding", "identity")
	if from != nil {
		keep = true
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", from.offset))
		req.Header.Set("If-Range", from.meta.validator())
	}
	resp, err := client.Do(req)
	if err != nil {
		return Download{}, &transientError{err}
	}
	defer resp.Body.Close()

	var (
		offset int64
		total  = resp.ContentLength // the whole file's length, -1 if unknown
		meta   partialMeta
	)
	switch {
	case from != nil && resp.StatusCode == http.StatusPartialContent:
		t, err := checkPartialResponse(resp, from.meta, from.offset)
		if err != nil {
			return Download{}, fmt.Errorf("%w: %w", errRestart, err)
		}
		offset, total, meta = from.offset, t, from.meta
	case from != nil && resp.StatusCode == http.StatusRequestedRangeNotSatisfiable:
		return Download{}, fmt.Errorf("%w: %s", errRestart, resp.Status)
	case resp.StatusCode == http.StatusOK:
		// The whole body: what we asked for, or the answer to a Range request from an origin that
		// ignores ranges or whose file changed since the part was started (If-Range).
		keep = false
		meta = partialMeta{ContentType: resp.Header.Get("Content-Type"), ETag: resp.Header.Get("ETag"),
			LastModified: resp.Header.Get("Last-Modified")}
	default:
		return Download{}, fmt.Errorf("%w: %s", ErrBadStatus, resp.Status)
	}
	if ce := resp.Header.Get("Content-Encoding"); ce != "" && !strings.EqualFold(ce, "identity") {
		return Download{}, fmt.Errorf("unsupported Content-Encoding %q", ce)
	}
	if total > maxBytes {
		return Download{}, fmt.Errorf("%w: Content-Length %d > %d", ErrTooLarge, total, maxBytes)
	}

	pieceLength := o.PieceLength
	if pieceLength == 0 {
		pieceLength = unknownSizePieceLength
		if total >= 0 {
			pieceLength = PieceLengthFor(total)
		}
	}

	h := newPieceHasher(pieceLength)
	whole := sha256.New()
	var leaves *leafHasher
	if o.V2 {
		leaves = newLeafHasher(pieceLength)
	}
	if offset > 0 {
		if f, err = os.OpenFile(partPath, os.O_RDWR, 0); err != nil {
			return Download{}, fmt.Errorf("opening temporary file: %w", err)
		}
		// The one place bytes are read back: the hashes of the part written by the interrupted
		// attempt were lost with it, and the pieces must cover the whole file.
		if err := hashPrefix(f, offset, h, whole, leaves); err != nil {
			return Download{}, err
		}
	} else {
		// Emptied before the new record is written, so the record never describes older bytes.
		if f, err = os.OpenFile(partPath, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644); err != nil {
			return Download{}, fmt.Errorf("creating temporary file: %w", err)
		}
		if keep, err = recordPartial(rawURL, destPath, resp, o.Resume, o.BootID); err != nil {
			return Download{}, err
		}
	}

	// Starting writeback as the bytes arrive shortens the fsync at the end but holds the download
	// to the disk's speed; without that fsync, the page cache takes the bytes at memory speed.
	var out io.Writer = &writeBehind{f: f, written: offset, synced: offset}
	if o.NoSync {
		out = f
	}
	var body io.Reader = bodyReader{resp.Body}
	if o.Progress != nil {
		pw, end := o.Progress(offset, total)
		defer func() { end(err) }()
		body = progressReader{r: body, w: pw}
	}
	if o.IdleTimeout > 0 {
		ir := newIdleReader(body, o.IdleTimeout, abort)
		defer ir.stop()
		body = ir
	}
	n, err := copyLimited(out, h, whole, leaves, body, maxBytes-offset)
	if err != nil {
		return Download{}, err
	}
	size := offset + n
	if resp.ContentLength >= 0 && n != resp.ContentLength {
		return Download{}, fmt.Errorf("%w: got %d bytes, declared %d", ErrLengthMismatch, n, resp.ContentLength)
	}
	if total >= 0 && size != total {
		return Download{}, fmt.Errorf("%w: got %d bytes in all, declared %d", ErrLengthMismatch, size, total)
	}
	if !o.NoSync {
		if err := f.Sync(); err != nil {
			return Download{}, fmt.Errorf("syncing temporary file: %w", err)
		}
	}
	err = f.Close()
	f = nil
	if err != nil {
		return Download{}, fmt.Errorf("closing temporary file: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return Download{}, err
	}
	if err := os.Rename(partPath, destPath); err != nil {
		return Download{}, fmt.Errorf("renaming into place: %w", err)
	}
	// A record left behind by a failure here is harmless: it is ignored without its part.
	os.Remove(destPath + sidecarSuffix)
	if err := syncDir(filepath.Dir(destPath)); err != nil {
		// Keep the promise that an error leaves nothing at destPath.
		os.Remove(destPath)
		return Download{}, err
	}

	pieces, sum256 := h.finish(), whole.Sum(nil)
	var tree *Merkle
	if leaves != nil {
		m, err := leaves.finish()
		if err != nil {
			return Download{}, err
		}
		tree = &m
	}
	return Download{
		Merkle:       tree,
		Path:         destPath,
		Size:         size,
		PieceLength:  pieceLength,
		Pieces:       pieces,
		SHA256:       sum256,
		ResumedFrom:  offset,
		ContentType:  cmp.Or(resp.Header.Get("Content-Type"), meta.ContentType),
		ETag:         cmp.Or(resp.Header.Get("ETag"), meta.ETag),
		LastModified: cmp.Or(resp.Header.Get("Last-Modified"), meta.LastModified),
	}, nil
}

// recordPartial writes the record that lets a later call resume this download and reports whether
// it did; it removes any old record instead when resuming is off or the response has no validator
// to resume against.
func recordPartial(rawURL, destPath string, resp *http.Response, resume bool, boot string) (bool, error) {
	if m, ok := metaFromResponse(rawURL, resp); resume && ok {
		m.Boot = boot
		return true, writeSidecar(destPath, m)
	}
	if err := os.Remove(destPath + sidecarSuffix); err != nil && !errors.Is(err, os.ErrNotExist) {
		return false, fmt.Errorf("removing partial download record: %w", err)
	}
	return false, nil
}

// hashPrefix feeds the first n bytes of f to the hashers (leaves may be nil) and leaves f
// positioned at n.
func hashPrefix(f *os.File, n int64, pieces *pieceHasher, whole hash.Hash, leaves *leafHasher) error {
	if err := f.Truncate(n); err != nil {
		return fmt.Errorf("truncating temporary file: %w", err)
	}
	var sink io.Writer = io.MultiWriter(pieces, whole)
	if leaves != nil {
		sink = io.MultiWriter(pieces, whole, leaves)
	}
	got, err := io.CopyBuffer(sink, io.NewSectionReader(f, 0, n), make([]byte, copyBufferSize))
	if err != nil || got != n {
		return fmt.Errorf("reading temporary file: %d of %d bytes: %w", got, n, cmp.Or(err, io.ErrUnexpectedEOF))
	}
	if _, err := f.Seek(n, io.SeekStart); err != nil {
		return fmt.Errorf("seeking temporary file: %w", err)
	}
	return nil
}

// copyLimited copies r to w until EOF, failing once more than max bytes arrive, and feeds every
// byte, in order, to the SHA-1 piece hasher, the SHA-256 hasher and, when not nil, the v2 leaf
// hasher. The file write and each hasher run on their own goroutine behind a small ring of
// buffers, so on two cores reading the socket goes on while a buffer is written and hashed: a
// download takes about the longest of them, not their sum (SHA-256 runs near 1.5 GB/s with
// SHA-NI here, batched SHA-1 near 9 GB/s).
func copyLimited(w io.Writer, pieces *pieceHasher, whole hash.Hash, leaves *leafHasher, r io.Reader, max int64) (int64, error) {
	// A piece hasher that holds chunks instead of copying them needs a batch's worth on top of
	// those in flight.
	held := pieces.chunksPerBatch()
	ring := copyBuffers + held
	free := make(chan *chunk, ring)
	for range ring {
		free <- &chunk{buf: make([]byte, copyBufferSize)}
	}
	// A chunk goes back to the reader once the writer and both hashers are done with it.
	release := func(c *chunk) {
		if c.pending.Add(-1) == 0 {
			free <- c
		}
	}
	// Capacity ring: a consumer never blocks on sending, the reader only on free.
	toWrite := make(chan *chunk, ring)
	toPieces := make(chan *chunk, ring)
	toWhole := make(chan *chunk, ring)
	var toLeaves chan *chunk
	consumers := int32(3)
	if leaves != nil {
		toLeaves = make(chan *chunk, ring)
		consumers++
	}
	var wg sync.WaitGroup
	// werr is set once, by the writer, before it closes writeFailed; read after wg.Wait.
	var werr error
	writeFailed := make(chan struct{})
	wg.Go(func() {
		for c := range toWrite {
			if werr == nil {
				if _, err := w.Write(c.buf[:c.n]); err != nil {
					werr = fmt.Errorf("writing temporary file: %w", err)
					close(writeFailed)
				}
			}
			release(c)
		}
	})
	wg.Go(func() {
		for c := range toWhole {
			whole.Write(c.buf[:c.n]) // hash writes never fail
			release(c)
		}
	})
	if leaves != nil {
		wg.Go(func() {
			for c := range toLeaves {
				leaves.Write(c.buf[:c.n])
				release(c)
			}
		})
	}
	wg.Go(func() {
		if held == 0 {
			for c := range toPieces {
				pieces.Write(c.buf[:c.n])
				release(c)
			}
			return
		}
		for c := range toPieces {
			pieces.hold(c, release)
		}
		pieces.flushHeld(release)
	})
	total, err := readLoop(r, max, free, writeFailed, func(c *chunk) {
		c.pending.Store(consumers)
		toWrite <- c
		toPieces <- c
		toWhole <- c
		if toLeaves != nil {
			toLeaves <- c
		}
	})
	close(toWrite)
	close(toPieces)
	close(toWhole)
	if toLeaves != nil {
		close(toLeaves)
	}
	wg.Wait()
	if werr != nil {
		return total, werr
	}
	return total, err
}

// progressReader copies what it reads to w, a progress report whose errors do not matter.
type progressReader struct {
	r io.Reader
	w io.Writer
}

func (p progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if n > 0 {
		p.w.Write(b[:n])
	}
	return n, err
}

// writeBehind writes to f and starts writeback of each completed window as it goes.
type writeBehind struct {
	f               *os.File
	written, synced int64
}

func (w *writeBehind) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	w.written += int64(n)
	if w.written-w.synced >= writebackWindow {
		startWriteback(w.f, w.synced, w.written-w.synced)
		w.synced = w.written
	}
	return n, err
}

// chunk is one buffer of the copy ring, handed to the writer and the hashers and recycled when
// all of them are done.
type chunk struct {
	buf     []byte
	n       int
	pending atomic.Int32
}

// errStopped ends readLoop when the writer failed; copyLimited reports the write error instead.
var errStopped = errors.New("seedbox: stopped")

// readLoop fills buffers from r and hands each on, until EOF, an error, more than max bytes, or
// stop.
func readLoop(r io.Reader, max int64, free chan *chunk, stop <-chan struct{}, hand func(*chunk)) (int64, error) {
	var total int64
	for {
		var c *chunk
		select {
		case c = <-free:
		case <-stop:
			return total, errStopped
		}
		n, rerr := fill(r, c.buf)
		if n > 0 {
			total += int64(n)
			if total > max {
				return total, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, max)
			}
			c.n = n
			hand(c)
		} else {
			free <- c
		}
		if rerr == io.EOF {
			return total, nil
		}
		if rerr != nil {
			if errors.Is(rerr, io.ErrUnexpectedEOF) {
				// net/http reports a body shorter than Content-Length this way.
				return total, fmt.Errorf("%w: %w", ErrLengthMismatch, rerr)
			}
			return total, fmt.Errorf("reading body: %w", rerr)
		}
	}
}

// fill reads into buf until it is full or r fails, so that writes and hash hand-offs happen per
// buffer rather than per (often small) network read. Unlike io.ReadFull it passes r's error on
// unchanged: io.EOF is the end, io.ErrUnexpectedEOF a truncated body.
func fill(r io.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := r.Read(buf[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// pieceHasher splits a byte stream into BitTorrent v1 pieces and hashes each with SHA-1. When the
// CPU can hash several pieces side by side (piecehash.Lanes() > 1), whole pieces are gathered into
// a batch and hashed together, which costs a fraction of the SHA-1 time; otherwise each piece is
// hashed as it streams by, with no buffer.
//
// A batch is gathered one of two ways. Write copies the bytes into batch. When the batch is a
// whole number of copy chunks and starts at a chunk boundary, copyLimited instead hands the
// chunks themselves to hold, which keeps them until the batch is complete: that saves the copy
// (about 0.2 s of CPU per GiB) at the price of a larger chunk ring.
type pieceHasher struct {
	pieceLength int64
	pieces      []byte

	// streaming
	piece   hash.Hash
	inPiece int64

	// batching
	batchBytes int    // whole pieces per batch times the piece length; 0 when streaming
	batch      []byte // the copy buffer, made by the first Write
	n          int    // bytes of the batch so far, copied or held

	// batching without a copy: the chunks of the batch so far, all full but perhaps the last
	held  []*chunk
	lanes piecehash.Hasher
}

// maxBatchBytes bounds the memory a download holds for batched hashing.
const maxBatchBytes = 16 << 20

func newPieceHasher(pieceLength int64) *pieceHasher {
	h := &pieceHasher{pieceLength: pieceLength}
	if per := min(int64(piecehash.Lanes()), maxBatchBytes/pieceLength); per > 1 {
		h.batchBytes = int(per * pieceLength)
	} else {
		h.piece = sha1.New()
	}
	return h
}

// chunksPerBatch is how many copy chunks hold must keep to complete a batch, or 0 when the
// stream from here on must go through Write: when streaming, when a batch is not a whole number
// of chunks (pieces under 32 KiB), or when bytes written already (a resumed prefix) left the
// batch part full, so that it would not start at a chunk boundary.
func (h *pieceHasher) chunksPerBatch() int {
	if h.batchBytes == 0 || h.n != 0 || h.batchBytes%copyBufferSize != 0 {
		return 0
	}
	return h.batchBytes / copyBufferSize
}

// hold takes the next chunk of the stream and hashes the batch once it is complete, handing
// each of its chunks to release after that. Every chunk but the stream's last must be full, as
// readLoop sends them, so that byte i of the batch is in chunk i/copyBufferSize.
func (h *pieceHasher) hold(c *chunk, release func(*chunk)) {
	h.held = append(h.held, c)
	h.n += c.n
	if h.n == h.batchBytes {
		h.flushHeld(release)
	}
}

// flushHeld hashes the held chunks, a short last piece included, and releases them.
func (h *pieceHasher) flushHeld(release func(*chunk)) {
	pl := int(h.pieceLength)
	// Whole pieces, side by side: each Write gives every piece its next step bytes, which lie in
	// one chunk because step divides both the piece length and the chunk size (powers of two).
	if whole := h.n / pl; whole > 0 {
		step := min(pl, copyBufferSize)
		var chunks [16][]byte // a batch has at most piecehash.Lanes() = 16 pieces
		h.lanes.Reset(whole)
		for off := 0; off < pl; off += step {
			for i := range whole {
				chunks[i] = h.heldBytes(i*pl+off, step)
			}
			h.lanes.Write(chunks[:whole])
		}
		var sums [16][sha1.Size]byte
		h.lanes.Sum(sums[:whole])
		for _, s := range sums[:whole] {
			h.pieces = append(h.pieces, s[:]...)
		}
	}
	// A short last piece, only at the end of the stream.
	if start := h.n / pl * pl; start < h.n {
		d := sha1.New()
		for off := start; off < h.n; {
			l := min(copyBufferSize-off%copyBufferSize, h.n-off)
			d.Write(h.heldBytes(off, l))
			off += l
		}
		h.pieces = d.Sum(h.pieces)
	}
	for i, c := range h.held {
		release(c)
		h.held[i] = nil
	}
	h.held = h.held[:0]
	h.n = 0
}

// heldBytes returns l bytes of the held batch from offset off; they must lie in one chunk.
func (h *pieceHasher) heldBytes(off, l int) []byte {
	c := h.held[off/copyBufferSize]
	return c.buf[off%copyBufferSize:][:l]
}

func (h *pieceHasher) Write(p []byte) (int, error) {
	n := len(p)
	if h.batchBytes > 0 {
		if h.batch == nil {
			h.batch = make([]byte, h.batchBytes)
		}
		for len(p) > 0 {
			c := copy(h.batch[h.n:], p)
			h.n += c
			p = p[c:]
			if h.n == len(h.batch) {
				h.flush()
			}
		}
		return n, nil
	}
	for len(p) > 0 {
		chunk := min(int64(len(p)), h.pieceLength-h.inPiece)
		h.piece.Write(p[:chunk])
		h.inPiece += chunk
		p = p[chunk:]
		if h.inPiece == h.pieceLength {
			h.pieces = h.piece.Sum(h.pieces)
			h.piece.Reset()
			h.inPiece = 0
		}
	}
	return n, nil
}

// flush hashes the copied batch: whole pieces, and a short last one when called by finish.
func (h *pieceHasher) flush() {
	pl := int(h.pieceLength)
	ps := make([][]byte, 0, (h.n+pl-1)/pl)
	for off := 0; off < h.n; off += pl {
		ps = append(ps, h.batch[off:min(off+pl, h.n)])
	}
	sums := make([][sha1.Size]byte, len(ps))
	piecehash.Sum(ps, sums)
	for _, s := range sums {
		h.pieces = append(h.pieces, s[:]...)
	}
	h.n = 0
}

// finish returns the piece hashes, including a short last piece. Held chunks were hashed when
// copyLimited ended, so anything left in the batch was copied.
func (h *pieceHasher) finish() []byte {
	if h.batchBytes > 0 {
		if h.n > 0 {
			h.flush()
		}
		return h.pieces
	}
	if h.inPiece > 0 {
		h.pieces = h.piece.Sum(h.pieces)
		h.piece.Reset()
		h.inPiece = 0
	}
	return h.pieces
}

// SyncFile flushes a file's data to stable storage (for a Fetch with NoSync).
func SyncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("seedbox: sync %s: %w", path, err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("seedbox: sync %s: %w", path, err)
	}
	return nil
}

// writeFileSynced replaces path with b atomically: written to path+".tmp", synced, renamed. The
// directory entry is not synced; callers that need the rename itself durable call syncDir.
func writeFileSynced(path string, b []byte, perm os.FileMode) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("opening directory for sync: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("syncing directory: %w", err)
	}
	return nil
}
