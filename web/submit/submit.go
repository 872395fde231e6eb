// Package submit lets podcasters bring their own feed: /submit and POST /api/v1/submissions
// create a submission with a verify token, the podcaster puts the token in their feed
// (<podcast:txt purpose="verify">), and verifying finds it there and subscribes the feed (or,
// in approve mode, waits for the operator). The owner gets a secret of their own for their
// submission's page and their feed's report.
package submit

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/seedcast/seedcast/store"
)

// Modes (config's submissions key).
const (
	ModeVerify  = "verify"
	ModeApprove = "approve"
)

// Errors the handlers tell apart; each is wrapped with what was wrong, in words for the podcaster.
var (
	ErrInvalid = errors.New("invalid submission")        // 400
	ErrRefused = errors.New("the feed cannot be taken")  // 422
	ErrCarried = errors.New("already carried")           // 409
	ErrState   = errors.New("not possible now")          // 409
	ErrFull    = errors.New("too many open submissions") // 503
)

// Found is what fetching a feed found.
type Found struct {
	Title        string
	VerifyTokens []string // the channel's <podcast:txt purpose="verify">
	Locked       bool
	Refused      bool   // the gateway would not carry it (Locked alone is not a refusal here)
	Refusal      string // why
}

// Checker fetches and checks a feed, through the gateway's SSRF-guarded client.
type Checker func(ctx context.Context, feedURL string) (Found, error)

// Subscriber subscribes a verified owner's feed (their verification is the owner's consent
// for podcast:locked) and returns its slug; refusals wrap ErrRefused.
type Subscriber interface {
	Subscribe(ctx context.Context, feedURL, title string) (slug string, err error)
}

// Store is where submissions live, and the feeds they become.
type Store interface {
	AddSubmission(ctx context.Context, s store.Submission) error
	Submission(ctx context.Context, id string) (store.Submission, error)
	Submissions(ctx context.Context, limit int) ([]store.Submission, error)
	UpdateSubmission(ctx context.Context, id, status, slug, note string, at time.Time) error
	CountSubmissions(ctx context.Context, status string, since time.Time) (int, error)
	Feeds(ctx context.Context) ([]store.Feed, error)
	Feed(ctx context.Context, slug string) (store.Feed, error)
}

// Service creates, verifies, approves and rejects submissions.
type Service struct {
	mode    string
	check   Checker
	sub     Subscriber
	st      Store
	maxOpen int
	openFor time.Duration
	now     func() time.Time
	log     *slog.Logger
	mu      sync.Mutex // one verification or decision at a time on this node
}

// Limits bound what strangers can make the gateway keep and fetch.
type Limits struct {
	// MaxOpen caps submissions awaiting verification (within OpenFor) plus those awaiting the
	// operator, gateway-wide; default 200.
	MaxOpen int
	// OpenFor is how long a submission may await verification; default 7 days.
	OpenFor time.Duration
}

// NewService returns the service; now nil means time.Now.
func NewService(mode string, lim Limits, check Checker, sub Subscriber, st Store, now func() time.Time, log *slog.Logger) *Service {
	if lim.MaxOpen <= 0 {
		lim.MaxOpen = 200
	}
	if lim.OpenFor <= 0 {
		lim.OpenFor = 7 * 24 * time.Hour
	}
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{mode: mode, check: check, sub: sub, st: st, maxOpen: lim.MaxOpen, openFor: lim.OpenFor, now: now, log: log}
}

// maxURL bounds a submitted URL, as the feed manager does.
const maxURL = 2048

// ValidateURL says what is wrong with a submitted feed URL, if anything.
func ValidateURL(feedURL string) error {
	if feedURL == "" {
		return fmt.Errorf("%w: url is required", ErrInvalid)
	}
	if len(feedURL) > maxURL {
		return fmt.Errorf("%w: url is longer than %d bytes", ErrInvalid, maxURL)
	}
	u, err := url.Parse(feedURL)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return fmt.Errorf("%w: url must be an absolute http:// or https:// URL", ErrInvalid)
	case u.User != nil:
		// It would be stored and shown: a feed that needs a password is not for a public gateway.
		return fmt.Errorf("%w: url must not carry a user name or password", ErrInvalid)
	case u.Fragment != "":
		return fmt.Errorf("%w: url must not have a #fragment", ErrInvalid)
	}
	return nil
}

// Instructions tell the podcaster what to add to their feed.
func Instructions(s store.Submission) string {
	return fmt.Sprintf(`Add <podcast:txt purpose="verify">%s</podcast:txt> inside your feed's <channel> `+
		`(with xmlns:podcast="https://podcastindex.org/namespace/1.0" on <rss>), then verify: `+
		`POST /api/v1/submissions/%s/verify, or press Verify on your submission's page.`, s.Token, s.ID)
}

// Create checks feedURL is a feed the gateway could carry and stores a submission for it. The
// owner token is returned once: only its hash is kept. Nothing is stored when anything fails.
func (s *Service) Create(ctx context.Context, feedURL string) (store.Submission, string, error) {
	feedURL = strings.TrimSpace(feedURL)
	if err := ValidateURL(feedURL); err != nil {
		return store.Submission{}, "", err
	}
	now := s.now()
	awaiting, err := s.st.CountSubmissions(ctx, store.SubmissionAwaiting, now.Add(-s.openFor))
	if err != nil {
		return store.Submission{}, "", err
	}
	pending, err := s.st.CountSubmissions(ctx, store.SubmissionPending, time.Time{})
	if err != nil {
		return store.Submission{}, "", err
	}
	if awaiting+pending >= s.maxOpen {
		return store.Submission{}, "", fmt.Errorf("%w: the gateway has %d submissions waiting; try again later", ErrFull, awaiting+pending)
	}
	if f, ok, err := s.carried(ctx, feedURL); err != nil {
		return store.Submission{}, "", err
	} else if ok {
		return store.Submission{}, "", fmt.Errorf("%w: this feed is already carried as /podcasts/%s", ErrCarried, f.Slug)
	}
	found, err := s.check(ctx, feedURL)
	if err != nil {
		return store.Submission{}, "", fmt.Errorf("%w: the feed could not be fetched: %v", ErrRefused, err)
	}
	if found.Refused {
		return store.Submission{}, "", fmt.Errorf("%w: %s", ErrRefused, found.Refusal)
	}
	id := randomHex(16)
	owner := id + "." + randomHex(32)
	sub := store.Submission{ID: id, URL: feedURL, Token: "seedcast-verify-" + randomHex(16), OwnerTokenHash: hashHex(owner),
		Status: store.SubmissionAwaiting, Note: "Waiting for the token to appear in the feed.", CreatedAt: now, UpdatedAt: now}
	if err := s.st.AddSubmission(ctx, sub); err != nil {
		return store.Submission{}, "", err
	}
	s.log.Info("submission created", "submission", id, "title", found.Title)
	return sub, owner, nil
}

// carried finds the feed already subscribed at feedURL.
func (s *Service) carried(ctx context.Context, feedURL string) (store.Feed, bool, error) {
	fs, err := s.st.Feeds(ctx)
	if err != nil {
		return store.Feed{}, false, err
	}
	i := slices.IndexFunc(fs, func(f store.Feed) bool { return f.URL == feedURL })
	if i < 0 {
		return store.Feed{}, false, nil
	}
	return fs[i], true, nil
}

// Verify fetches the submission's feed and looks for its token. Found: the feed is subscribed
// (verify mode) or waits for the operator (approve mode). Not found, or the fetch failed: the
// submission still awaits verification and its note says what was found. Verifying a submission
// past that stage returns it unchanged.
func (s *Service) Verify(ctx context.Context, id string) (store.Submission, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sub, err := s.st.Submission(ctx, id)
	if err != nil {
		return store.Submission{}, err
	}
	if sub.Status != store.SubmissionAwaiting {
		return sub, nil
	}
	if s.now().Sub(sub.CreatedAt) > s.openFor {
		return sub, fmt.Errorf("%w: submission %s expired after %s: submit the feed again", ErrState, id, s.openFor)
	}
	found, err := s.check(ctx, sub.URL)
	switch {
	case err != nil:
		return s.update(ctx, sub, store.SubmissionAwaiting, "", "The feed could not be fetched: "+err.Error())
	case !slices.Contains(found.VerifyTokens, sub.Token):
		return s.update(ctx, sub, store.SubmissionAwaiting, "", notFoundNote(found.VerifyTokens))
	case s.mode == ModeApprove:
		return s.update(ctx, sub, store.SubmissionPending, "", "Verified: the token is in the feed. Waiting for the operator to accept it.")
	}
	return s.subscribe(ctx, sub, found.Title, store.SubmissionAwaiting)
}

func notFoundNote(tokens []string) string {
	if len(tokens) == 0 {
		return `The feed has no <podcast:txt purpose="verify"> in its <channel> yet.`
	}
	shown := make([]string, 0, 3)
	for _, t := range tokens[:min(3, len(tokens))] {
		if len(t) > 80 {
			t = t[:80] + "…"
		}
		shown = append(shown, fmt.Sprintf("%q", t))
	}
	return fmt.Sprintf(`The feed has %d <podcast:txt purpose="verify">, but not this submission's token (found %s).`,
		len(tokens), strings.Join(shown, ", "))
}

// subscribe subscribes a verified submission's feed; on failure it stays in status stay.
func (s *Service) subscribe(ctx context.Context, sub store.Submission, title, stay string) (store.Submission, error) {
	if f, ok, err := s.carried(ctx, sub.URL); err != nil {
		return sub, err
	} else if ok {
		// Added meanwhile (by the operator, or another node verifying the same submission).
		return s.update(ctx, sub, store.SubmissionDone, f.Slug, "Verified. The feed was already carried.")
	}
	slug, err := s.sub.Subscribe(ctx, sub.URL, title)
	if errors.Is(err, ErrRefused) {
		return s.update(ctx, sub, stay, "", "Verified, but the gateway cannot take the feed: "+err.Error())
	}
	if err != nil {
		if f, ok, cerr := s.carried(ctx, sub.URL); cerr == nil && ok {
			// Another node subscribed it a moment ago.
			return s.update(ctx, sub, store.SubmissionDone, f.Slug, "Verified. The feed was already carried.")
		}
		s.log.Error("submission: subscribe", "submission", sub.ID, "err", err)
		return s.update(ctx, sub, stay, "", "Verified, but subscribing failed on the gateway's side: try again later.")
	}
	s.log.Info("submission subscribed", "submission", sub.ID, "feed", slug)
	return s.update(ctx, sub, store.SubmissionDone, slug, "Verified and subscribed: the first episodes are on their way.")
}

func (s *Service) update(ctx context.Context, sub store.Submission, status, slug, note string) (store.Submission, error) {
	now := s.now()
	if err := s.st.UpdateSubmission(ctx, sub.ID, status, slug, note, now); err != nil {
		return sub, err
	}
	sub.Status, sub.Slug, sub.Note, sub.UpdatedAt = status, slug, note, now
	return sub, nil
}

// Approve subscribes a verified submission waiting for the operator (approve mode).
func (s *Service) Approve(ctx context.Context, id string) (store.Submission, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sub, err := s.st.Submission(ctx, id)
	if err != nil {
		return store.Submission{}, err
	}
	if sub.Status != store.SubmissionPending {
		return sub, fmt.Errorf("%w: submission %s is %s, not %s", ErrState, id, sub.Status, store.SubmissionPending)
	}
	found, err := s.check(ctx, sub.URL) // for the title the slug is made of
	if err != nil {
		return sub, fmt.Errorf("%w: the feed could not be fetched: %v", ErrRefused, err)
	}
	sub, err = s.subscribe(ctx, sub, found.Title, store.SubmissionPending)
	if err == nil && sub.Status != store.SubmissionDone {
		err = fmt.Errorf("%w: %s", ErrRefused, sub.Note)
	}
	return sub, err
}

// Reject turns down a submission not yet subscribed (the operator's call).
func (s *Service) Reject(ctx context.Context, id string) (store.Submission, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sub, err := s.st.Submission(ctx, id)
	if err != nil {
		return store.Submission{}, err
	}
	if sub.Status != store.SubmissionAwaiting && sub.Status != store.SubmissionPending {
		return sub, fmt.Errorf("%w: submission %s is %s already", ErrState, id, sub.Status)
	}
	return s.update(ctx, sub, store.SubmissionRejected, "", "The operator turned this submission down.")
}

// List is the newest submissions first.
func (s *Service) List(ctx context.Context, limit int) ([]store.Submission, error) {
	return s.st.Submissions(ctx, limit)
}

// Owned returns the submission when ownerToken is its owner's (store.ErrNotFound otherwise).
func (s *Service) Owned(ctx context.Context, id, ownerToken string) (store.Submission, error) {
	return Owners{St: s.st}.owned(ctx, id, ownerToken)
}

// Owners finds the feed an owner token gives access to (for the reports).
type Owners struct {
	St interface {
		Submission(ctx context.Context, id string) (store.Submission, error)
		Feed(ctx context.Context, slug string) (store.Feed, error)
	}
}

func (o Owners) owned(ctx context.Context, id, ownerToken string) (store.Submission, error) {
	notFound := fmt.Errorf("submission %q with that owner token: %w", truncate(id, 64), store.ErrNotFound)
	if pre, _, ok := strings.Cut(ownerToken, "."); !ok || pre != id || len(ownerToken) > 200 {
		return store.Submission{}, notFound
	}
	sub, err := o.St.Submission(ctx, id)
	if err != nil {
		return store.Submission{}, err
	}
	if subtle.ConstantTimeCompare([]byte(hashHex(ownerToken)), []byte(sub.OwnerTokenHash)) != 1 {
		return store.Submission{}, notFound
	}
	return sub, nil
}

// OwnerFeed is the slug of the subscribed feed whose owner token this is.
func (o Owners) OwnerFeed(ctx context.Context, token string) (string, bool) {
	id, _, _ := strings.Cut(token, ".")
	sub, err := o.owned(ctx, id, token)
	if err != nil || sub.Status != store.SubmissionDone || sub.Slug == "" {
		return "", false
	}
	// Still the feed they submitted: a slug removed and reused for another feed is not theirs.
	if f, err := o.St.Feed(ctx, sub.Slug); err != nil || f.URL != sub.URL {
		return "", false
	}
	return sub.Slug, true
}

func hashHex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b) // never fails (crypto/rand)
	return hex.EncodeToString(b)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
