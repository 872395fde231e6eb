package seedbox

import (
	"os"

	"golang.org/x/sys/unix"
)

// startWriteback asks the kernel to begin writing [off, off+n) of f to disk without waiting.
// Done while the download runs, it leaves the final fsync only the last few megabytes to wait
// for instead of the whole file (about 1-2 s per GiB on this machine's disk). Errors are
// ignored: this is a hint, and the fsync that follows reports any real failure.
func startWriteback(f *os.File, off, n int64) {
	_ = unix.SyncFileRange(int(f.Fd()), off, n, unix.SYNC_FILE_RANGE_WRITE)
}
