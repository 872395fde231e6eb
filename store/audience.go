package store

import "time"

// Audience event kinds (Listen.Kind).
const (
	ListenStart    = "start"    // a listener announced with bytes left: a started download
	ListenDownload = "download" // a counted download (see Measurements.RecordCompletion)
)

// AudienceRetention is how long per-listener rows (Listen) are kept: the longest window a
// report counts unique listeners over (30 days) plus two days, so a report built a little late
// still sees its whole window. PruneListens deletes anything older.
const AudienceRetention = 32 * 24 * time.Hour

// AudiencePeriod is how long one audience salt keys listeners: at most 30 days, as the
// sponsor figures' rules require, so a listener key links visits over no longer than that.
const AudiencePeriod = 30 * 24 * time.Hour

// Listen is one listener's start or counted download of a torrent on a UTC day. Listener is an
// HMAC of the address prefix and client family under the period's audience salt, never the
// address; Client and Country are the app and ISO country code the figures are broken down by.
type Listen struct {
	InfoHash string
	Kind     string // ListenStart or ListenDownload
	Listener string
	Client   string
	Country  string
	At       time.Time
}

// AudienceCount is how many listens of one kind, client and country a torrent had on a UTC
// day. These aggregates carry no listener and are kept for as long as the completions.
type AudienceCount struct {
	Day     string // YYYY-MM-DD
	Kind    string
	Client  string
	Country string
	N       int64
}
