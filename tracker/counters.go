package tracker

import "sync/atomic"

// Protocols and results of announces, as counted for metrics.
const (
	ProtoHTTP = iota
	ProtoUDP
	ProtoWS
	numProtos
)

const (
	ResultOK = iota
	ResultError
	ResultRateLimited
	numResults
)

// AnnounceCounts are the announces answered since start, by protocol and result.
type AnnounceCounts [numProtos][numResults]int64

// Labels names the protocol and result of AnnounceCounts[p][r] as metrics label them.
func (AnnounceCounts) Labels(p, r int) (protocol, result string) {
	return [numProtos]string{"http", "udp", "ws"}[p], [numResults]string{"ok", "error", "rate_limited"}[r]
}

// announceCounters are kept per tracker (no global state), counted lock-free on the hot path.
type announceCounters [numProtos][numResults]atomic.Int64

func (t *Tracker) countAnnounce(proto int, err error) {
	switch {
	case err == nil:
		t.counts[proto][ResultOK].Add(1)
	case err == errRateLimited:
		t.counts[proto][ResultRateLimited].Add(1)
	default:
		t.counts[proto][ResultError].Add(1)
	}
}

// AnnounceCounts reports the announces answered since start.
func (t *Tracker) AnnounceCounts() AnnounceCounts {
	var out AnnounceCounts
	for p := range out {
		for r := range out[p] {
			out[p][r] = t.counts[p][r].Load()
		}
	}
	return out
}

// SwarmTotals sums the seeders and leechers of every tracked swarm.
func (t *Tracker) SwarmTotals() (seeders, leechers int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, s := range t.swarms {
		seeders += s.seeders
		leechers += s.leechers
	}
	return seeders, leechers
}
