// Package storetest holds what tests of the store and of its users share.
package storetest

import (
	"context"
	"database/sql"
	"os"
	"testing"

	_ "modernc.org/sqlite"
)

// CorruptTable overwrites the root pages of table and of its indexes in the closed SQLite
// database at path with garbage, as a bad disk sector would: the database still opens, and
// queries that read the table fail with "database disk image is malformed".
func CorruptTable(t testing.TB, path, table string) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var pageSize int64
	if err := db.QueryRowContext(ctx, "PRAGMA page_size").Scan(&pageSize); err != nil {
		t.Fatal(err)
	}
	roots, err := rootPages(ctx, db, table)
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatalf("finding table %s in %s: %v", table, path, err)
	}
	if len(roots) == 0 {
		t.Fatalf("no table %s in %s", table, path)
	}
	if _, err := os.Stat(path + "-wal"); err == nil {
		t.Fatalf("%s has a write-ahead log: close the store before corrupting it", path)
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	garbage := make([]byte, pageSize)
	for i := range garbage {
		garbage[i] = byte(i*7 + 3)
	}
	for _, root := range roots {
		if _, err := f.WriteAt(garbage, (root-1)*pageSize); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func rootPages(ctx context.Context, db *sql.DB, table string) ([]int64, error) {
	rows, err := db.QueryContext(ctx, "SELECT rootpage FROM sqlite_master WHERE tbl_name=? AND rootpage > 1", table)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var r int64
		if err := rows.Scan(&r); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}
