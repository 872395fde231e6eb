package worker

import (
	"context"
	"errors"
	"net"
	"syscall"

	"github.com/seedcast/seedcast/feeds"
	"github.com/seedcast/seedcast/seedbox"
)

// The kinds of poll failure, stable identifiers for stores, dashboards and metrics.
const (
	KindDNS        = "dns"         // a host name did not resolve
	KindRefused    = "refused"     // the origin refused the connection
	KindTimeout    = "timeout"     // the origin did not answer, or stopped sending, in time
	KindHTTPStatus = "http_status" // the origin answered with an error status
	KindTooLarge   = "too_large"   // a feed or enclosure over its size cap
	KindParse      = "parse"       // the feed is not a feed we can read
	KindLocked     = "locked"      // podcast:locked yes, and no owner consent
	KindDiskFull   = "disk_full"   // the disk-space floor, or the disk itself, is full
	KindOther      = "other"
)

// PollFailure is the error of Poll: the failure and its kind (PollErrorKind of Err). (PollError
// is taken: the Recorder's name for a failed poll.)
type PollFailure struct {
	Kind string
	Err  error
}

func (e *PollFailure) Error() string { return e.Err.Error() }
func (e *PollFailure) Unwrap() error { return e.Err }

// PollErrorKind says what kind of failure err is, "" for nil. A poll's error can join several
// (the feed's, then each episode's, in order): the first one of a known kind names it.
func PollErrorKind(err error) string {
	if err == nil {
		return ""
	}
	var pe *PollFailure
	if errors.As(err, &pe) && pe.Kind != "" {
		return pe.Kind
	}
	for _, b := range branches(err) {
		if k := branchKind(b); k != KindOther {
			return k
		}
	}
	return KindOther
}

// branches splits err at every error that wraps several (errors.Join, fmt.Errorf with more than
// one %w), in order, so that each branch is one chain that errors.Is and errors.As walk alone.
func branches(err error) []error {
	for e := err; e != nil; e = errors.Unwrap(e) {
		if m, ok := e.(interface{ Unwrap() []error }); ok {
			var out []error
			for _, c := range m.Unwrap() {
				out = append(out, branches(c)...)
			}
			return out
		}
	}
	return []error{err}
}

// branchKind classifies one chain of errors, the most telling kind first: a DNS failure can
// also say it timed out, a size cap is also a read error.
func branchKind(err error) string {
	var (
		status *feeds.StatusError
		parse  *feeds.ParseError
		dns    *net.DNSError
		netErr net.Error
	)
	switch {
	case errors.Is(err, feeds.ErrLocked):
		return KindLocked
	case errors.Is(err, ErrDiskFloor), errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT):
		return KindDiskFull
	case errors.Is(err, feeds.ErrTooLarge), errors.Is(err, seedbox.ErrTooLarge):
		return KindTooLarge
	case errors.As(err, &parse):
		return KindParse
	case errors.As(err, &status), errors.Is(err, seedbox.ErrBadStatus):
		return KindHTTPStatus
	case errors.As(err, &dns):
		return KindDNS
	case errors.Is(err, syscall.ECONNREFUSED):
		return KindRefused
	case errors.Is(err, seedbox.ErrIdle), errors.Is(err, context.DeadlineExceeded),
		errors.As(err, &netErr) && netErr.Timeout():
		return KindTimeout
	}
	return KindOther
}

// pollErrorTexts say each kind in plain words, for people reading a feed's status.
var pollErrorTexts = map[string]string{
	KindDNS:        "The feed's or an episode's host name could not be found (DNS): check the URL for a typo; the domain may have expired.",
	KindRefused:    "The origin server refused the connection: it is down, or nothing listens at that address and port.",
	KindTimeout:    "The origin server did not answer in time, or stopped sending: it may be overloaded or down; the next poll tries again.",
	KindHTTPStatus: "The origin server answered with an error status (such as 404 Not Found or 500): the URL may have moved, or the server has a problem.",
	KindTooLarge:   "The feed or an episode is larger than the configured size limit (fetch.max_feed_bytes or fetch.max_enclosure_bytes).",
	KindParse:      "The feed could not be read: it is not valid RSS or Atom, or its text encoding is broken.",
	KindLocked:     "The feed says <podcast:locked>yes</podcast:locked>: its owner does not want it republished. Set owner_consent: true only if you own it or have permission.",
	KindDiskFull:   "Not enough disk space: the download would leave less free space in data_dir than fetch.min_free_bytes, or the disk is full.",
	KindOther:      "The poll failed for another reason: the full error says what.",
}

// PollErrorText is kind (from PollErrorKind) in plain words; an unknown kind reads as other.
func PollErrorText(kind string) string {
	if t, ok := pollErrorTexts[kind]; ok {
		return t
	}
	return pollErrorTexts[KindOther]
}
