package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/seedcast/seedcast/seedbox"
)

const torrentUsage = `usage: seedcast torrent create FILE [-o out.torrent] [-webseed URL]... [-announce URL]... [-piece-length N] [-format hybrid|v1]
`

// listFlag collects a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(s string) error { *l = append(*l, s); return nil }

// cmdTorrent dispatches `seedcast torrent SUBCOMMAND`; only create exists.
func cmdTorrent(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		fmt.Fprint(stderr, torrentUsage)
		return flag.ErrHelp
	}
	return cmdTorrentCreate(ctx, args[1:], stdout, stderr)
}

// cmdTorrentCreate makes a single-file .torrent (hybrid v1+v2 or v1) of a local file, hashing
// its pieces on every core, for podcasters who host their files themselves.
func cmdTorrentCreate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("torrent create", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, torrentUsage); fs.PrintDefaults() }
	var (
		out       = fs.String("o", "", "output path (default: the file's base name + .torrent, in the current directory)")
		pieceLen  = fs.String("piece-length", "", "piece length in bytes, a power of two from 16K to 16M; K and M suffixes allowed (default: chosen from the size)")
		format    = fs.String("format", "hybrid", "hybrid (BitTorrent v1 and v2, BEP 52) or v1")
		webseeds  listFlag
		announces listFlag
	)
	fs.Var(&webseeds, "webseed", "BEP 19 web seed URL (repeatable)")
	fs.Var(&announces, "announce", "tracker URL, one tier each (repeatable)")

	// The file may come before the flags (as in the usage line), and flag stops at the first
	// positional argument, so parse again after taking it.
	var files []string
	for {
		if err := fs.Parse(args); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		files = append(files, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(files) != 1 {
		fs.Usage()
		return fmt.Errorf("want exactly one FILE, got %d", len(files))
	}
	path := files[0]

	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", path)
	}
	pl := seedbox.PieceLengthFor(fi.Size())
	if *pieceLen != "" {
		if pl, err = parsePieceLength(*pieceLen); err != nil {
			return err
		}
	}
	for _, u := range append(append([]string{}, webseeds...), announces...) {
		if u == "" {
			return errors.New("empty URL in -webseed or -announce")
		}
	}
	if *format != "hybrid" && *format != "v1" {
		return fmt.Errorf("-format %q: want hybrid or v1", *format)
	}
	outPath := *out
	if outPath == "" {
		outPath = filepath.Base(path) + ".torrent"
	}

	d := seedbox.Download{Path: path, Size: fi.Size(), PieceLength: pl}
	opts := seedbox.HashOptions{V2: *format == "hybrid"}
	var bar *progressbar.ProgressBar
	if fi.Size() > 0 && isTerminal(stderr) {
		bar = newBar(stderr, "hashing "+filepath.Base(path), fi.Size())
		opts.Progress = func(n int64) { bar.Add64(n) } // the bar takes its own lock
	}
	d.Pieces, d.Merkle, err = seedbox.HashFileWith(ctx, path, pl, opts)
	if bar != nil {
		endBar(bar, fi.Size(), err)
	}
	if err != nil {
		return err
	}
	tiers := make([][]string, 0, len(announces))
	for _, a := range announces {
		tiers = append(tiers, []string{a})
	}
	mi, err := seedbox.BuildMetaInfo(d,
		seedbox.MetaOptions{
			AnnounceList: tiers,
			WebSeeds:     webseeds,
			CreatedBy:    "Seedcast " + version,
			CreationDate: time.Now(),
		})
	if err != nil {
		return err
	}
	if _, err := seedbox.WriteTorrentFile(outPath, mi); err != nil {
		return err
	}
	info, err := mi.UnmarshalInfo()
	if err != nil {
		return fmt.Errorf("torrent: reading back info: %w", err)
	}
	magnet, err := mi.MagnetV2() // btih, and btmh for a hybrid
	if err != nil {
		return fmt.Errorf("torrent: magnet: %w", err)
	}
	fmt.Fprintf(stdout, "%s\ninfo_hash %s\n", outPath, mi.HashInfoBytes().HexString())
	if v2, ok := seedbox.InfoHashV2(mi); ok {
		fmt.Fprintf(stdout, "info_hash_v2 %x\n", v2)
	}
	fmt.Fprintf(stdout, "pieces %d x %d bytes\n%s\n", info.NumPieces(), pl, magnet.String())
	return nil
}

// parsePieceLength reads "262144", "256K" or "1M" and checks it is a power of two that clients
// accept (16 KiB, the block size, up to 16 MiB).
func parsePieceLength(orig string) (int64, error) {
	s, mult := orig, int64(1)
	switch {
	case strings.HasSuffix(s, "K"), strings.HasSuffix(s, "k"):
		mult, s = 1<<10, s[:len(s)-1]
	case strings.HasSuffix(s, "M"), strings.HasSuffix(s, "m"):
		mult, s = 1<<20, s[:len(s)-1]
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 || n > (16<<20)/mult {
		return 0, fmt.Errorf("-piece-length %q: want a power of two from 16K to 16M", orig)
	}
	n *= mult
	if n < 16<<10 || n&(n-1) != 0 {
		return 0, fmt.Errorf("-piece-length %q: want a power of two from 16K to 16M", orig)
	}
	return n, nil
}
