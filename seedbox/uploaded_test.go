package seedbox

import (
	"bytes"
	"testing"
)

// What a torrent uploaded stays counted after it stops being seeded (retention's Remove, Close),
// and grows again when it is added back: Uploaded and the Stats total never go down.
func TestSeederUploadedSurvivesRemoveAndClose(t *testing.T) {
	ep := newEpisode(t, t.TempDir(), 1<<20+5, nil)
	s := newTestSeeder(t, t.TempDir())
	if err := s.AddTrusted(t.Context(), ep.mi, ep.path); err != nil {
		t.Fatal(err)
	}
	if got := leech(t, ep.mi, s.ListenPort()); !bytes.Equal(got, ep.data) {
		t.Fatal("leecher got different bytes")
	}
	ih := ep.mi.HashInfoBytes()
	first := s.Uploaded()[ih]
	if st := s.Stats(); first < int64(len(ep.data)) || len(st.Torrents) != 1 || st.Torrents[0].BytesUploaded != first || st.BytesUploaded != first {
		t.Fatalf("after one download: Uploaded %d, Stats %+v; want at least the file's %d bytes, equal", first, st, len(ep.data))
	}
	if err := s.Remove(ih); err != nil {
		t.Fatal(err)
	}
	if up, st := s.Uploaded()[ih], s.Stats(); up != first || st.BytesUploaded != first || len(st.Torrents) != 0 {
		t.Fatalf("after Remove: Uploaded %d, Stats total %d; want %d kept", up, st.BytesUploaded, first)
	}
	if err := s.AddTrusted(t.Context(), ep.mi, ep.path); err != nil {
		t.Fatal(err)
	}
	if got := leech(t, ep.mi, s.ListenPort()); !bytes.Equal(got, ep.data) {
		t.Fatal("leecher got different bytes")
	}
	second := s.Uploaded()[ih]
	if row := s.Stats().Torrents[0].BytesUploaded; second != first+row || row < int64(len(ep.data)) {
		t.Fatalf("added again and downloaded: Uploaded %d, this torrent's %d; want %d + it", second, row, first)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if final := s.Uploaded()[ih]; final < second {
		t.Fatalf("after Close: Uploaded %d, want at least %d", final, second)
	}
}
