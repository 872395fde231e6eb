//go:build !linux

package seedbox

import "os"

// startWriteback is a no-op where sync_file_range does not exist; the final fsync does it all.
func startWriteback(f *os.File, off, n int64) {}
