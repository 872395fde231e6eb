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

	"github.com/anacrolix/torrent"
	"github.com/anacrolix/torrent/metainfo"
)

// Replicate fetches a torrent's single file from its swarm over BitTorrent, never from a web
// seed (the origin): the way a node assigned a torrent another node made gets its bytes. The
// client hashes every piece as it arrives and fetches a bad one again; the file appears at dest
// only once whole (written beside it, synced, renamed). peers are dialled as well as those the
// torrent's trackers hand out.
func Replicate(ctx context.Context, mi *metainfo.MetaInfo, dest string, peers []netip.AddrPort, log *slog.Logger) error {
	if err := replicate(ctx, mi, dest, peers, log); err != nil {
		return fmt.Errorf("seedbox: replicate %s to %s: %w", mi.HashInfoBytes().HexString(), dest, err)
	}
	return nil
}

func replicate(ctx context.Context, mi *metainfo.MetaInfo, dest string, peers []netip.AddrPort, log *slog.Logger) error {
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
	t, err := cl.AddTorrent(&spec)
	if err != nil {
		return err
	}
	var pis []torrent.PeerInfo
	for _, p := range peers {
		pis = append(pis, torrent.PeerInfo{Addr: net.TCPAddrFromAddrPort(p), Trusted: true})
	}
	t.AddPeers(pis)
	t.DownloadAll()
	select {
	case <-t.Complete().On():
	case <-ctx.Done():
		return fmt.Errorf("%w after %d of %d bytes", ctx.Err(), t.BytesCompleted(), info.Length)
	}
	// Closing the client closes its files: then the bytes are synced and moved into place.
	closed = true
	if errs := cl.Close(); len(errs) > 0 {
		return errors.Join(errs...)
	}
	got := filepath.Join(dir, info.Name)
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
