//go:build !linux

package seedbox

// quickAck does nothing where TCP_QUICKACK does not exist.
func quickAck(uintptr) {}
