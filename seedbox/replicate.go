package seedbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"time"

	"github.com/anacrolix/torrent"
	"github.com/anacrolix/torrent/metainfo"
)

// Replicate fetches a torrent's single file from its seeders over BitTorrent, never from a web
// seed (the origin): the way a node assigned a torrent another node made gets its bytes. The
// client hashes every piece as it arrives and fetches a bad one again; the file appears at dest
// only once whole (written beside it, synced, renamed).
//
// It never announces: a node's copy is not a listener's download, and a replica announcing
// left>0 then left=0 would be counted as one. peers is asked for seeders (the node's own
// tracker knows every node's) at once and every peerRefresh until the file is whole.
func Replicate(ctx context.Context, mi *metainfo.MetaInfo, dest string, peers func() []netip.AddrPort, log *slog.Logger) error {
	if err := replicate(ctx, mi, dest, peers, log); err != nil {
		return fmt.Errorf("seedbox: replicate %s to %s: %w", mi.HashInfoBytes().HexString(), dest, err)
	}
	return nil
}

// peerRefresh is how often Replicate asks for seeders again: one that started after the
// replica did is found this soon.
const peerRefresh = 2 * time.Second

func replicate(ctx context.Context, mi *metainfo.MetaInfo, dest string, peers func() []netip.AddrPort, log *slog.Logger) error {
	info, err := mi.UnmarshalInfo()
	if err != nil {
		return err
	}
	if len(info.Files) != 0 || info.Length <= 0 {
		return errors.New("only non-empty single-file torrents are replicated")
	}
	if err := checkName(info.Name); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		return err
	}
	// Beside dest, so the final rename stays on one filesystem.
	dir, err := os.MkdirTemp(filepath.Dir(dest), ".replica-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	cfg := torrent.NewDefaultClientConfig()
	cfg.DataDir = dir
	cfg.NoDHT = true
	cfg.DisableWebseeds = true
	cfg.DisableWebtorrent = true
	cfg.DisableUTP = true // loopback and LAN peers: TCP (GUIDE section 6)
	cfg.NoDefaultPortForwarding = true
	cfg.Seed = false
	cfg.KeepAliveTimeout = WriterWakeInterval
	cfg.ListenPort = 0
	if log != nil {
		cfg.Slogger = log
	}
	cl, err := torrent.NewClient(cfg)
	if err != nil {
		return err
	}
	closed := false
	defer func() {
		if !closed {
			cl.Close()
		}
	}()
	spec := *mi
	spec.UrlList = nil // belt and braces: never the origin
	spec.Announce, spec.AnnounceList = "", nil
	t, err := cl.AddTorrent(&spec)
	if err != nil {
		return err
	}
	t.DownloadAll()
	tick := time.NewTicker(peerRefresh)
	defer tick.Stop()
	for done := false; !done; {
		if peers != nil {
			var pis []torrent.PeerInfo
			for _, p := range peers() {
				pis = append(pis, torrent.PeerInfo{Addr: net.TCPAddrFromAddrPort(p), Trusted: true})
			}
			t.AddPeers(pis)
		}
		select {
		case <-t.Complete().On():
			done = true
		case <-tick.C:
		case <-ctx.Done():
			return fmt.Errorf("%w after %d of %d bytes", ctx.Err(), t.BytesCompleted(), info.Length)
		}
	}
	// Where the client put the file: the name for a v1 torrent, but a hybrid's file tree puts it
	// in a directory of that name too.
	got := filepath.Join(dir, t.Files()[0].Path())
	// Closing the client closes its files: then the bytes are synced and moved into place.
	closed = true
	if errs := cl.Close(); len(errs) > 0 {
		return errors.Join(errs...)
	}
	if fi, err := os.Stat(got); err != nil || fi.Size() != info.Length {
		return fmt.Errorf("replicated file %s is not %d bytes: %v", got, info.Length, err)
	}
	if err := SyncFile(got); err != nil {
		return err
	}
	if err := os.Rename(got, dest); err != nil {
		return err
	}
	return syncDir(filepath.Dir(dest))
}
