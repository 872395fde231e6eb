package store

import (
	"context"
	"time"
)

// The store contract, grouped by domain. Drivers (store/sqlite, store/postgres) implement Store;
// consumers declare the narrow interfaces they use. Every method wraps ErrNotFound when what it
// names does not exist, and is safe to call from several goroutines, processes and nodes at once.

// Feeds are the subscriptions and what their last poll brought.
type Feeds interface {
	// EnsureFeed creates the feed row for a slug, or updates its URL (dropping the validators of
	// the old one).
	EnsureFeed(ctx context.Context, slug, url string) error
	Feed(ctx context.Context, slug string) (Feed, error)
	Feeds(ctx context.Context) ([]Feed, error)
	FeedCount(ctx context.Context) (int, error)
	// SaveChannel stores a successful poll: the channel and its episodes in one transaction; the
	// feed's version moves only when what the output shows changed.
	SaveChannel(ctx context.Context, f Feed, eps []Episode, at time.Time) error
	// RecordPoll notes a poll that changed nothing: a 304 (kind and errMsg empty) or a failure,
	// errMsg in plain words and kind its class.
	RecordPoll(ctx context.Context, slug string, at time.Time, kind, errMsg string) error
	// FeedVersion changes whenever the feed's output would.
	FeedVersion(ctx context.Context, slug string) (int64, error)
}

// RuntimeFeeds are the feeds added and removed at run time, and pausing any feed.
type RuntimeFeeds interface {
	// AddFeed subscribes a run-time feed (OriginRuntime); ErrExists when its slug or URL is
	// already a feed's.
	AddFeed(ctx context.Context, slug, url string, ownerConsent bool, at time.Time) error
	// SetPaused pauses or resumes any feed.
	SetPaused(ctx context.Context, slug string, paused bool) error
	// RemoveFeed deletes a run-time feed with its episodes and .torrents (its completions and
	// snapshots stay, under their info hashes); ErrPinned for a config feed.
	RemoveFeed(ctx context.Context, slug string) error
}

// Sessions are the dashboard's signed-in sessions, shared by every node.
type Sessions interface {
	// CreateSession stores s, deleting sessions expired at s.CreatedAt.
	CreateSession(ctx context.Context, s Session) error
	// Session returns the session whose ID hash is idHash; ErrNotFound when none, or expired at now.
	Session(ctx context.Context, idHash string, now time.Time) (Session, error)
	DeleteSession(ctx context.Context, idHash string) error
}

// SubmissionStore keeps podcasters' submissions.
type SubmissionStore interface {
	AddSubmission(ctx context.Context, s Submission) error
	Submission(ctx context.Context, id string) (Submission, error)
	// Submissions lists the newest first, at most limit.
	Submissions(ctx context.Context, limit int) ([]Submission, error)
	// UpdateSubmission sets a submission's status, slug and note.
	UpdateSubmission(ctx context.Context, id, status, slug, note string, at time.Time) error
	// CountSubmissions counts those in status created at or after since (for caps).
	CountSubmissions(ctx context.Context, status string, since time.Time) (int, error)
}

// Episodes are the episodes and their state machine: pending → published (or failed, retried);
// a published episode keeps the enclosure its torrent was made from; a replaced one is kept as
// superseded (still seeding, first to go under retention); an episode the source drops is
// unlisted, not deleted.
type Episodes interface {
	Episode(ctx context.Context, slug, key string) (Episode, error)
	EpisodeByInfoHash(ctx context.Context, infoHash string) (Episode, error)
	Unpublished(ctx context.Context, slug string) ([]Episode, error)
	Published(ctx context.Context, slug string) ([]Episode, error)
	Listed(ctx context.Context, slug string) ([]Episode, error)
	Seeded(ctx context.Context, slug string) ([]Episode, error)
	Failed(ctx context.Context, slug string) ([]Episode, error)
	Reported(ctx context.Context, slug string) ([]Episode, error)
	StateCounts(ctx context.Context, slug string) (map[string]int, error)
	// AllStateCounts is StateCounts over every feed (one query, for metrics).
	AllStateCounts(ctx context.Context) (map[string]int, error)
	Torrents(ctx context.Context) ([]Torrent, error)
	// TorrentFile is a published .torrent as the store keeps it (ErrNotFound: published before
	// the store kept them, and not yet filled in).
	TorrentFile(ctx context.Context, infoHash string) ([]byte, error)
	// SaveTorrentFile keeps a .torrent; an info hash already kept keeps its first bytes.
	SaveTorrentFile(ctx context.Context, infoHash string, data []byte) error
	MediaInUse(ctx context.Context, relPath string) (bool, error)

	Publish(ctx context.Context, slug, key string, p Publication) error
	MarkSynced(ctx context.Context, slug, key string) error
	Supersede(ctx context.Context, slug, key string) error
	Replace(ctx context.Context, slug, key, enclosureURL, enclosureType string, enclosureLength int64, p Publication) error
	KeepMedia(ctx context.Context, slug, key, etag, lastModified string, declaredLength int64) error
	Evict(ctx context.Context, slug, key string, at time.Time) error
	SetTorrentFile(ctx context.Context, slug, key string, size int64, sha256 string) error
	Requeue(ctx context.Context, slug, key, why string) error
	Fail(ctx context.Context, slug, key, msg string) error
}

// Measurements are what sponsors are shown: counted completions and scrape snapshots.
type Measurements interface {
	// RecordCompletion adds a plausible completion; it reports whether it counted (one per
	// torrent, listener and UTC day).
	RecordCompletion(ctx context.Context, infoHash, listener string, at time.Time) (bool, error)
	CompletionEvents(ctx context.Context, infoHash string) (int64, error)
	CompletionCount(ctx context.Context, infoHash string) (int64, error)
	Completions(ctx context.Context, infoHash string) ([]time.Time, error)
	// ListenerSalt returns day's salt, storing fresh when the day has none.
	ListenerSalt(ctx context.Context, day time.Time, fresh []byte) ([]byte, error)
	AddSnapshots(ctx context.Context, snaps []Snapshot) error
	Snapshots(ctx context.Context, infoHash string) ([]Snapshot, error)
	SnapshotsSince(ctx context.Context, infoHash string, since time.Time) ([]Snapshot, error)
	// FeedCompletions and FeedSnapshotsSince are Completions and SnapshotsSince for every torrent
	// a feed has had, keyed by info hash, in one query each (a report's reads).
	FeedCompletions(ctx context.Context, slug string) (map[string][]time.Time, error)
	FeedSnapshotsSince(ctx context.Context, slug string, since time.Time) (map[string][]Snapshot, error)
}

// Audience is what the sponsor figures beyond counted downloads are made of: starts, unique
// listeners (per-listener rows kept AudienceRetention), and per client and country counts.
type Audience interface {
	// AudienceSalt returns the salt of the AudiencePeriod holding at, storing fresh when that
	// period has none, and deletes the salts of the periods before the previous one.
	AudienceSalt(ctx context.Context, at time.Time, fresh []byte) ([]byte, error)
	// RecordListen stores l unless its listener already has one of that kind for the torrent on
	// l.At's UTC day; when new, it also adds one to the day's AudienceCount of its client and
	// country. It reports whether it was new.
	RecordListen(ctx context.Context, l Listen) (bool, error)
	// PruneListens deletes the per-listener rows from before before and reports how many.
	PruneListens(ctx context.Context, before time.Time) (int64, error)
	// FeedListens lists the ListenDownload rows from since onwards of every torrent the feed
	// has had, by info hash, oldest first (Client and Country empty).
	FeedListens(ctx context.Context, slug string, since time.Time) (map[string][]Listen, error)
	// FeedAudienceCounts lists the AudienceCounts of every torrent the feed has had, by info
	// hash, by day.
	FeedAudienceCounts(ctx context.Context, slug string) (map[string][]AudienceCount, error)
	// FeedCompletionEvents is CompletionEvents for every torrent the feed has had.
	FeedCompletionEvents(ctx context.Context, slug string) (map[string]int64, error)
}

// SeederUploads are the piece bytes each node's seeder sent to peers, per torrent, kept across
// restarts: what the report's bandwidth figures count as the gateway's share of the delivery.
type SeederUploads interface {
	// AddSeederUploads adds bytes (per info hash, what node's seeder uploaded since its last
	// call) to node's running totals, all in one transaction: a failed call added nothing.
	// at's UTC day gets their sum in the daily series.
	AddSeederUploads(ctx context.Context, node string, at time.Time, bytes map[string]int64) error
	// FeedSeederUploads is every node's total for every torrent a feed has had, by info hash.
	FeedSeederUploads(ctx context.Context, slug string) (map[string]int64, error)
	// DailySeederUploads is every node's bytes per UTC day ("2006-01-02") from since's day on.
	DailySeederUploads(ctx context.Context, since time.Time) (map[string]int64, error)
}

// TrackerState is the embedded tracker's swarms, kept while the gateway is stopped.
type TrackerState interface {
	SaveTrackerPeers(ctx context.Context, peers []TrackerPeer) error
	TakeTrackerPeers(ctx context.Context) ([]TrackerPeer, error)
}

// Nodes are the gateway processes sharing the store and who polls which feed.
type Nodes interface {
	// Heartbeat records n as alive at n.LastSeen.
	Heartbeat(ctx context.Context, n Node) error
	ListNodes(ctx context.Context) ([]Node, error)
	// LeaseFeed gives node the feed's poll lease until until, when the lease is free, expired at
	// now, or already node's; it reports whether node holds it. One node polls a feed at a time.
	LeaseFeed(ctx context.Context, slug, node string, now, until time.Time) (bool, error)
	// ReleaseFeed ends node's lease; the feed keeps node as PolledBy.
	ReleaseFeed(ctx context.Context, slug, node string) error
}

// Push is what WebSub needs every node to agree on: the feeds' subscriptions to their sources'
// hubs (any node may receive a hub's callback) and the last output version announced (one node
// announces each change).
type Push interface {
	// SaveSubscription creates or replaces the feed's subscription.
	SaveSubscription(ctx context.Context, s Subscription) error
	// Subscription is the feed's subscription (ErrNotFound: none).
	Subscription(ctx context.Context, slug string) (Subscription, error)
	// Subscriptions lists every subscription, by feed.
	Subscriptions(ctx context.Context) ([]Subscription, error)
	DeleteSubscription(ctx context.Context, slug string) error
	// ClaimSubscribe records now as the time of the feed's next subscribe request unless one was
	// recorded after since; it reports whether the caller is the one to send it.
	ClaimSubscribe(ctx context.Context, slug string, now, since time.Time) (bool, error)
	// ConfirmSubscription records a hub's intent verification: when the feed's subscription is
	// for topic and its last request was made after since, the lease runs from now to until; it
	// reports whether it was.
	ConfirmSubscription(ctx context.Context, slug, topic string, since, now, until time.Time) (bool, error)
	// ClaimAnnouncement records version as the feed's announced output version when it is newer
	// than the one recorded; it reports whether it was, so a change is announced once.
	ClaimAnnouncement(ctx context.Context, slug string, version int64) (bool, error)
}

// Directory is what the public pages search.
type Directory interface {
	// Search finds podcasts and published, listed episodes (their default torrent) whose title
	// or description holds every word of query, best match first, at most limit (capped at
	// MaxSearchHits). Words are runs of letters and digits; only the first MaxSearchWords of the
	// first MaxSearchQuery bytes count. A query with no word finds nothing.
	Search(ctx context.Context, query string, limit int) ([]SearchHit, error)
}

// Store is the whole contract a driver implements.
type Store interface {
	Feeds
	RuntimeFeeds
	Sessions
	SubmissionStore
	Episodes
	Directory
	Measurements
	Audience
	SeederUploads
	TrackerState
	Nodes
	Push
	// Check fails when the database is damaged (for /healthz); it may be slow: cache it.
	Check(ctx context.Context) error
	Close() error
}
