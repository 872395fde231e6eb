package seedbox

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	g "github.com/anacrolix/generics"
	"github.com/anacrolix/torrent"
	"github.com/anacrolix/torrent/metainfo"
	"github.com/anacrolix/torrent/storage"
	"github.com/pion/webrtc/v4"
)

var (
	// ErrUnknownTorrent means the info hash is not being seeded.
	ErrUnknownTorrent = errors.New("seedbox: torrent not seeded")
	// ErrVerifyFailed means the file on disk does not match the metainfo piece hashes.
	ErrVerifyFailed = errors.New("seedbox: data does not match piece hashes")
	// ErrClosed means the Seeder was closed.
	ErrClosed = errors.New("seedbox: seeder closed")
)

// SeederConfig configures the seeding client.
type SeederConfig struct {
	ListenAddr      string // host:port for TCP+uTP, e.g. ":6881" or "127.0.0.1:0"; "" = ":6881"
	StateDir        string // where the bolt piece-completion DB lives (persistent: restart hashes 0 bytes)
	DisableUTP      bool
	UploadRateLimit int64 // bytes/s, 0 = unlimited
	// InitialSeeding offers each new torrent's pieces to one TCP peer each until every piece
	// has gone out once (see initialseed.go).
	InitialSeeding bool
	// BootID names this OS boot (Linux's boot_id). With it, piece completion left open by an
	// earlier boot is not trusted (see openCompletionDB); "" trusts it.
	BootID string
	// DHT joins the DHT (BEP 5) on the peer port (UDP) and announces every seeded torrent there.
	// Off in the zero value, so a seeder made in a test never talks to the Internet.
	DHT bool
	// DHTBootstrap are the host:port nodes an empty routing table starts from; none = the node
	// waits for peers to contact it.
	DHTBootstrap []string
	// ICEServers are the STUN/TURN URLs the WebRTC (WebTorrent) side uses to
	// reach browsers behind NAT; none by default, so the seeder contacts no
	// third party and offers only its own addresses (enough on a LAN or a
	// public host).
	ICEServers []string
}

// TorrentStats describes one seeded torrent.
type TorrentStats struct {
	InfoHash      metainfo.Hash
	Name          string
	BytesUploaded int64 // piece data sent to peers
	BytesHashed   int64 // bytes read to verify pieces (Add and Verify)
	Peers         int   // connected peers
	Complete      bool  // all pieces verified or trusted
}

// SeederStats is a snapshot of the seeder, torrents sorted by info hash.
type SeederStats struct {
	Torrents      []TorrentStats
	BytesUploaded int64
	Peers         int
	BytesHashed   int64
	// BytesSent is every byte written to TCP peers, protocol messages included: an upper bound
	// on the piece data among them, counted at the socket rather than by the client.
	BytesSent int64
}

// maxOpenFiles bounds the media descriptors the seeder keeps open: enough
// for the episodes being downloaded at once, whatever the catalogue size.
const maxOpenFiles = 256

// Seeder seeds complete single-file torrents from wherever their files live.
type Seeder struct {
	log   *slog.Logger
	cl    *torrent.Client
	ln    net.Listener // added to cl, which leaves closing it to us
	dht   *dhtNode     // nil without SeederConfig.DHT
	pc    *completionDB
	files *fileCache // open media files shared by every torrent's storage

	initial *initialSeeding // nil: off
	sent    *atomic.Int64   // SeederStats.BytesSent

	addMu sync.Mutex // serialises Add so concurrent adds of one hash cannot both verify
	// stopAdds is cancelled by Close so an Add waiting on verification, and a peer write waiting
	// on the upload limit, return promptly.
	stopAdds  context.Context
	cancelAll context.CancelFunc

	mu       sync.Mutex
	closed   bool
	torrents map[metainfo.Hash]seeded
	// retired is what torrents no longer seeded (removed, dropped by a failed verification,
	// stopped by Close) uploaded, per info hash, so Uploaded never goes down.
	retired map[metainfo.Hash]int64
}

// seeded is one torrent being seeded and the file it reads.
type seeded struct {
	t      *torrent.Torrent
	path   string // absolute
	length int64
}

// NewSeeder starts a seeding client listening on cfg.ListenAddr.
func NewSeeder(cfg SeederConfig, log *slog.Logger) (*Seeder, error) {
	if cfg.StateDir == "" {
		return nil, errors.New("seedbox: new seeder: StateDir is required")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	addr := cfg.ListenAddr
	if addr == "" {
		addr = ":6881"
	}
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("seedbox: new seeder: listen address %q: %w", addr, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port < 0 || port > 65535 {
		return nil, fmt.Errorf("seedbox: new seeder: listen port %q invalid", portStr)
	}
	if err := os.MkdirAll(cfg.StateDir, 0o750); err != nil {
		return nil, fmt.Errorf("seedbox: new seeder: state dir %s: %w", cfg.StateDir, err)
	}
	pc, discarded, err := openCompletionDB(cfg.StateDir, cfg.BootID)
	if err != nil {
		return nil, fmt.Errorf("seedbox: new seeder: %w", err)
	}
	if discarded != "" {
		log.Warn("piece completion discarded, every piece is hashed again",
			"file", filepath.Join(cfg.StateDir, completionFile), "reason", discarded)
	}

	// TCP peers come in through our own listener and dialer (see peerConns); uTP, when enabled,
	// stays the library's, on the same port. The upload limit is applied to our TCP connections
	// only, so it turns uTP off.
	stopAdds, cancelAll := context.WithCancel(context.Background())
	conns := peerConns{network: peerNetwork(host), limit: newUploadLimiter(cfg.UploadRateLimit), ctx: stopAdds,
		written: new(atomic.Int64)}
	if cfg.InitialSeeding {
		// The reveal spends upload the seeder has to spare; an operator who capped it has
		// none to spare, and is paying for each byte.
		conns.initial = newInitialSeeding(time.Now, cfg.UploadRateLimit == 0)
	}
	disableUTP := cfg.DisableUTP
	if conns.limit != nil && !disableUTP {
		disableUTP = true
		log.Info("uTP off: the upload rate limit applies to TCP peers", "upload_rate_limit", cfg.UploadRateLimit)
	}
	ln, err := conns.listen(addr)
	if err != nil {
		cancelAll()
		pc.Close()
		return nil, fmt.Errorf("seedbox: new seeder: %w", err)
	}
	if port == 0 {
		port = ln.Addr().(*net.TCPAddr).Port
	}

	tc := torrent.NewDefaultClientConfig()
	tc.Seed = true
	tc.KeepAliveTimeout = WriterWakeInterval
	tc.NoDHT = true // the DHT node, if any, is added below by startDHT
	// Browsers join the swarm over WebRTC: the client announces to the ws(s) trackers
	// of each torrent's announce-list and answers their offers. The upload limit does
	// not reach these connections (they are not ours, see peerConns).
	tc.DisableWebtorrent = false
	if len(cfg.ICEServers) > 0 {
		tc.ICEServerList = []webrtc.ICEServer{{URLs: cfg.ICEServers}}
	}
	tc.NoDefaultPortForwarding = true
	// We only ever upload: the files are complete before Add, and fetching from webseeds or
	// peers would write into files we promised never to modify.
	tc.DisableWebseeds = true
	tc.DisableUTP = disableUTP
	tc.DisableTCP = true // the client opens no TCP socket of its own; ours is added below
	tc.ListenHost = func(string) string { return host }
	tc.ListenPort = port
	if ip, err := netip.ParseAddr(host); err == nil && ip.Is4() {
		tc.DisableIPv6 = true
	}
	initial := conns.initial
	if initial != nil {
		tc.Callbacks.ReadMessage = initial.readMessage
		tc.Callbacks.CompletedHandshake = initial.completedHandshake
	}
	tc.Slogger = log.With("component", "torrent")
	if cfg.DHT {
		boot, err := newDHTBootstrap(cfg.DHTBootstrap, log)
		if err != nil {
			cancelAll()
			ln.Close()
			pc.Close()
			return nil, fmt.Errorf("seedbox: new seeder: %w", err)
		}
		configureDHT(tc, boot, log)
	}
	tc.DataDir = cfg.StateDir
	// Every Add brings its own storage; this default only stops the client opening a second
	// completion DB of its own in DataDir (which would contend for the bolt file lock).
	tc.DefaultStorage = storage.NewFileOpts(storage.NewFileClientOpts{
		ClientBaseDir:   filepath.Join(cfg.StateDir, "unused"),
		PieceCompletion: pc,
		UsePartFiles:    g.Some(false),
		Logger:          log,
	})

	cl, err := torrent.NewClient(tc)
	if err != nil {
		cancelAll()
		ln.Close()
		pc.Close()
		return nil, fmt.Errorf("seedbox: new seeder: %w", err)
	}
	var node *dhtNode
	if cfg.DHT {
		// Before the first torrent: the client starts an announcer per DHT server as each is added.
		if node, err = startDHT(cl, host, port, disableUTP, log); err != nil {
			cancelAll()
			cl.Close()
			ln.Close()
			pc.Close()
			return nil, fmt.Errorf("seedbox: new seeder: %w", err)
		}
	}
	cl.AddListener(ln)
	cl.AddDialer(conns)
	return &Seeder{
		dht:       node,
		initial:   initial,
		sent:      conns.written,
		files:     newFileCache(maxOpenFiles),
		stopAdds:  stopAdds,
		cancelAll: cancelAll,
		log:       log,
		cl:        cl,
		ln:        ln,
		pc:        pc,
		torrents:  make(map[metainfo.Hash]seeded),
		retired:   make(map[metainfo.Hash]int64),
	}, nil
}

// Add seeds mi whose single file lives at mediaPath. Pieces whose completion is unknown are
// verified by hashing the file; with a StateDir from an earlier run the completion DB already says
// complete and nothing is re-read. Add returns once every piece is complete, and fails (without
// seeding) if the file does not match. Adding an info hash already seeded does nothing.
func (s *Seeder) Add(ctx context.Context, mi *metainfo.MetaInfo, mediaPath string) error {
	return s.add(ctx, mi, mediaPath, false)
}

// AddTrusted is Add for a file whose piece hashes this process computed itself from exactly the
// bytes in mediaPath (Fetch or HashFile, then BuildMetaInfo), so the first add re-reads nothing:
// pieces with unknown completion are recorded complete before the torrent is added. That is safe
// only because the file was hashed as it was written and is never modified after its rename into
// place; do not use it for files that anything else may have touched.
func (s *Seeder) AddTrusted(ctx context.Context, mi *metainfo.MetaInfo, mediaPath string) error {
	return s.add(ctx, mi, mediaPath, true)
}

func (s *Seeder) add(ctx context.Context, mi *metainfo.MetaInfo, mediaPath string, trusted bool) error {
	if mi == nil {
		return errors.New("seedbox: add: nil metainfo")
	}
	ih := mi.HashInfoBytes()
	if err := s.addInner(ctx, mi, ih, mediaPath, trusted); err != nil {
		return fmt.Errorf("seedbox: add %s (%s): %w", ih.HexString(), mediaPath, err)
	}
	return nil
}

func (s *Seeder) addInner(ctx context.Context, mi *metainfo.MetaInfo, ih metainfo.Hash, mediaPath string, trusted bool) error {
	info, err := mi.UnmarshalInfo()
	if err != nil {
		return fmt.Errorf("decoding info: %w", err)
	}
	if !info.HasV1() || len(info.Files) != 0 || info.Length <= 0 {
		return errors.New("only non-empty single-file v1 or hybrid torrents are supported")
	}
	if info.HasV2() {
		if err := checkHybrid(mi, &info); err != nil {
			return err
		}
	}
	if info.PieceLength <= 0 || int64(info.NumPieces()) != (info.Length+info.PieceLength-1)/info.PieceLength {
		return errors.New("piece hashes do not match length")
	}
	absPath, err := filepath.Abs(mediaPath)
	if err != nil {
		return err
	}
	fi, err := os.Stat(absPath)
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() || fi.Size() != info.Length {
		return fmt.Errorf("file is not a regular file of %d bytes", info.Length)
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(s.stopAdds, cancel)()

	s.addMu.Lock()
	defer s.addMu.Unlock()
	s.mu.Lock()
	closed := s.closed
	_, exists := s.torrents[ih]
	s.mu.Unlock()
	if closed {
		return ErrClosed
	}
	if exists {
		return nil
	}

	if trusted {
		if err := s.pc.trustUnknown(ih, info.NumPieces()); err != nil {
			return err
		}
	}

	spec, err := torrent.TorrentSpecFromMetaInfoErr(mi)
	if err != nil {
		return err
	}
	// anacrolix v1.61 indexes a torrent by its truncated v2 info hash, which v2 peers use in the
	// handshake, only when it works the hash out from the info bytes itself: given the hash up
	// front, it answers those peers "unloaded torrent". So it is left to compute.
	spec.InfoHashV2.SetNone()
	// The webseed is for listeners; this client only uploads.
	spec.Webseeds = nil
	spec.DisallowDataDownload = true
	// Each torrent reads its own file (wherever it lives, whatever its name) through the
	// seeder's bounded descriptor cache, sharing the one completion DB.
	ms := &mediaStorage{path: absPath, files: s.files, pc: s.pc}
	spec.Storage = ms
	// Announced only once every piece is verified: announcing bytes left while checking and
	// then none would look like a download to a tracker.
	trackers := spec.Trackers
	spec.Trackers = nil
	t, _, err := s.cl.AddTorrentSpec(spec)
	if err != nil {
		return err
	}
	if err := waitComplete(ctx, t); err != nil {
		s.mu.Lock()
		s.retireLocked(ih, t) // it may have served a peer that found it before it failed
		s.mu.Unlock()
		if s.stopAdds.Err() != nil {
			return ErrClosed
		}
		return err
	}
	if s.initial != nil {
		var v2 *[20]byte
		if info.HasV2() {
			sum := sha256.Sum256(mi.InfoBytes)
			v2 = (*[20]byte)(sum[:20])
		}
		s.initial.add(ih, v2, info.Length, info.PieceLength)
	}
	t.AddTrackers(trackers)

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	s.torrents[ih] = seeded{t: t, path: absPath, length: info.Length}
	s.log.Info("seeding", "info_hash", ih.HexString(), "name", info.Name, "path", absPath, "bytes", info.Length)
	return nil
}

// waitComplete waits until no piece is being checked, forcing one verification of any piece left
// incomplete, and fails if the data still does not match.
func waitComplete(ctx context.Context, t *torrent.Torrent) error {
	sub := t.SubscribePieceStateChanges()
	defer sub.Close()
	forced := false
	for {
		// Subscribed before looking, so no change between the look and the wait is missed.
		checking, incomplete := pieceSummary(t)
		switch {
		case checking:
		case len(incomplete) == 0:
			return nil
		case forced:
			return fmt.Errorf("%w: %d of %d pieces", ErrVerifyFailed, len(incomplete), t.NumPieces())
		default:
			// Known-incomplete pieces are never checked by the client on its own, and with
			// downloads disallowed they would stay missing forever.
			forced = true
			for _, i := range incomplete {
				if err := t.Piece(i).VerifyDataContext(ctx); err != nil {
					return fmt.Errorf("verifying piece %d: %w", i, err)
				}
			}
			continue
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case _, ok := <-sub.Values:
			if !ok {
				return errors.New("torrent closed")
			}
		}
	}
}

func pieceSummary(t *torrent.Torrent) (checking bool, incomplete []int) {
	i := 0
	for _, run := range t.PieceStateRuns() {
		ps := run.PieceState
		if ps.Hashing || ps.QueuedForHash || ps.Checking || ps.Marking {
			checking = true
		}
		if !ps.Complete {
			for j := i; j < i+run.Length; j++ {
				incomplete = append(incomplete, j)
			}
		}
		i += run.Length
	}
	return checking, incomplete
}

// Verify re-reads infoHash's file from disk and checks every piece against the metainfo, for
// catching a file altered or truncated after it was added. If any piece is bad (or the file cannot
// be read) it returns ErrVerifyFailed and stops seeding the torrent, so peers are never sent bad
// data; the failed pieces are recorded, so adding the torrent again verifies them instead of
// trusting them. The bytes hashed are logged and counted in TorrentStats.BytesHashed and
// BytesHashed.
func (s *Seeder) Verify(ctx context.Context, infoHash metainfo.Hash) error {
	if err := s.verify(ctx, infoHash); err != nil {
		return fmt.Errorf("seedbox: verify %s: %w", infoHash.HexString(), err)
	}
	return nil
}

func (s *Seeder) verify(ctx context.Context, ih metainfo.Hash) error {
	s.mu.Lock()
	sd, ok := s.torrents[ih]
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return ErrClosed
	}
	if !ok {
		return ErrUnknownTorrent
	}
	t := sd.t
	// Checked before hashing: the client's storage reads through mmap, and touching a mapped page
	// past the end of a truncated file kills the process with SIGBUS.
	if fi, err := os.Stat(sd.path); err != nil || !fi.Mode().IsRegular() || fi.Size() != sd.length {
		if !s.dropIfCurrent(ih, t) {
			return ErrUnknownTorrent
		}
		// Nothing was hashed, so the completion records still say complete; a later Add must
		// verify the file rather than trust them.
		if err := s.forgetPieces(ih, t.NumPieces()); err != nil {
			return err
		}
		why := fmt.Sprintf("file is not a regular file of %d bytes", sd.length)
		if err != nil {
			why = err.Error()
		}
		s.log.Warn("verification failed; stopped seeding", "info_hash", ih.HexString(), "path", sd.path, "error", why)
		return fmt.Errorf("%w: %s", ErrVerifyFailed, why)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(s.stopAdds, cancel)()

	st := t.Stats()
	before := st.BytesHashed.Int64()
	// Pieces are queued on a few goroutines so the client's hashers (two per torrent) stay busy;
	// Torrent.VerifyDataContext would wait for each piece before queueing the next.
	var (
		next  atomic.Int64
		wg    sync.WaitGroup
		errMu sync.Mutex
		first error
	)
	for range max(runtime.NumCPU(), 2) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= t.NumPieces() {
					return
				}
				if err := t.Piece(i).VerifyDataContext(ctx); err != nil {
					errMu.Lock()
					first = cmp.Or(first, fmt.Errorf("verifying piece %d: %w", i, err))
					errMu.Unlock()
					cancel()
					return
				}
			}
		}()
	}
	wg.Wait()
	if first != nil {
		if s.stopAdds.Err() != nil {
			return ErrClosed
		}
		if s.dropIfCurrent(ih, t) {
			// Seeding stopped either way: a torrent we could not check must not be served.
			return fmt.Errorf("%w: %w", ErrVerifyFailed, first)
		}
		return ErrUnknownTorrent
	}
	bad, err := settledIncomplete(ctx, t)
	if err != nil {
		return err
	}
	st = t.Stats()
	hashed := st.BytesHashed.Int64() - before
	if len(bad) == 0 {
		s.log.Info("verified", "info_hash", ih.HexString(), "bytes_hashed", hashed)
		return nil
	}
	if !s.dropIfCurrent(ih, t) {
		return ErrUnknownTorrent
	}
	s.log.Warn("verification failed; stopped seeding", "info_hash", ih.HexString(),
		"bad_pieces", len(bad), "pieces", t.NumPieces(), "bytes_hashed", hashed)
	return fmt.Errorf("%w: %d of %d pieces (first %d)", ErrVerifyFailed, len(bad), t.NumPieces(), bad[0])
}

// forgetPieces records every piece of ih as incomplete.
func (s *Seeder) forgetPieces(ih metainfo.Hash, numPieces int) error {
	for i := range numPieces {
		if err := s.pc.Set(metainfo.PieceKey{InfoHash: ih, Index: i}, false); err != nil {
			return fmt.Errorf("recording piece completion: %w", err)
		}
	}
	return nil
}

// dropIfCurrent stops seeding t if it is still the torrent seeded under ih (a concurrent Remove
// may have dropped it already) and reports whether it was.
func (s *Seeder) dropIfCurrent(ih metainfo.Hash, t *torrent.Torrent) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, ok := s.torrents[ih]
	ok = ok && cur.t == t
	if ok {
		delete(s.torrents, ih)
		s.retireLocked(ih, t)
	}
	return ok
}

// settledIncomplete waits until no piece of t is being hashed or marked, then lists the pieces
// that are not complete.
func settledIncomplete(ctx context.Context, t *torrent.Torrent) ([]int, error) {
	sub := t.SubscribePieceStateChanges()
	defer sub.Close()
	for {
		// Subscribed before looking, so no change between the look and the wait is missed.
		checking, incomplete := pieceSummary(t)
		if !checking {
			return incomplete, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case _, ok := <-sub.Values:
			if !ok {
				return nil, errors.New("torrent closed")
			}
		}
	}
}

// Remove stops seeding infoHash. The file and its completion records are kept, so adding it again
// costs no hashing.
func (s *Seeder) Remove(infoHash metainfo.Hash) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	sd, ok := s.torrents[infoHash]
	if !ok {
		return fmt.Errorf("seedbox: remove %s: %w", infoHash.HexString(), ErrUnknownTorrent)
	}
	delete(s.torrents, infoHash)
	s.retireLocked(infoHash, sd.t)
	return nil
}

// Stats returns a snapshot of every seeded torrent plus totals. A row's BytesUploaded counts from
// when the torrent was added; the total BytesUploaded also counts the torrents no longer seeded,
// so it never goes down (see Uploaded).
func (s *Seeder) Stats() SeederStats {
	var out SeederStats
	s.mu.Lock()
	// Read under s.mu, as retireLocked moves a torrent's bytes to retired: none counted twice.
	for _, n := range s.retired {
		out.BytesUploaded += n
	}
	for _, sd := range s.torrents {
		t := sd.t
		st := t.Stats()
		row := TorrentStats{
			InfoHash:      t.InfoHash(),
			Name:          t.Name(),
			BytesUploaded: st.BytesWrittenData.Int64(),
			BytesHashed:   st.BytesHashed.Int64(),
			Peers:         st.ActivePeers,
			Complete:      t.Complete().Bool(),
		}
		out.Torrents = append(out.Torrents, row)
		out.BytesUploaded += row.BytesUploaded
		out.Peers += row.Peers
	}
	s.mu.Unlock()
	slices.SortFunc(out.Torrents, func(a, b TorrentStats) int {
		return bytes.Compare(a.InfoHash[:], b.InfoHash[:])
	})
	out.BytesHashed = s.BytesHashed()
	out.BytesSent = s.sent.Load()
	return out
}

// Uploaded is the piece bytes sent to peers since NewSeeder, per info hash: those of torrents no
// longer seeded too, so each figure only grows, and after Close it is final.
func (s *Seeder) Uploaded() map[metainfo.Hash]int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[metainfo.Hash]int64, len(s.retired)+len(s.torrents))
	for ih, n := range s.retired {
		out[ih] = n
	}
	for ih, sd := range s.torrents {
		st := sd.t.Stats()
		out[ih] += st.BytesWrittenData.Int64()
	}
	return out
}

// retireLocked stops t and keeps what it uploaded under ih. s.mu must be held: Stats and
// Uploaded then never see the bytes in both places or in neither.
func (s *Seeder) retireLocked(ih metainfo.Hash, t *torrent.Torrent) {
	t.Drop()
	if s.initial != nil {
		s.initial.remove(ih)
	}
	// After Drop no connection is left to add to the counter: this is its final value.
	st := t.Stats()
	s.retired[ih] += st.BytesWrittenData.Int64()
}

// BytesHashed is the number of bytes the client has read to verify pieces since NewSeeder.
func (s *Seeder) BytesHashed() int64 {
	st := s.cl.Stats()
	return st.BytesHashed.Int64()
}

// ListenPort is the port peers connect to (useful with port 0).
func (s *Seeder) ListenPort() int {
	return s.cl.LocalPort()
}

// Close stops seeding and closes the completion DB.
func (s *Seeder) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	open := s.torrents
	s.torrents = nil
	s.mu.Unlock()

	// Stop any Add in progress and wait for it before closing what it uses.
	s.cancelAll()
	s.addMu.Lock()
	defer s.addMu.Unlock()
	s.dht.close()
	errs := s.cl.Close()
	// After the client closed, no more bytes go out: Uploaded after Close is the final count,
	// for the shutdown's last write of it.
	s.mu.Lock()
	for ih, sd := range open {
		st := sd.t.Stats()
		s.retired[ih] += st.BytesWrittenData.Int64()
	}
	s.mu.Unlock()
	if err := s.ln.Close(); err != nil {
		errs = append(errs, err)
	}
	s.files.closeAll()
	if err := s.pc.Close(); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("seedbox: close: %w", err)
	}
	return nil
}

// checkHybrid accepts the v2 half of a hybrid torrent only as BuildMetaInfo makes it: the same
// single file in the file tree, and piece layers that hash to its root, so v2 peers are never
// handed hashes the file does not match.
func checkHybrid(mi *metainfo.MetaInfo, info *metainfo.Info) error {
	f, ok := info.FileTree.Dir[info.Name]
	if len(info.FileTree.Dir) != 1 || !ok || f.IsDir() || f.File.Length != info.Length {
		return errors.New("a hybrid torrent's file tree must hold its one file, under its name")
	}
	if err := metainfo.ValidatePieceLayers(mi.PieceLayers, &info.FileTree, info.PieceLength); err != nil {
		return fmt.Errorf("piece layers: %w", err)
	}
	return nil
}
