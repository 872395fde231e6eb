package storetest

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/seedcast/seedcast/store"
)

// testTorrentFiles: the .torrent of a publication is kept with it, readable from every handle;
// an info hash keeps its first bytes; an unknown one is ErrNotFound.
func testTorrentFiles(t *testing.T, open Opener) {
	ctx := context.Background()
	s, another := open(t)
	at := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	if err := s.EnsureFeed(ctx, "demo", "http://example.com/feed.xml"); err != nil {
		t.Fatal(err)
	}
	eps := []store.Episode{{Key: "guid:a", GUID: "a", EnclosureURL: "http://example.com/a.mp3"}}
	if err := s.SaveChannel(ctx, store.Feed{Slug: "demo"}, eps, at); err != nil {
		t.Fatal(err)
	}
	const ih, ih2 = "0123456789abcdef0123456789abcdef01234567", "1123456789abcdef0123456789abcdef01234567"
	data := []byte("d8:announce3:url4:infod4:name1:aee")
	err := s.Publish(ctx, "demo", "guid:a", store.Publication{InfoHash: ih, TorrentPath: "torrents/a.torrent",
		TorrentSize: int64(len(data)), TorrentData: data, MediaPath: "media/demo/a.mp3", MediaSize: 1, At: at})
	if err != nil {
		t.Fatal(err)
	}
	other := another()
	if got, err := other.TorrentFile(ctx, ih); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("torrent file from another handle = %q, %v; want the published bytes", got, err)
	}
	if err := other.SaveTorrentFile(ctx, ih, []byte("other bytes")); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.TorrentFile(ctx, ih); !bytes.Equal(got, data) {
		t.Fatalf("after a second save = %q; want the first bytes kept", got)
	}
	if _, err := s.TorrentFile(ctx, ih2); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown info hash: err = %v, want ErrNotFound", err)
	}
	if err := s.SaveTorrentFile(ctx, ih2, []byte("d4:infod4:name1:bee")); err != nil {
		t.Fatal(err)
	}
	if got, err := other.TorrentFile(ctx, ih2); err != nil || string(got) != "d4:infod4:name1:bee" {
		t.Fatalf("saved torrent file = %q, %v", got, err)
	}
}
