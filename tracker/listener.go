package tracker

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"net/netip"
	"time"
)

// A listener is who a counted download is counted for: the source prefix (an
// IPv4 address or an IPv6 /64, which one host usually holds whole) and the
// client family. Families come from a fixed list, so inventing peer_id
// prefixes cannot multiply listeners: anything unrecognised is "other".
type listener struct {
	prefix netip.Prefix
	family string
}

func listenerOf(addr netip.Addr, id [20]byte) listener {
	return listener{prefix: sourceKey(addr.Unmap().WithZone("")), family: clientFamily(id)}
}

// azureusFamilies are the Azureus-style ("-XX1234-") client codes recognised.
var azureusFamilies = map[string]bool{
	"AZ": true, "BI": true, "BT": true, "DE": true, "FD": true, "GT": true, "KT": true,
	"LT": true, "lt": true, "qB": true, "TR": true, "UM": true, "UT": true, "WD": true,
	"WW": true, "TT": true, "BC": true, "FW": true, "XL": true, "SD": true,
}

// shadowFamilies are the BEP 20 Shad0w-style first letters recognised
// (Mainline "M7-1-0--", aria2 "A2-1-37-0-", ...).
const shadowFamilies = "AMOQRSTU"

func clientFamily(id [20]byte) string {
	if id[0] == '-' && id[7] == '-' {
		if code := string(id[1:3]); azureusFamilies[code] {
			return "az:" + code
		}
		return "other"
	}
	for i := range len(shadowFamilies) {
		if id[0] == shadowFamilies[i] && (id[1] >= '0' && id[1] <= '9' || id[1] == '-') {
			return "sh:" + string(id[0])
		}
	}
	return "other"
}

// daySalt is the salt of one UTC day's listener keys.
type daySalt struct {
	day  string
	salt []byte
}

// listenerKey is what is stored for l on at's UTC day: an HMAC of the prefix
// and family under that day's salt, never the address. The salt is kept in the
// store for the day (a restart keeps the dedupe) and deleted after it.
func (t *Tracker) listenerKey(ctx context.Context, l listener, at time.Time) string {
	day := at.UTC().Format("2006-01-02")
	t.saltMu.Lock()
	defer t.saltMu.Unlock()
	if t.salt.day != day || t.saltUnsaved {
		fresh := t.salt.salt
		if t.salt.day != day {
			fresh = make([]byte, 32)
			_, _ = rand.Read(fresh) // never fails (it crashes instead)
		}
		t.salt = daySalt{day: day, salt: fresh}
		t.saltUnsaved = t.store != nil
		if t.store != nil {
			if s, err := t.store.ListenerSalt(ctx, at, fresh); err != nil {
				// Keys stay consistent in this process; the next call tries again.
				t.log.Error("tracker: store listener salt", "day", day, "err", err)
			} else {
				t.salt.salt, t.saltUnsaved = s, false
			}
		}
	}
	return l.keyUnder(t.salt.salt)
}

// keyUnder is l's HMAC under salt, hex: its prefix and client family, never the address.
func (l listener) keyUnder(salt []byte) string {
	m := hmac.New(sha256.New, salt)
	b, _ := l.prefix.MarshalBinary()
	m.Write(b)
	m.Write([]byte{0})
	m.Write([]byte(l.family))
	return hex.EncodeToString(m.Sum(nil))
}
