package seedbox

import (
	"encoding/binary"
	"fmt"
	"path/filepath"
	"time"

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
	db *bbolt.DB
}

var _ storage.PieceCompletion = (*completionDB)(nil)

var completionBucket = []byte("completion")

const (
	pieceComplete   = "c"
	pieceIncomplete = "i"
)

func openCompletionDB(dir string) (*completionDB, error) {
	db, err := bbolt.Open(filepath.Join(dir, ".torrent.bolt.db"), 0o660, &bbolt.Options{Timeout: time.Second})
	if err != nil {
		return nil, err
	}
	// As the library does: a completion lost to a power cut only means that piece is hashed
	// again at the next start.
	db.NoSync = true
	return &completionDB{db: db}, nil
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

func (c *completionDB) Close() error { return c.db.Close() }
