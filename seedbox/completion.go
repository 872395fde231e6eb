package seedbox

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/anacrolix/torrent/metainfo"
	"github.com/anacrolix/torrent/storage"
	"go.etcd.io/bbolt"
)

// completionDB records which pieces of which torrent are known to be good. The file is laid out
// as the library's own bolt piece completion lays it out (bucket "completion", one bucket per
// info hash, big-endian uint32 piece index → "c" complete or "i" incomplete), so state
// directories written before keep working. It exists for trustUnknown: marking the 1,024 pieces
// of a freshly downloaded 1 GiB episode took one write transaction each (~130 ms at publish
// time); here it is one.
type completionDB struct {
	db   *bbolt.DB
	dir  string
	boot string // the OS boot that has the DB open; "" = unknown
}

var _ storage.PieceCompletion = (*completionDB)(nil)

var completionBucket = []byte("completion")

const (
	pieceComplete   = "c"
	pieceIncomplete = "i"
)

// completionFile is the DB's name in the state directory.
const completionFile = ".torrent.bolt.db"

// completionMarker sits beside the DB and says which OS boot has it open, or that it was
// closed cleanly: "BOOT open" or "BOOT closed".
const completionMarker = ".torrent.bolt.state"

// openCompletionDB opens dir's completion DB. It is written without fsync, as the library
// does, so that verifying or publishing is not one fsync per piece; the page cache keeps it
// whole across a crash of the process, but an OS crash or power cut can leave it torn, and
// bbolt may then answer wrongly or hang. So when boot is known, a marker records the boot that
// has the DB open: a DB still open by an earlier boot is discarded. boot "" trusts the DB as it
// is, unless it fails to open or to pass a check of its pages: then it is moved aside (see
// corruptSuffix) and discarded too. discarded says why the DB was discarded, "" if it was not;
// after a discard every piece is hashed again when its torrent is added.
func openCompletionDB(dir, boot string) (c *completionDB, discarded string, err error) {
	path := filepath.Join(dir, completionFile)
	marker := filepath.Join(dir, completionMarker)
	if boot != "" {
		if b, err := os.ReadFile(marker); err == nil {
			prev, state, _ := strings.Cut(strings.TrimSpace(string(b)), " ")
			if state != "closed" && prev != boot {
				if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
					return nil, "", fmt.Errorf("discarding piece completion of an earlier boot: %w", err)
				}
				discarded = "left open by an earlier OS boot (crash or power cut)"
			}
		}
	}
	db, err := openCheckedBolt(path)
	if corrupt := (corruptError{}); errors.As(err, &corrupt) {
		aside := path + corruptSuffix
		if err := os.Rename(path, aside); err != nil {
			return nil, "", fmt.Errorf("moving aside corrupt piece completion db %s (%v): %w", path, corrupt, err)
		}
		discarded = fmt.Sprintf("corrupt (%v), moved aside to %s", corrupt, aside)
		db, err = openCheckedBolt(path)
	}
	if err != nil {
		return nil, "", fmt.Errorf("piece completion db %s: %w", path, err)
	}
	db.NoSync = true
	c = &completionDB{db: db, dir: dir, boot: boot}
	if err := c.mark("open"); err != nil {
		db.Close()
		return nil, "", err
	}
	return c, discarded, nil
}

// mark writes the marker durably: it must be on disk before the DB it vouches for changes.
func (c *completionDB) mark(state string) error {
	if c.boot == "" {
		return nil
	}
	if err := writeFileSynced(filepath.Join(c.dir, completionMarker), []byte(c.boot+" "+state+"\n"), 0o600); err != nil {
		return fmt.Errorf("piece completion marker: %w", err)
	}
	if err := syncDir(c.dir); err != nil {
		return fmt.Errorf("piece completion marker: %w", err)
	}
	return nil
}

func pieceKey(i int) []byte {
	var k [4]byte
	binary.BigEndian.PutUint32(k[:], uint32(i))
	return k[:]
}

// Persistent tells the library that completion survives restarts.
func (c *completionDB) Persistent() bool { return true }

func (c *completionDB) Get(pk metainfo.PieceKey) (storage.Completion, error) {
	var cn storage.Completion
	err := c.db.View(func(tx *bbolt.Tx) error {
		b := tx.Bucket(completionBucket)
		if b == nil {
			return nil
		}
		if b = b.Bucket(pk.InfoHash[:]); b == nil {
			return nil
		}
		switch string(b.Get(pieceKey(pk.Index))) {
		case pieceComplete:
			cn.Ok, cn.Complete = true, true
		case pieceIncomplete:
			cn.Ok = true
		}
		return nil
	})
	return cn, err
}

func (c *completionDB) Set(pk metainfo.PieceKey, complete bool) error {
	// A read is cheaper than a write transaction, and verification sets what is known already.
	if cn, err := c.Get(pk); err == nil && cn.Ok && cn.Complete == complete {
		return nil
	}
	v := pieceIncomplete
	if complete {
		v = pieceComplete
	}
	return c.db.Update(func(tx *bbolt.Tx) error {
		b, err := torrentBucket(tx, pk.InfoHash)
		if err != nil {
			return err
		}
		return b.Put(pieceKey(pk.Index), []byte(v))
	})
}

// trustUnknown records as complete, in one transaction, every piece of the torrent whose
// completion is not known. A known piece is left alone: a recorded failure must not be
// overridden.
func (c *completionDB) trustUnknown(ih metainfo.Hash, numPieces int) error {
	err := c.db.Update(func(tx *bbolt.Tx) error {
		b, err := torrentBucket(tx, ih)
		if err != nil {
			return err
		}
		for i := range numPieces {
			if b.Get(pieceKey(i)) != nil {
				continue
			}
			if err := b.Put(pieceKey(i), []byte(pieceComplete)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("recording piece completion: %w", err)
	}
	return nil
}

func torrentBucket(tx *bbolt.Tx, ih metainfo.Hash) (*bbolt.Bucket, error) {
	b, err := tx.CreateBucketIfNotExists(completionBucket)
	if err != nil {
		return nil, err
	}
	return b.CreateBucketIfNotExists(ih[:])
}

// Close syncs the DB, closes it and records that it was closed cleanly.
func (c *completionDB) Close() error {
	if err := errors.Join(c.db.Sync(), c.db.Close()); err != nil {
		return err
	}
	return c.mark("closed")
}
