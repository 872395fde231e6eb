package seedbox

import "time"

// WriterWakeInterval is the keep-alive timeout given to every anacrolix client we run.
//
// Why: in anacrolix v1.61.0 a connection's writer can miss its wake-up. It looks for work
// (chunks read from disk, requests to send), finds none, and only then takes the signal
// channel it sleeps on; a chunk made ready in between is not sent until something else
// wakes the writer, and the keep-alive timer (1 min by default) is what does. A test's
// leecher got one 16 KiB chunk and then nothing for 30 s. The timer restarts after each
// write, so a short one bounds such a stall, and costs 4 bytes per idle useful peer.
const WriterWakeInterval = 3 * time.Second
