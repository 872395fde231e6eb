// Command catalogue measures target 4 (back catalogue): many small torrents seeded by one
// seedbox.Seeder. Run it through bench/catalogue.sh, which runs each phase in its own process
// so that resident memory and file descriptors belong to that phase alone:
//
//	catalogue -dir D -n N make    writes N files of 64 KiB–1 MiB and their .torrent files
//	catalogue -dir D -n N seed    new Seeder on D/state, adds every torrent, prints the figures
//
// The first seed (with -trusted) is a fresh gateway publishing what it hashed itself; a second
// seed without -trusted is a restart, which must re-hash nothing.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/anacrolix/torrent/metainfo"

	"github.com/seedcast/seedcast/seedbox"
)

func main() {
	dir := flag.String("dir", "", "work directory (media/, torrents/, state/)")
	n := flag.Int("n", 1000, "number of torrents")
	trusted := flag.Bool("trusted", false, "seed: AddTrusted (first publication) instead of Add (restart)")
	cpuProfile := flag.String("cpuprofile", "", "seed: write a CPU profile of the adds here")
	flag.Parse()
	if *dir == "" || flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: catalogue -dir DIR -n N [-trusted] make|seed")
		os.Exit(2)
	}
	ctx := context.Background()
	var err error
	switch flag.Arg(0) {
	case "make":
		err = makeCatalogue(ctx, *dir, *n)
	case "seed":
		err = seed(ctx, *dir, *n, *trusted, *cpuProfile)
	default:
		err = fmt.Errorf("unknown phase %q", flag.Arg(0))
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "catalogue:", err)
		os.Exit(1)
	}
}

// makeCatalogue writes files of pseudo-random size and content (seeded, so reruns are identical)
// and hashes each with seedbox.HashFile, as the publishing path would have.
func makeCatalogue(ctx context.Context, dir string, n int) error {
	for _, sub := range []string{"media", "torrents"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o750); err != nil {
			return err
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	buf := make([]byte, 1<<20)
	var total int64
	start := time.Now()
	for i := range n {
		size := int64(64<<10 + rng.IntN(1<<20-64<<10+1))
		for j := 0; j+8 <= int(size); j += 8 {
			v := rng.Uint64()
			for k := range 8 {
				buf[j+k] = byte(v >> (8 * k))
			}
		}
		media := mediaPath(dir, i)
		tpath := torrentPath(dir, i)
		if fi, err := os.Stat(tpath); err == nil && fi.Size() > 0 {
			total += size
			continue // made by an earlier run with the same seed
		}
		if err := os.WriteFile(media, buf[:size], 0o640); err != nil {
			return err
		}
		pl := seedbox.PieceLengthFor(size)
		pieces, err := seedbox.HashFile(ctx, media, pl, 1)
		if err != nil {
			return err
		}
		mi, err := seedbox.BuildMetaInfo(seedbox.Download{Path: media, Size: size, PieceLength: pl, Pieces: pieces},
			seedbox.MetaOptions{AnnounceList: [][]string{{"http://127.0.0.1:1/announce"}}})
		if err != nil {
			return err
		}
		if _, err := seedbox.WriteTorrentFile(tpath, mi); err != nil {
			return err
		}
		total += size
	}
	fmt.Printf("made %d files, %.2f GiB, in %.1f s\n", n, float64(total)/(1<<30), time.Since(start).Seconds())
	return nil
}

func mediaPath(dir string, i int) string {
	return filepath.Join(dir, "media", fmt.Sprintf("ep-%05d.bin", i))
}

func torrentPath(dir string, i int) string {
	return filepath.Join(dir, "torrents", fmt.Sprintf("ep-%05d.torrent", i))
}

// seed adds the first n torrents to a new Seeder and reports time, memory, fds and bytes hashed.
func seed(ctx context.Context, dir string, n int, trusted bool, cpuProfile string) error {
	stateDir := filepath.Join(dir, "state")
	_, err := os.Stat(stateDir)
	freshState := errors.Is(err, os.ErrNotExist)
	runtime.GC()
	before := sample()
	s, err := seedbox.NewSeeder(seedbox.SeederConfig{ListenAddr: "127.0.0.1:0", StateDir: stateDir},
		slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	defer s.Close()
	empty := sample()
	if cpuProfile != "" {
		f, err := os.Create(cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
	}
	start := time.Now()
	var lastReport time.Time
	for i := range n {
		mi, err := metainfo.LoadFromFile(torrentPath(dir, i))
		if err != nil {
			return err
		}
		add := s.Add
		if trusted {
			add = s.AddTrusted
		}
		if err := add(ctx, mi, mediaPath(dir, i)); err != nil {
			return err
		}
		if time.Since(lastReport) > 5*time.Second {
			lastReport = time.Now()
			fmt.Fprintf(os.Stderr, "  %d added after %.1f s\n", i+1, time.Since(start).Seconds())
		}
	}
	took := time.Since(start)
	pprof.StopCPUProfile()
	st := s.Stats()
	complete := 0
	for _, t := range st.Torrents {
		if t.Complete {
			complete++
		}
	}
	// Let the client's goroutines settle, then sample again after a GC so the figure is what the
	// seeder holds, not garbage from the adds.
	time.Sleep(2 * time.Second)
	runtime.GC()
	after := sample()
	if complete != n {
		return fmt.Errorf("%d of %d torrents complete", complete, n)
	}
	mode := "restart (Add)"
	switch {
	case trusted:
		mode = "first (AddTrusted)"
	case freshState:
		// What a peer reading every torrent once would do to the storage: open and map each file.
		mode = "lost-state (Add verifies every piece)"
	}
	perTorrent := float64(after.rssKiB-empty.rssKiB) * 1024 / float64(n)
	fmt.Printf("n=%d mode=%s all_seeding_s=%.2f complete=%d bytes_hashed=%d\n", n, mode, took.Seconds(), complete, s.BytesHashed())
	fmt.Printf("  rss_kib: before_seeder=%d empty_seeder=%d seeding=%d (anon %d, file %d) hwm=%d  per_torrent=%.1f KiB\n",
		before.rssKiB, empty.rssKiB, after.rssKiB, after.anonKiB, after.fileKiB, after.hwmKiB, perTorrent/1024)
	fmt.Printf("  go_heap_inuse_mib=%.1f goroutines=%d (empty seeder %d)\n",
		float64(after.heapInuse)/(1<<20), after.goroutines, empty.goroutines)
	fmt.Printf("  fds: before_seeder=%d empty_seeder=%d seeding=%d  (regular files open: %d)\n",
		before.fds, empty.fds, after.fds, after.fileFDs)
	return nil
}

type snapshot struct {
	rssKiB, hwmKiB   int64
	anonKiB, fileKiB int64
	heapInuse        uint64
	goroutines       int
	fds, fileFDs     int
}

func sample() snapshot {
	var s snapshot
	s.rssKiB, s.hwmKiB, s.anonKiB, s.fileKiB = procStatus()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	s.heapInuse = ms.HeapInuse
	s.goroutines = runtime.NumGoroutine()
	ents, _ := os.ReadDir("/proc/self/fd")
	s.fds = len(ents)
	for _, e := range ents {
		target, err := os.Readlink(filepath.Join("/proc/self/fd", e.Name()))
		if err == nil && strings.HasPrefix(target, "/") && !strings.HasPrefix(target, "/dev/") && !strings.HasPrefix(target, "/proc/") {
			s.fileFDs++
		}
	}
	return s
}

// procStatus reads VmRSS, VmHWM, RssAnon and RssFile (KiB) from /proc/self/status. RssFile is
// mapped file pages (the page cache of mmapped media), which the kernel can drop under pressure.
func procStatus() (rss, hwm, anon, file int64) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return -1, -1, -1, -1
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var v int64
		if _, err := fmt.Sscanf(sc.Text(), "VmRSS: %d kB", &v); err == nil {
			rss = v
		} else if _, err := fmt.Sscanf(sc.Text(), "VmHWM: %d kB", &v); err == nil {
			hwm = v
		} else if _, err := fmt.Sscanf(sc.Text(), "RssAnon: %d kB", &v); err == nil {
			anon = v
		} else if _, err := fmt.Sscanf(sc.Text(), "RssFile: %d kB", &v); err == nil {
			file = v
		}
	}
	if err := sc.Err(); err != nil && !errors.Is(err, os.ErrClosed) {
		return -1, -1, -1, -1
	}
	return rss, hwm, anon, file
}
