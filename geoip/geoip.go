// Package geoip places listeners' addresses in countries for the sponsor figures, from a
// MaxMind DB (.mmdb) country database the operator supplies: DB-IP Lite Country or GeoLite2
// Country (audience.geoip_db).
package geoip

import (
	"fmt"
	"net/netip"

	"github.com/oschwald/maxminddb-golang/v2"
)

// DB is an open country database; safe for concurrent use.
type DB struct{ r *maxminddb.Reader }

// Open opens the .mmdb at path.
func Open(path string) (*DB, error) {
	r, err := maxminddb.Open(path)
	if err != nil {
		return nil, fmt.Errorf("geoip: open %s: %w", path, err)
	}
	return &DB{r: r}, nil
}

// record is the part of a GeoLite2 or DB-IP country record read.
type record struct {
	Country struct {
		ISOCode string `maxminddb:"iso_code"`
	} `maxminddb:"country"`
	RegisteredCountry struct {
		ISOCode string `maxminddb:"iso_code"`
	} `maxminddb:"registered_country"`
}

// Country is addr's ISO 3166-1 alpha-2 code, or "" when the database does not place it (or
// names something that is not such a code).
func (d *DB) Country(addr netip.Addr) string {
	var rec record
	if err := d.r.Lookup(addr.Unmap().WithZone("")).Decode(&rec); err != nil {
		return ""
	}
	code := rec.Country.ISOCode
	if code == "" {
		code = rec.RegisteredCountry.ISOCode // an anycast or satellite network
	}
	if len(code) != 2 || !upper(code[0]) || !upper(code[1]) {
		return ""
	}
	return code
}

func upper(b byte) bool { return b >= 'A' && b <= 'Z' }

// Close releases the database.
func (d *DB) Close() error { return d.r.Close() }
