package seedbox

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	return len(ents)
}

// The descriptor cache stays within its bound however many files are read,
// keeps a file open while it is being read, and reads the right bytes.
func TestFileCacheBounded(t *testing.T) {
	dir := t.TempDir()
	const files, bound = 300, 16
	var paths []string
	for i := range files {
		p := filepath.Join(dir, fmt.Sprintf("f%03d", i))
		if err := os.WriteFile(p, []byte(fmt.Sprintf("file %03d", i)), 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	before := openFDs(t)
	c := newFileCache(bound)
	for round := range 2 {
		for i, p := range paths {
			of, err := c.acquire(p)
			if err != nil {
				t.Fatal(err)
			}
			b := make([]byte, 8)
			if _, err := of.f.ReadAt(b, 0); err != nil || string(b) != fmt.Sprintf("file %03d", i) {
				t.Fatalf("round %d file %d read %q, %v", round, i, b, err)
			}
			c.release(of)
			if n := openFDs(t) - before; n > bound {
				t.Fatalf("%d descriptors open, bound %d", n, bound)
			}
		}
	}
	// A file in use is never closed under its reader, even past the bound.
	held := make([]*openFile, 0, bound+4)
	for _, p := range paths[:bound+4] {
		of, err := c.acquire(p)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, of)
	}
	for _, of := range held {
		if _, err := of.f.ReadAt(make([]byte, 4), 0); err != nil {
			t.Fatalf("held file closed under its reader: %v", err)
		}
		c.release(of)
	}
	if c.lru.Len() > bound {
		t.Fatalf("%d files cached after release, bound %d", c.lru.Len(), bound)
	}
	c.closeAll()
	if n := openFDs(t) - before; n > 0 {
		t.Fatalf("%d descriptors left after closeAll", n)
	}
}
