// Package store holds Seedcast's durable state: feeds, episodes and their
// torrents, tracker completions and scrape snapshots. The SQLite
// implementation lives in this package; the types here are the vocabulary the
// worker, publisher and reports share.
package store

import (
	"errors"
	"time"
)

// ErrNotFound is returned when a feed or episode does not exist.
var ErrNotFound = errors.New("store: not found")

// ErrExists is returned when a feed added at run time would take a slug or URL already taken.
var ErrExists = errors.New("store: already exists")

// ErrPinned is returned when removing a feed that config.yaml lists: it is removed there.
var ErrPinned = errors.New("store: pinned in config.yaml")

// Where a feed comes from.
const (
	OriginConfig  = "config"  // listed in config.yaml: pinned, added and removed there
	OriginRuntime = "runtime" // added at run time (dashboard, API, CLI, a verified submission)
)

// Feed is one subscribed podcast: its configuration, the channel metadata
// from the last successful parse, and the state of its polling.
type Feed struct {
	Slug string
	URL  string

	Title       string
	Link        string
	Description string
	Language    string
	Copyright   string
	Author      string
	ImageURL    string
	PodcastGUID string
	// Extra is a well-formed XML fragment of the channel's itunes:* and
	// podcast:* elements, copied through to the output feed.
	Extra string

	ETag         string
	LastModified string
	LastPollAt   time.Time
	LastOKAt     time.Time
	LastError    string
	// Warning is what the last good poll had to leave out (fetch.max_items), in plain words.
	Warning   string
	UpdatedAt time.Time // when the channel metadata last changed
	// PolledBy is the node that holds, or last held, the feed's poll lease (see LeaseFeed).
	PolledBy string
	// ErrorKind classifies LastError (dns, refused, timeout, http_status, ...; "" when none).
	ErrorKind string

	Origin       string    // OriginConfig or OriginRuntime
	Paused       bool      // not polled until resumed; what it published stays
	AddedAt      time.Time // when it was added at run time (zero for config feeds)
	OwnerConsent bool      // a run-time feed's owner proved they own it (podcast:locked)
}

// Session is one signed-in dashboard session. The cookie holds a random value; the store keeps
// only its hash, so a copy of the database signs nobody in.
type Session struct {
	IDHash    string // hex SHA-256 of the cookie value
	CSRF      string // the token every form of the session must carry
	CreatedAt time.Time
	ExpiresAt time.Time
}

// Submission states.
const (
	SubmissionAwaiting = "awaiting_verification" // the token is not in the feed yet
	SubmissionPending  = "approved_pending"      // verified, waiting for the operator (submissions: approve)
	SubmissionDone     = "subscribed"            // verified (and approved): the feed is subscribed
	SubmissionRejected = "rejected"              // the operator said no
)

// Submission is a podcaster's request to have their feed carried.
type Submission struct {
	ID  string
	URL string
	// Token is what the podcaster puts in <podcast:txt purpose="verify">: public once they do.
	Token string
	// OwnerTokenHash is the hex SHA-256 of the owner's secret, for their own page and report.
	OwnerTokenHash string
	Status         string
	Slug           string // the feed's slug once subscribed (or chosen for it)
	Note           string // what the last verification found, in plain words
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// Node is one gateway process on the store, as its last heartbeat described it.
type Node struct {
	Name      string
	StartedAt time.Time
	LastSeen  time.Time
	Seeding   int   // torrents it seeds, every piece verified
	DiskBytes int64 // media bytes in its data_dir
}

// Episode states.
const (
	StatePending   = "pending"   // seen in the source, not yet downloaded
	StatePublished = "published" // media complete, torrent written, in the output feed
	StateFailed    = "failed"    // last download attempt failed; retried on the next poll
	// StateSuperseded is a torrent whose enclosure changed under the same
	// identity: a new torrent replaced it in the feed, it keeps seeding.
	StateSuperseded = "superseded"
)

// Episode is one item of a feed and, once published, its torrent.
type Episode struct {
	FeedSlug string
	Key      string // unique within the feed: ItemKey, plus "#n" for the item's n-th extra enclosure
	Position int    // index in the source feed, 0 = first
	// ItemKey is the item's identity (see feeds.EpisodeKey); the rows of an
	// item with several enclosures share it, EnclosureIndex 0 first.
	ItemKey        string
	EnclosureIndex int

	GUID            string
	GUIDIsPermaLink bool
	Title           string
	Link            string
	Description     string
	Content         string
	Author          string
	Published       time.Time
	Extra           string // item itunes:* and podcast:* elements as an XML fragment

	EnclosureURL    string
	EnclosureType   string
	EnclosureLength int64 // as declared by the source
	// EnclosureAttrs are a podcast:alternateEnclosure rendition's bitrate,
	// height, lang, title, rel and codecs, as a URL query string.
	EnclosureAttrs string

	State string
	Error string

	InfoHash      string // 40 lowercase hex characters
	InfoHashV2    string // a hybrid torrent's v2 info hash, 64 lowercase hex characters; "" for v1
	TorrentPath   string // relative to data_dir
	TorrentSize   int64
	TorrentSHA256 string // hex, of the .torrent as written ("" before it was kept)
	MediaPath     string // relative to data_dir
	MediaSize     int64
	SHA256        string // hex, of the media
	// The origin's validators for the media as downloaded, to notice a
	// changed file under an unchanged feed entry.
	MediaETag         string
	MediaLastModified string
	PublishedAt       time.Time
	SeenAt            time.Time
	EvictedAt         time.Time // when retention removed the media (zero while seeded)
	UnlistedAt        time.Time // when the source stopped listing it (zero while listed)
}

// Torrent is what the seeder and tracker need to know of a published episode.
type Torrent struct {
	FeedSlug    string
	Key         string
	InfoHash    string
	InfoHashV2  string // "" for a v1 torrent
	TorrentPath string
	TorrentSize int64
	// TorrentSHA256 is the hex SHA-256 of the .torrent as written; "" when published before
	// it was kept.
	TorrentSHA256 string
	MediaPath     string
	MediaSize     int64
	// MadeBy is the node that made it ("" before nodes were recorded).
	MadeBy string
	// Kept says the store holds a copy of the .torrent (see TorrentFile).
	Kept bool
	// What the .torrent was made from besides the media, so a damaged one can be made again.
	EnclosureURL string
	Title        string
	PublishedAt  time.Time
	Evicted      bool // media removed by retention: tracked and webseeded, no longer seeded here
	// UnsyncedBoot is the OS boot ID under which the media was published before it was
	// fsynced; "" once it is known durable.
	UnsyncedBoot string
}

// Publication carries the results of a successful download and torrent build.
type Publication struct {
	InfoHash    string
	InfoHashV2  string // a hybrid torrent's v2 info hash (hex); "" for v1
	TorrentPath string
	TorrentSize int64
	// TorrentSHA256 is the hex SHA-256 of the .torrent file, checked at every start.
	TorrentSHA256 string
	// TorrentData is the .torrent file itself, kept in the store beside the file on disk.
	TorrentData []byte
	// Node is the node that downloaded the media and made the torrent.
	Node         string
	MediaPath    string
	MediaSize    int64
	SHA256       string
	ETag         string // the origin's validators for the media, if it sent any
	LastModified string
	At           time.Time
	// UnsyncedBoot is set when the media is published from the page cache, before its fsync:
	// the OS boot ID, so a start after a reboot knows to re-hash it. MarkSynced clears it.
	UnsyncedBoot string
}

// Snapshot is one scrape result of one torrent on one tracker.
type Snapshot struct {
	Tracker    string
	InfoHash   string
	At         time.Time
	Complete   int64
	Incomplete int64
	Downloaded int64
}

// TrackerPeer is one peer of the embedded tracker, kept across a restart so
// that a download started before it is still counted when it completes after.
type TrackerPeer struct {
	InfoHash   string // 40 lowercase hex characters
	PeerID     [20]byte
	Addr       string // ip:port
	Seeder     bool
	WasLeecher bool // announced with bytes left: its completion counts
	Counted    bool
	LastSeen   time.Time
}

// Bounds of a search (see Directory.Search): what one request may cost.
const (
	MaxSearchQuery = 200
	MaxSearchWords = 8
	MaxSearchHits  = 100
)

// SearchHit is one podcast or episode a search found.
type SearchHit struct {
	FeedSlug string
	// EpisodeKey is the episode's key; "" when the podcast itself matched.
	EpisodeKey string
	Title      string
	InfoHash   string    // the episode's torrent ("" for a podcast)
	Published  time.Time // the episode's date in its feed (zero for a podcast)
}

// Subscription is a feed's WebSub subscription to the hub its source names.
type Subscription struct {
	FeedSlug string
	Hub      string // the hub's URL, as the source feed gave it
	Topic    string // the source's self URL
	// Secret signs the hub's notifications (hub.secret); it never leaves the store but to the hub.
	Secret      string
	RequestedAt time.Time // the last subscribe request sent (zero: none yet)
	VerifiedAt  time.Time // the hub's last intent verification (zero: never)
	LeaseUntil  time.Time // when the hub's lease ends
}
