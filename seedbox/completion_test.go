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

	db, _, err := openCompletionDB(dir, "")
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

// The DB is written without fsync: one left open (a crash) is trusted in the same OS boot,
// where the page cache kept it whole, and discarded in a later one, where it may be torn; a
// clean close is trusted in any boot.
func TestCompletionDBLeftOpenByEarlierBootIsDiscarded(t *testing.T) {
	dir := t.TempDir()
	ih := metainfo.Hash{7}
	piece := metainfo.PieceKey{InfoHash: ih, Index: 0}
	open := func(boot string, wantDiscarded, wantKnown bool) *completionDB {
		t.Helper()
		db, discarded, err := openCompletionDB(dir, boot)
		if err != nil {
			t.Fatal(err)
		}
		c, err := db.Get(piece)
		if err != nil || (discarded != "") != wantDiscarded || c.Ok != wantKnown {
			t.Fatalf("boot %s: discarded %v, piece known %v (%v); want %v, %v", boot, discarded, c.Ok, err, wantDiscarded, wantKnown)
		}
		return db
	}
	crash := func(db *completionDB) { db.db.Close() } // the process dies: no clean close, no marker

	db := open("boot-1", false, false)
	if err := db.trustUnknown(ih, 4); err != nil {
		t.Fatal(err)
	}
	crash(db)
	crash(open("boot-1", false, true)) // same boot: the page cache had every write
	db = open("boot-2", true, false)   // a reboot after a crash: not trusted
	if err := db.trustUnknown(ih, 4); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = open("boot-3", false, true) // closed cleanly (synced): trusted after a reboot
	db.Close()
}
