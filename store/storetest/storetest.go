// Package storetest is the store contract's conformance suite: every driver runs Run against a
// real database of its kind (store/sqlite on a file, store/postgres on a server the tests
// start), so both behave the same for every consumer.
package storetest

import (
	"testing"

	"github.com/seedcast/seedcast/store"
)

// Opener opens a new, empty store for one test. another opens one more handle on the same
// database, standing for a second process or node; every handle is closed when the test ends.
type Opener func(t *testing.T) (s store.Store, another func() store.Store)

// Run runs the whole suite.
func Run(t *testing.T, open Opener) {
	for _, tc := range []struct {
		name string
		fn   func(*testing.T, Opener)
	}{
		{"EpisodeLifecycle", testEpisodeLifecycle},
		{"CompletionsOncePerPeer", testCompletionsOncePerPeer},
		{"Snapshots", testSnapshots},
		{"FeedVersionSeesLocalAndOtherProcessChanges", testFeedVersionSeesLocalAndOtherProcessChanges},
		{"SaveChannelMovesVersionOnlyOnChange", testSaveChannelMovesVersionOnlyOnChange},
		{"SourceRemovalDelists", testSourceRemovalDelists},
		{"SnapshotsStoreChangesOnly", testSnapshotsStoreChangesOnly},
		{"RepublishKeepsReplacedTorrent", testRepublishKeepsReplacedTorrent},
		{"CompletionsOncePerListenerPerUTCDay", testCompletionsOncePerListenerPerUTCDay},
		{"ListenerSaltKeptForTheDayAndDeletedAfter", testListenerSaltKeptForTheDayAndDeletedAfter},
		{"ReplaceAndKeepMedia", testReplaceAndKeepMedia},
		{"ConcurrentWriters", testConcurrentWriters},
		{"TorrentFiles", testTorrentFiles},
		{"Nodes", testNodes},
		{"FeedLeases", testFeedLeases},
		{"FeedsAndPolls", testFeedsAndPolls},
		{"EpisodeUpkeep", testEpisodeUpkeep},
		{"SnapshotsSinceAndTrackerPeers", testSnapshotsSinceAndTrackerPeers},
		{"FeedWideReads", testFeedWideReads},
		{"Search", testSearch},
		{"RuntimeFeeds", testRuntimeFeeds},
		{"RuntimeFeedRace", testRuntimeFeedRace},
		{"Sessions", testSessions},
		{"Submissions", testSubmissions},
		{"PushSubscriptions", testPushSubscriptions},
		{"PushAnnouncements", testPushAnnouncements},
		{"AudienceSaltPerPeriod", testAudienceSaltPerPeriod},
		{"AudienceListens", testAudienceListens},
		{"SeederUploads", testSeederUploads},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open) })
	}
}
