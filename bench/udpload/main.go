// Command udpload is the UDP half of target 7: a BEP 15 announce load generator. Each of a few
// sockets connects once, then keeps many announces outstanding for a fixed time, each from a
// random one of N peers (random peer ids, drawn once from -seed so repeated runs announce the
// same swarm), spread over the info hashes in -hashes. It prints announces per second, the
// latency of answered announces, and counts of lost packets and tracker errors; any error reply
// or malformed answer makes it exit non-zero. Run through bench/udp-announce.sh.
//
// With -fill it instead announces every peer exactly once (in order) and exits: the script uses
// that to put all N peers in the tracker before measuring its memory. With -mem T it runs the
// real tracker package in-process on T random hashes, fills it, and prints live heap per peer.
package main

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

const (
	protocolID     = 0x41727101980
	actionConnect  = 0
	actionAnnounce = 1
	actionError    = 3
	announceLen    = 98
	// lostAfter is when an unanswered announce is counted lost and its slot reused.
	lostAfter = time.Second
	// maxDuration keeps a run inside one connection ID's life (a minute, BEP 15), so sockets
	// never need to reconnect mid-run.
	maxDuration = 50 * time.Second
)

type options struct {
	addr     string
	hashes   string
	peers    int
	sockets  int
	inflight int
	duration time.Duration
	numWant  int
	seed     uint64
	fill     bool
}

func main() {
	var o options
	flag.StringVar(&o.addr, "addr", "127.0.0.1:6969", "tracker UDP address")
	flag.StringVar(&o.hashes, "hashes", "", "file of info hashes, 40 hex digits a line")
	flag.IntVar(&o.peers, "peers", 50000, "peers in the swarm (spread evenly over the torrents)")
	flag.IntVar(&o.sockets, "sockets", 4, "UDP sockets, each with its own connection ID")
	flag.IntVar(&o.inflight, "inflight", 64, "announces outstanding per socket")
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "how long to send (at most 50s)")
	flag.IntVar(&o.numWant, "numwant", 50, "num_want in each announce")
	flag.Uint64Var(&o.seed, "seed", 1, "seed for the peer ids: the same seed gives the same swarm")
	flag.BoolVar(&o.fill, "fill", false, "announce every peer once, then exit")
	mem := flag.Int("mem", 0, "if > 0: fill an in-process tracker of this many torrents and print heap per peer")
	flag.Parse()
	var err error
	if *mem > 0 {
		err = measureMemory(context.Background(), o, *mem)
	} else {
		err = run(context.Background(), o)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "udpload:", err)
		os.Exit(1)
	}
}

// swarm is the fixed population the announces are drawn from.
type swarm struct {
	hashes  [][20]byte
	peerIDs [][20]byte
}

func loadSwarm(path string, peers int, seed uint64) (*swarm, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("udpload: %w", err)
	}
	s := &swarm{}
	for line := range strings.Lines(string(b)) {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		var h [20]byte
		if n, err := hex.Decode(h[:], []byte(line)); err != nil || n != 20 {
			return nil, fmt.Errorf("udpload: bad info hash %q", line)
		}
		s.hashes = append(s.hashes, h)
	}
	if len(s.hashes) == 0 {
		return nil, errors.New("udpload: no info hashes")
	}
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	s.peerIDs = make([][20]byte, peers)
	for i := range s.peerIDs {
		for j := range s.peerIDs[i] {
			s.peerIDs[i][j] = byte(r.Uint32())
		}
	}
	return s, nil
}

// putAnnounce writes peer p's announce into pkt (announceLen bytes). As in bench/announce.lua,
// peer p is in torrent p mod T and listens on port 1024+p; unlike it, the seeders are every
// other peer *of each torrent* ((p / T) even), so every swarm is half seeders (announce.lua's
// p mod 2 makes each swarm all seeders or all leechers when T is even).
func (s *swarm) putAnnounce(pkt []byte, connID uint64, txID uint32, p, numWant int) {
	be := binary.BigEndian
	be.PutUint64(pkt[0:8], connID)
	be.PutUint32(pkt[8:12], actionAnnounce)
	be.PutUint32(pkt[12:16], txID)
	copy(pkt[16:36], s.hashes[p%len(s.hashes)][:])
	copy(pkt[36:56], s.peerIDs[p][:])
	be.PutUint64(pkt[56:64], 0)                              // downloaded
	be.PutUint64(pkt[64:72], uint64(p/len(s.hashes)%2)*1000) // left
	be.PutUint64(pkt[72:80], 0)                              // uploaded
	be.PutUint32(pkt[80:84], 0)                              // event: none
	be.PutUint32(pkt[84:88], 0)                              // IP: the source address
	be.PutUint32(pkt[88:92], uint32(p))                      // key
	be.PutUint32(pkt[92:96], uint32(numWant))                // num_want
	be.PutUint16(pkt[96:98], uint16(1024+p%64000))           // port
}

// totals are summed over sockets.
type totals struct {
	ok, lost, errs, malformed atomic.Int64
	swarmSeen, peersGot       atomic.Int64 // sums of seeders+leechers and of peers in the answers
	firstErr                  atomic.Pointer[string]
	mu                        sync.Mutex
	latencies                 []time.Duration
	lastOK                    time.Time // the last answer, which ends the measured time
}

func (t *totals) fail(msg string) {
	t.firstErr.CompareAndSwap(nil, &msg)
}

func run(ctx context.Context, o options) error {
	if o.duration > maxDuration {
		return fmt.Errorf("udpload: -duration %v is over %v (one connection ID's life)", o.duration, maxDuration)
	}
	if o.peers < 1 || o.sockets < 1 || o.inflight < 1 || o.inflight > 1<<16 {
		return errors.New("udpload: -peers, -sockets and -inflight must be positive (inflight at most 65536)")
	}
	s, err := loadSwarm(o.hashes, o.peers, o.seed)
	if err != nil {
		return err
	}
	conns := make([]*net.UDPConn, o.sockets)
	ids := make([]uint64, o.sockets)
	for i := range conns {
		raddr, err := net.ResolveUDPAddr("udp", o.addr)
		if err != nil {
			return fmt.Errorf("udpload: %w", err)
		}
		c, err := net.DialUDP("udp", nil, raddr)
		if err != nil {
			return fmt.Errorf("udpload: %w", err)
		}
		defer c.Close()
		// Room for every outstanding reply, so the kernel does not drop our own answers.
		_ = c.SetReadBuffer(4 << 20)
		id, err := connect(c)
		if err != nil {
			return err
		}
		conns[i], ids[i] = c, id
	}

	var t totals
	// next hands out peers: in order for -fill, at random otherwise.
	var next func(r *rand.Rand) (int, bool)
	if o.fill {
		var n atomic.Int64
		next = func(*rand.Rand) (int, bool) {
			p := int(n.Add(1) - 1)
			return p, p < o.peers
		}
	} else {
		next = func(r *rand.Rand) (int, bool) { return r.IntN(o.peers), true }
	}
	limit := o.duration
	if o.fill {
		limit = maxDuration
	}
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	for i, c := range conns {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), uint64(i)))
			lat, last := drive(ctx, c, ids[i], s, o, next, r, &t)
			t.mu.Lock()
			t.latencies = append(t.latencies, lat...)
			if last.After(t.lastOK) {
				t.lastOK = last
			}
			t.mu.Unlock()
		})
	}
	wg.Wait()
	// Up to the last answer, not the end of the drain, which waits lostAfter for lost packets.
	elapsed := t.lastOK.Sub(start)
	if elapsed <= 0 {
		elapsed = time.Since(start)
	}

	ok := t.ok.Load()
	fmt.Printf("announces %d in %.2fs: %.0f announces/s\n", ok, elapsed.Seconds(), float64(ok)/elapsed.Seconds())
	if ok > 0 {
		fmt.Printf("per answer: swarm size %.1f, peers returned %.1f\n",
			float64(t.swarmSeen.Load())/float64(ok), float64(t.peersGot.Load())/float64(ok))
	}
	fmt.Printf("lost %d errors %d malformed %d\n", t.lost.Load(), t.errs.Load(), t.malformed.Load())
	if len(t.latencies) > 0 {
		slices.Sort(t.latencies)
		q := func(f float64) time.Duration { return t.latencies[int(f*float64(len(t.latencies)-1))] }
		fmt.Printf("latency p50 %v p99 %v max %v\n", q(0.50), q(0.99), q(1))
	}
	if m := t.firstErr.Load(); m != nil {
		return fmt.Errorf("udpload: %s", *m)
	}
	if o.fill && ok+t.lost.Load() < int64(o.peers) {
		return fmt.Errorf("udpload: fill sent %d of %d peers in %v", ok+t.lost.Load(), o.peers, maxDuration)
	}
	return nil
}

// connect does the BEP 15 handshake, retrying as the spec says (here every 500 ms, 10 times).
func connect(c *net.UDPConn) (uint64, error) {
	req := make([]byte, 16)
	binary.BigEndian.PutUint64(req[0:8], protocolID)
	binary.BigEndian.PutUint32(req[8:12], actionConnect)
	binary.BigEndian.PutUint32(req[12:16], 0xc0ffee)
	buf := make([]byte, 64)
	for range 10 {
		if _, err := c.Write(req); err != nil {
			return 0, fmt.Errorf("udpload: connect: %w", err)
		}
		_ = c.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
		n, err := c.Read(buf)
		if err != nil {
			continue
		}
		if n >= 16 && binary.BigEndian.Uint32(buf[0:4]) == actionConnect && binary.BigEndian.Uint32(buf[4:8]) == 0xc0ffee {
			_ = c.SetReadDeadline(time.Time{})
			return binary.BigEndian.Uint64(buf[8:16]), nil
		}
	}
	return 0, fmt.Errorf("udpload: no connect reply from %v", c.RemoteAddr())
}

// slot is one outstanding announce. The transaction ID is the slot index in the low 16 bits and
// a generation above, so a late reply to a slot already reused is recognised and ignored.
type slot struct {
	gen    uint16
	busy   bool
	sentAt time.Time
}

// drive keeps o.inflight announces outstanding on c until ctx is done (or next runs out), then
// waits for the stragglers, and returns the latencies of the answered ones and when the last
// answer came.
func drive(ctx context.Context, c *net.UDPConn, connID uint64, s *swarm, o options,
	next func(*rand.Rand) (int, bool), r *rand.Rand, t *totals) ([]time.Duration, time.Time) {
	var mu sync.Mutex
	slots := make([]slot, o.inflight)
	free := make(chan int, o.inflight)
	for i := range slots {
		free <- i
	}
	release := func(i int) { free <- i }
	var lat []time.Duration
	var last time.Time
	done := make(chan struct{})

	// Receiver: match replies to slots.
	go func() {
		defer close(done)
		buf := make([]byte, 2048)
		for {
			n, err := c.Read(buf)
			if err != nil {
				return // the deadline set below, at the end
			}
			now := time.Now()
			if n < 8 {
				t.malformed.Add(1)
				t.fail(fmt.Sprintf("%d-byte reply", n))
				continue
			}
			tx := binary.BigEndian.Uint32(buf[4:8])
			i, gen := int(tx&0xffff), uint16(tx>>16)
			if i >= len(slots) {
				continue
			}
			mu.Lock()
			sl := &slots[i]
			if !sl.busy || sl.gen != gen {
				mu.Unlock()
				continue // counted lost already
			}
			sl.busy = false
			sent := sl.sentAt
			mu.Unlock()
			switch action := binary.BigEndian.Uint32(buf[0:4]); {
			case action == actionAnnounce && n >= 20 && (n-20)%6 == 0 && (n-20)/6 <= o.numWant:
				t.ok.Add(1)
				t.swarmSeen.Add(int64(binary.BigEndian.Uint32(buf[12:16])) + int64(binary.BigEndian.Uint32(buf[16:20])))
				t.peersGot.Add(int64((n - 20) / 6))
				lat = append(lat, now.Sub(sent))
				last = now
			case action == actionError:
				t.errs.Add(1)
				t.fail(fmt.Sprintf("tracker error: %q", buf[8:n]))
			default:
				t.malformed.Add(1)
				t.fail(fmt.Sprintf("bad announce reply: action %d, %d bytes", action, n))
			}
			release(i)
		}
	}()

	// Sweeper: give up on announces unanswered for lostAfter.
	sweepDone := make(chan struct{})
	stopSweep := make(chan struct{})
	go func() {
		defer close(sweepDone)
		tick := time.NewTicker(lostAfter / 4)
		defer tick.Stop()
		for {
			select {
			case <-stopSweep:
				return
			case now := <-tick.C:
				mu.Lock()
				var expired []int
				for i := range slots {
					if slots[i].busy && now.Sub(slots[i].sentAt) > lostAfter {
						slots[i].busy = false
						expired = append(expired, i)
					}
				}
				mu.Unlock()
				for _, i := range expired {
					t.lost.Add(1)
					release(i)
				}
			}
		}
	}()

	pkt := make([]byte, announceLen)
send:
	for {
		var i int
		select {
		case <-ctx.Done():
			break send
		case i = <-free:
		}
		p, more := next(r)
		if !more {
			release(i)
			break
		}
		mu.Lock()
		slots[i].gen++
		slots[i].busy = true
		slots[i].sentAt = time.Now()
		tx := uint32(slots[i].gen)<<16 | uint32(i)
		mu.Unlock()
		s.putAnnounce(pkt, connID, tx, p, o.numWant)
		if _, err := c.Write(pkt); err != nil {
			t.fail(fmt.Sprintf("send: %v", err))
			break
		}
	}
	// Drain: wait until every slot is answered or swept, then stop the receiver.
	for range o.inflight {
		<-free
	}
	close(stopSweep)
	<-sweepDone
	_ = c.SetReadDeadline(time.Now())
	<-done
	return lat, last
}
