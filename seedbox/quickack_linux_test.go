package seedbox

import (
	"bytes"
	"context"
	"net"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// quickAckMode reports whether the kernel would ACK the next segment at once (1) or delay it (0,
// "pingpong" mode, entered when a connection looks interactive).
func quickAckMode(t *testing.T, c *peerConn) int {
	t.Helper()
	var v int
	var err error
	if cerr := c.rc.Control(func(fd uintptr) { v, err = unix.GetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_QUICKACK) }); cerr != nil {
		t.Fatal(cerr)
	}
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestPeerConnAcknowledgesTheFirstBytesAtOnce(t *testing.T) {
	ln, err := peerConns{network: "tcp4", ctx: context.Background()}.listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp4", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	sc, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	ac, ok := sc.(*peerConn)
	if !ok {
		t.Fatalf("accepted %T, want *peerConn", sc)
	}

	one := make([]byte, 1)
	// exchange answers one-byte messages in both directions until the kernel puts the server
	// side in delayed-ACK mode, reading on the server with read (raw or wrapped).
	exchange := func(read func([]byte) (int, error)) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for quickAckMode(t, ac) != 0 {
			if time.Now().After(deadline) {
				t.Fatal("the server side never entered delayed-ACK mode")
			}
			if _, err := client.Write([]byte{1}); err != nil {
				t.Fatal(err)
			}
			if _, err := read(one); err != nil {
				t.Fatal(err)
			}
			if _, err := ac.Write([]byte{2}); err != nil {
				t.Fatal(err)
			}
			if _, err := client.Read(one); err != nil {
				t.Fatal(err)
			}
		}
	}

	exchange(ac.TCPConn.Read) // raw reads: the kernel's own choice
	if _, err := client.Write([]byte{3}); err != nil {
		t.Fatal(err)
	}
	if _, err := ac.Read(one); err != nil {
		t.Fatal(err)
	}
	if got := quickAckMode(t, ac); got != 1 {
		t.Fatalf("after a read within the first %d bytes: TCP_QUICKACK = %d, want 1", quickAckBytes, got)
	}

	// Past the budget the wrapper stops asking: reads through it leave the kernel's choice alone.
	rest := int(ac.quickAckLeft.Load())
	go func() { _, _ = client.Write(bytes.Repeat([]byte{4}, rest)) }()
	buf := make([]byte, rest)
	for got := 0; got < rest; {
		n, err := ac.Read(buf[got:])
		if err != nil {
			t.Fatal(err)
		}
		got += n
	}
	if ac.quickAckLeft.Load() > 0 {
		t.Fatalf("budget left after reading it all: %d", ac.quickAckLeft.Load())
	}
	// A read through the wrapper now leaves delayed-ACK mode on. The kernel also leaves it when a
	// delayed ACK's timer fires (40 ms), which a slow machine could hit between the two
	// steps, so a few tries are allowed; a wrapper that still set TCP_QUICKACK fails them all.
	for try := 0; ; try++ {
		exchange(ac.TCPConn.Read)
		if _, err := client.Write([]byte{5}); err != nil {
			t.Fatal(err)
		}
		if _, err := ac.Read(one); err != nil {
			t.Fatal(err)
		}
		if quickAckMode(t, ac) == 0 {
			break
		}
		if try == 20 {
			t.Fatal("reads past the budget still leave delayed-ACK mode")
		}
	}
}
