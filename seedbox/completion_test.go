package seedbox

import (
	"testing"

	"github.com/anacrolix/torrent/metainfo"
	"github.com/anacrolix/torrent/storage"
)

// The completion DB reads what the library's bolt completion wrote (state directories from
// before it existed) and the other way round, and trustUnknown never overrides a known piece.
func TestCompletionDBSharesTheLibraryFormat(t *testing.T) {
	dir := t.TempDir()
	ih := metainfo.Hash{1, 2, 3}
	lib, err := storage.NewBoltPieceCompletion(dir)
	if err != nil {
		t.Fatal(err)
	}
	for i, ok := range []bool{true, false, true} {
		if err := lib.Set(metainfo.PieceKey{InfoHash: ih, Index: i}, ok); err != nil {
			t.Fatal(err)
		}
	}
	lib.Close()

	db, err := openCompletionDB(dir)
	if err != nil {
		t.Fatal(err)
	}
	// Pieces 0-2 known (0 and 2 good, 1 failed), 3-5 unknown.
	if err := db.trustUnknown(ih, 6); err != nil {
		t.Fatal(err)
	}
	want := []bool{true, false, true, true, true, true}
	for i, w := range want {
		c, err := db.Get(metainfo.PieceKey{InfoHash: ih, Index: i})
		if err != nil || !c.Ok || c.Complete != w {
			t.Errorf("piece %d: %+v %v, want known, complete=%v", i, c, err, w)
		}
	}
	if c, _ := db.Get(metainfo.PieceKey{InfoHash: metainfo.Hash{9}, Index: 0}); c.Ok {
		t.Error("a piece of an unknown torrent is known")
	}
	if err := db.Set(metainfo.PieceKey{InfoHash: ih, Index: 4}, false); err != nil {
		t.Fatal(err)
	}
	db.Close()

	lib, err = storage.NewBoltPieceCompletion(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer lib.Close()
	want[4] = false
	for i, w := range want {
		c, err := lib.Get(metainfo.PieceKey{InfoHash: ih, Index: i})
		if err != nil || !c.Ok || c.Complete != w {
			t.Errorf("library reading piece %d: %+v %v, want known, complete=%v", i, c, err, w)
		}
	}
}
