package worker

import "time"

// Poll results, as Recorder.Poll is told them.
const (
	PollOK          = "ok"
	PollNotModified = "not_modified" // the origin answered 304
	PollError       = "error"
)

// Recorder is told what polls and downloads did, for metrics; Config.Recorder nil records nothing.
type Recorder interface {
	Poll(result string, took time.Duration)
	Downloaded(bytes int64)
	// Published is told how long after the worker first saw the episode its torrent was published.
	Published(latency time.Duration)
	// StoreCall is told how long a store call on the poll path took; op is one of Store*.
	StoreCall(op string, took time.Duration)
}

// The store calls on the poll path that are timed.
const (
	StoreFeed        = "feed"         // the feed's validators and state, before the request
	StoreSaveChannel = "save_channel" // a parsed feed's channel and episodes
	StoreRecordPoll  = "record_poll"  // a 304's poll time
)

// timed runs a store call and tells the recorder how long it took.
func (w *Worker) timed(op string, call func() error) error {
	started := time.Now()
	err := call()
	w.cfg.Recorder.StoreCall(op, time.Since(started))
	return err
}

// Push is told what may have changed a feed's output, and which WebSub hub its source names
// (package push); Config.Push nil tells nobody.
type Push interface {
	// Changed: the feed's output may have changed (a torrent published or replaced, a poll ended).
	Changed(slug string)
	// Source: a poll parsed the source, which names this hub and topic (hub "" = none).
	Source(slug, hub, topic string)
}

type noPush struct{}

func (noPush) Changed(string)                {}
func (noPush) Source(string, string, string) {}

type noRecorder struct{}

func (noRecorder) Poll(string, time.Duration)      {}
func (noRecorder) Downloaded(int64)                {}
func (noRecorder) Published(time.Duration)         {}
func (noRecorder) StoreCall(string, time.Duration) {}
