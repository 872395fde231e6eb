package seedbox

import "golang.org/x/sys/unix"

// quickAck sends any delayed ACK now and leaves the kernel's delayed-ACK ("pingpong") mode until
// the connection next looks interactive; it is not sticky, hence one call per read.
func quickAck(fd uintptr) {
	_ = unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_QUICKACK, 1)
}
