package seedbox

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/anacrolix/torrent/metainfo"
	"github.com/anacrolix/torrent/storage"
)

// errReadOnly is returned if the client ever tries to write: the seeder
// never downloads (DisallowDataDownload), and a seeded file is immutable.
var errReadOnly = errors.New("seedbox: seeded media is read-only")

// fileCache keeps a bounded number of media files open for reading. The
// library's own file storage either maps every file it ever read (one
// descriptor and mapping each, and SIGBUS if a file is truncated) or opens
// a file per read; a small LRU of descriptors read with pread gives mmap's
// speed with a bound on descriptors, whatever the catalogue size.
type fileCache struct {
	max int

	mu    sync.Mutex
	byKey map[string]*list.Element // path -> element holding *openFile
	lru   *list.List               // front = most recently used
}

type openFile struct {
	path  string
	f     *os.File
	users int // readers holding it; only an unused file is closed
}

func newFileCache(max int) *fileCache {
	return &fileCache{max: max, byKey: map[string]*list.Element{}, lru: list.New()}
}

// acquire returns an open file for path; call release when done.
func (c *fileCache) acquire(path string) (*openFile, error) {
	c.mu.Lock()
	if el, ok := c.byKey[path]; ok {
		of := el.Value.(*openFile)
		of.users++
		c.lru.MoveToFront(el)
		c.mu.Unlock()
		return of, nil
	}
	c.mu.Unlock()

	f, err := os.Open(path) // outside the lock: opening may block on a slow disk
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byKey[path]; ok { // another reader opened it meanwhile
		f.Close()
		of := el.Value.(*openFile)
		of.users++
		c.lru.MoveToFront(el)
		return of, nil
	}
	of := &openFile{path: path, f: f, users: 1}
	c.byKey[path] = c.lru.PushFront(of)
	c.evictLocked()
	return of, nil
}

func (c *fileCache) release(of *openFile) {
	c.mu.Lock()
	defer c.mu.Unlock()
	of.users--
	c.evictLocked()
}

// evictLocked closes least recently used files beyond max that nobody is
// reading; files in use stay open (briefly over the bound) until released.
func (c *fileCache) evictLocked() {
	for el := c.lru.Back(); el != nil && c.lru.Len() > c.max; {
		prev := el.Prev()
		if of := el.Value.(*openFile); of.users == 0 {
			of.f.Close()
			delete(c.byKey, of.path)
			c.lru.Remove(el)
		}
		el = prev
	}
}

// forget closes path's descriptor if it is idle, so a replaced or removed
// file is reopened next time rather than read through a stale descriptor.
func (c *fileCache) forget(path string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byKey[path]; ok {
		if of := el.Value.(*openFile); of.users == 0 {
			of.f.Close()
			delete(c.byKey, path)
			c.lru.Remove(el)
		}
	}
}

// closeAll closes every idle descriptor (at seeder shutdown).
func (c *fileCache) closeAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for el := c.lru.Front(); el != nil; {
		next := el.Next()
		of := el.Value.(*openFile)
		if of.users == 0 {
			of.f.Close()
			delete(c.byKey, of.path)
			c.lru.Remove(el)
		}
		el = next
	}
}

// mediaStorage is torrent storage for one complete single-file torrent whose
// file lives at path: pieces are read with pread through the shared cache,
// and completion lives in the seeder's bolt database.
type mediaStorage struct {
	path  string
	files *fileCache
	pc    storage.PieceCompletion
}

var _ storage.ClientImpl = (*mediaStorage)(nil)

// OpenTorrent implements storage.ClientImpl.
func (m *mediaStorage) OpenTorrent(_ context.Context, info *metainfo.Info, ih metainfo.Hash) (storage.TorrentImpl, error) {
	if len(info.Files) > 0 {
		return storage.TorrentImpl{}, fmt.Errorf("seedbox: %s: multi-file torrents are not seeded", ih.HexString())
	}
	impl := storage.TorrentImpl{
		Piece: func(p metainfo.Piece) storage.PieceImpl {
			return mediaPiece{m: m, key: metainfo.PieceKey{InfoHash: ih, Index: p.Index()}, off: p.Offset()}
		},
		Close: func() error {
			m.files.forget(m.path)
			return nil
		},
	}
	return impl, nil
}

type mediaPiece struct {
	m   *mediaStorage
	key metainfo.PieceKey
	off int64 // piece start in the file
}

// ReadAt reads piece data; a file shorter than the torrent gives a short
// read and an error, never a crash.
func (p mediaPiece) ReadAt(b []byte, off int64) (int, error) {
	of, err := p.m.files.acquire(p.m.path)
	if err != nil {
		return 0, err
	}
	defer p.m.files.release(of)
	return of.f.ReadAt(b, p.off+off)
}

func (p mediaPiece) WriteAt([]byte, int64) (int, error) { return 0, errReadOnly }

func (p mediaPiece) MarkComplete() error { return p.m.pc.Set(p.key, true) }

func (p mediaPiece) MarkNotComplete() error { return p.m.pc.Set(p.key, false) }

func (p mediaPiece) Completion() storage.Completion {
	c, err := p.m.pc.Get(p.key)
	if err != nil {
		c.Err = err
	}
	return c
}
