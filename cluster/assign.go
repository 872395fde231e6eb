// Package cluster decides which nodes seed which torrent when several gateway processes share
// one store.
package cluster

import (
	"crypto/sha256"
	"encoding/binary"
	"slices"
	"strings"
)

// Assign picks the nodes that seed the torrent infoHash: the node that made it (when alive),
// then the live nodes that score highest for it (rendezvous hashing), up to replicas in all.
// Every node computes the same answer from the same live set, and a node joining or leaving moves
// only the torrents it is, or becomes, one of the chosen for. live need not be sorted.
func Assign(infoHash, maker string, live []string, replicas int) []string {
	if replicas <= 0 || len(live) == 0 {
		return nil
	}
	type scored struct {
		node  string
		score uint64
	}
	var out []string
	var rest []scored
	for _, n := range live {
		if n == maker {
			out = append(out, n)
			continue
		}
		rest = append(rest, scored{n, score(infoHash, n)})
	}
	slices.SortFunc(rest, func(a, b scored) int {
		switch {
		case a.score > b.score:
			return -1
		case a.score < b.score:
			return 1
		}
		return strings.Compare(a.node, b.node)
	})
	for _, s := range rest {
		if len(out) == replicas {
			break
		}
		out = append(out, s.node)
	}
	return out
}

// score is the node's weight for the torrent: a hash of both, so each torrent orders the nodes
// its own way.
func score(infoHash, node string) uint64 {
	h := sha256.Sum256([]byte(infoHash + "\x00" + node))
	return binary.BigEndian.Uint64(h[:8])
}
