package seedbox

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/anacrolix/torrent/bencode"
	"github.com/anacrolix/torrent/metainfo"
)

// MetaOptions are the parts of a .torrent that do not come from the downloaded bytes.
type MetaOptions struct {
	Name         string     // info.name: file name shown to users; "" = base name of Download.Path
	AnnounceList [][]string // tiers; Announce = first URL of first tier
	WebSeeds     []string   // BEP 19 url-list (the enclosure URL)
	CreatedBy    string
	CreationDate time.Time // zero = omitted
	Comment      string
	// Source is info.source: it makes the info hash unique to one episode even when two carry
	// the same bytes under the same name; "" = none.
	Source string
}

// BuildMetaInfo makes a single-file torrent from the hashes computed by Fetch (or HashFile),
// without reading the file again: v1, or hybrid v1+v2 (BEP 52) when d.Merkle is set.
func BuildMetaInfo(d Download, o MetaOptions) (*metainfo.MetaInfo, error) {
	if d.Size <= 0 {
		return nil, errors.New("seedbox: build metainfo: empty file")
	}
	if d.PieceLength <= 0 {
		return nil, fmt.Errorf("seedbox: build metainfo: invalid piece length %d", d.PieceLength)
	}
	numPieces := (d.Size + d.PieceLength - 1) / d.PieceLength
	if int64(len(d.Pieces)) != numPieces*20 {
		return nil, fmt.Errorf("seedbox: build metainfo: %d bytes of piece hashes, want %d for %d pieces",
			len(d.Pieces), numPieces*20, numPieces)
	}
	name := o.Name
	if name == "" {
		name = filepath.Base(d.Path)
	}
	if err := checkName(name); err != nil {
		return nil, fmt.Errorf("seedbox: build metainfo: %w", err)
	}

	info := metainfo.Info{
		Name:        name,
		Source:      o.Source,
		Length:      d.Size,
		PieceLength: d.PieceLength,
		Pieces:      d.Pieces,
	}
	var layers map[string]string
	if d.Merkle != nil {
		if !validPieceLength(d.PieceLength) {
			return nil, fmt.Errorf("seedbox: build metainfo: piece length %d is not a power of two of at least 16 KiB, as v2 needs", d.PieceLength)
		}
		var err error
		if layers, err = addV2(&info, *d.Merkle); err != nil {
			return nil, fmt.Errorf("seedbox: build metainfo: %w", err)
		}
	}
	infoBytes, err := bencode.Marshal(&info) // a pointer, so FileTree's MarshalBencode (pointer receiver) is used
	if err != nil {
		return nil, fmt.Errorf("seedbox: build metainfo: encoding info: %w", err)
	}

	mi := &metainfo.MetaInfo{
		InfoBytes:    infoBytes,
		AnnounceList: nonEmptyTiers(o.AnnounceList),
		UrlList:      o.WebSeeds,
		PieceLayers:  layers,
		CreatedBy:    o.CreatedBy,
		Comment:      o.Comment,
	}
	if len(mi.AnnounceList) > 0 {
		mi.Announce = mi.AnnounceList[0][0]
	}
	if !o.CreationDate.IsZero() {
		mi.CreationDate = o.CreationDate.Unix()
	}
	return mi, nil
}

// addV2 makes info a hybrid one, the v2 fields beside the v1 ones: a file tree holding the one
// file under its name, with its merkle root, and returns the "piece layers" of the metainfo.
func addV2(info *metainfo.Info, m Merkle) (map[string]string, error) {
	numPieces := (info.Length + info.PieceLength - 1) / info.PieceLength
	if want := 32 * numPieces; (numPieces > 1 && int64(len(m.PieceLayer)) != want) || (numPieces == 1 && m.PieceLayer != nil) {
		return nil, fmt.Errorf("piece layer of %d bytes for %d pieces", len(m.PieceLayer), numPieces)
	}
	info.MetaVersion = 2
	info.FileTree = metainfo.FileTree{Dir: map[string]metainfo.FileTree{
		info.Name: {File: metainfo.FileTreeFile{Length: info.Length, PiecesRoot: string(m.Root[:])}},
	}}
	if m.PieceLayer == nil {
		return nil, nil
	}
	return map[string]string{string(m.Root[:]): string(m.PieceLayer)}, nil
}

// checkName refuses names that clients would turn into paths outside their download directory.
func checkName(name string) error {
	switch {
	case name == "." || name == ".." || name == metainfo.NoName:
		return fmt.Errorf("invalid name %q", name)
	case strings.ContainsAny(name, "/\\\x00"):
		return fmt.Errorf("name %q contains a path separator or NUL", name)
	}
	return nil
}

// nonEmptyTiers drops empty URLs and tiers, so Announce is always a real URL.
func nonEmptyTiers(tiers [][]string) [][]string {
	var out [][]string
	for _, tier := range tiers {
		var t []string
		for _, u := range tier {
			if u != "" {
				t = append(t, u)
			}
		}
		if len(t) > 0 {
			out = append(out, t)
		}
	}
	return out
}

// WriteTorrentFile writes mi to path atomically: temporary file, fsync, rename, directory fsync.
// It returns the file size, which BEP 36 feeds need as the enclosure length.
func WriteTorrentFile(path string, mi *metainfo.MetaInfo) (size int64, err error) {
	size, _, err = WriteTorrentFileSum(path, mi)
	return size, err
}

// WriteTorrentFileSum is WriteTorrentFile that also returns the file's hex SHA-256, which the
// store keeps so that any later damage to the file is noticed.
func WriteTorrentFileSum(path string, mi *metainfo.MetaInfo) (size int64, sum string, err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, filepath.Base(path)+".*.tmp")
	if err != nil {
		return 0, "", fmt.Errorf("seedbox: write torrent %s: %w", path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
			err = fmt.Errorf("seedbox: write torrent %s: %w", path, err)
		}
	}()

	bw := bufio.NewWriter(f)
	h := sha256.New()
	cw := &countingWriter{w: io.MultiWriter(bw, h)}
	if err = mi.Write(cw); err != nil {
		return 0, "", err
	}
	if err = bw.Flush(); err != nil {
		return 0, "", err
	}
	if err = f.Chmod(0o644); err != nil {
		return 0, "", err
	}
	if err = f.Sync(); err != nil {
		return 0, "", err
	}
	if err = f.Close(); err != nil {
		return 0, "", err
	}
	if err = os.Rename(tmp, path); err != nil {
		return 0, "", err
	}
	if err = syncDir(dir); err != nil {
		return 0, "", err
	}
	return cw.n, hex.EncodeToString(h.Sum(nil)), nil
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// WriteFileAtomic writes b to path as WriteTorrentFile writes a torrent: temporary file, fsync,
// rename, directory fsync (for a .torrent kept elsewhere, such as the store's copy).
func WriteFileAtomic(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("seedbox: write %s: %w", path, err)
	}
	if err := writeFileSynced(path, b, 0o644); err != nil {
		return fmt.Errorf("seedbox: write %s: %w", path, err)
	}
	if err := syncDir(filepath.Dir(path)); err != nil {
		return fmt.Errorf("seedbox: write %s: %w", path, err)
	}
	return nil
}
