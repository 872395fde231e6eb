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
}

type noRecorder struct{}

func (noRecorder) Poll(string, time.Duration) {}
func (noRecorder) Downloaded(int64)           {}
func (noRecorder) Published(time.Duration)    {}
