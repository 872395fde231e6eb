package seedbox

import (
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"time"

	"go.etcd.io/bbolt"
)

// The completion DB is only a cache of what hashing the files would tell: a DB that cannot be
// read is moved aside and started afresh, which costs one re-hash of every torrent, instead of
// stopping the daemon.

// corruptError is a DB that opened wrongly or failed its consistency check.
type corruptError struct{ err error }

func (e corruptError) Error() string { return e.err.Error() }
func (e corruptError) Unwrap() error { return e.err }

// corruptSuffix names the one copy of a discarded DB kept for diagnosis: a later discard
// replaces it, so discards never pile up in the state directory.
const corruptSuffix = ".corrupt"

// openCheckedBolt opens the bolt file at path and checks its pages. A failure that says nothing
// about the file's contents (another process holds the lock, no permission) is returned as is;
// any other is a corruptError.
func openCheckedBolt(path string) (*bbolt.DB, error) {
	db, err := openBolt(path)
	if err != nil {
		if errors.Is(err, bbolt.ErrTimeout) || errors.Is(err, os.ErrPermission) {
			return nil, err
		}
		return nil, corruptError{err}
	}
	if err := checkBolt(db); err != nil {
		db.Close()
		return nil, corruptError{err}
	}
	return db, nil
}

// openBolt is bbolt.Open, turning a panic on a bad page (the freelist is read at open) into an
// error. After such a panic the half-open file stays open until the process exits: bbolt gives
// us nothing to close, and it happens at most once per start.
func openBolt(path string) (db *bbolt.DB, err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if p := recover(); p != nil {
			db, err = nil, fmt.Errorf("opening: %v", p)
		}
	}()
	return bbolt.Open(path, 0o660, &bbolt.Options{Timeout: time.Second})
}

// checkBolt checks the page headers, reads every key and value, then runs bbolt's consistency
// check. The read comes first and in this goroutine, where a bad page (a wild offset faults, a
// wild index panics) is recovered as an error; tx.Check walks the same pages in a goroutine of
// its own, where a panic would end the process.
func checkBolt(db *bbolt.DB) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("reading pages: %v", p)
		}
	}()
	return db.View(func(tx *bbolt.Tx) error {
		if err := checkPageHeaders(tx, db.Info().PageSize); err != nil {
			return err
		}
		err := tx.ForEach(func(_ []byte, b *bbolt.Bucket) error { return readBucket(b) })
		// Check sends every problem it finds and then closes the channel; it must be drained,
		// or it would go on reading the pages after the transaction ended.
		for cerr := range tx.Check() {
			if err == nil {
				err = cerr
			}
		}
		return err
	})
}

// pageHeader and pageElement are the sizes of bbolt's page header and of one branch or leaf
// element in it.
const pageHeader, pageElement = 16, 16

// checkPageHeaders checks the header of every page below the high-water mark: its type, and that
// its elements and overflow fit. bbolt trusts headers; a cursor descending into a page with none
// of its flags (a zeroed page, say) loops forever instead of failing.
func checkPageHeaders(tx *bbolt.Tx, pageSize int) error {
	for id := 2; ; {
		p, err := tx.Page(id)
		if err != nil || p == nil { // nil: past the high-water mark
			return err
		}
		switch p.Type {
		case "free", "freelist":
		case "branch", "leaf":
			if p.Type == "branch" && p.Count == 0 {
				return fmt.Errorf("page %d: empty branch", id)
			}
			if pageHeader+p.Count*pageElement > (1+p.OverflowCount)*pageSize {
				return fmt.Errorf("page %d: %d elements overflow it", id, p.Count)
			}
		default:
			return fmt.Errorf("page %d: type %s", id, p.Type)
		}
		next := id + 1 + p.OverflowCount // overflow pages carry no header of their own
		if next <= id || int64(next)*int64(pageSize) > tx.Size() {
			return fmt.Errorf("page %d: overflow %d", id, p.OverflowCount)
		}
		id = next
	}
}

// readBucket touches every byte of b's keys and values and those of its nested buckets, so
// that a page that cannot be read fails here.
func readBucket(b *bbolt.Bucket) error {
	var sum byte // only there so that the bytes are read
	err := b.ForEach(func(k, v []byte) error {
		for _, c := range k {
			sum += c
		}
		for _, c := range v {
			sum += c
		}
		if v == nil {
			if nested := b.Bucket(k); nested != nil {
				return readBucket(nested)
			}
		}
		return nil
	})
	_ = sum
	return err
}
