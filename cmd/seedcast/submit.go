package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"

	"github.com/seedcast/seedcast/config"
	"github.com/seedcast/seedcast/publisher"
	"github.com/seedcast/seedcast/report"
	"github.com/seedcast/seedcast/store"
	"github.com/seedcast/seedcast/subscribe"
	"github.com/seedcast/seedcast/tracker"
	"github.com/seedcast/seedcast/web/admin"
	"github.com/seedcast/seedcast/web/submit"
)

// reportAuth lets sponsors (config.yaml) and the owners of submitted feeds read reports.
func reportAuth(cfg *config.Config, st submit.Store) *report.Auth {
	return report.NewAuth(sponsors(cfg)).WithOwners(submit.Owners{St: st})
}

// serveSubmissions registers /submit, /submissions/{id} and /api/v1/submissions (submissions:
// verify or approve), and the operator's side of them on the admin handler ah (always).
func serveSubmissions(cfg *config.Config, mux *http.ServeMux, st submit.Store, m *subscribe.Manager, ah *admin.Handler,
	trk *tracker.Tracker, log *slog.Logger) {
	svc := newSubmitService(cfg, st, m, log)
	// The operator's list stays, submissions off or not: earlier ones may still wait for a decision.
	ah.SubmissionRoutes(mux, adminSubmissions{svc})
	if cfg.Submissions == config.SubmissionsOff {
		return
	}
	hcfg := submit.Config{PublicURL: cfg.HTTP.PublicURL, FeedLinks: feedLinks(cfg.HTTP.PublicURL),
		Secure:   strings.HasPrefix(cfg.HTTP.PublicURL, "https:"),
		ClientIP: func(r *http.Request) netip.Addr { a, _ := trk.ClientAddr(r); return a }}
	submit.NewHandler(hcfg, svc, log).Routes(mux)
}

func newSubmitService(cfg *config.Config, st submit.Store, m *subscribe.Manager, log *slog.Logger) *submit.Service {
	return submit.NewService(cfg.Submissions, submit.Limits{}, submitChecker(feedChecker(cfg)), submitter{m}, st, nil, log)
}

// submitChecker is the feed check in the submissions' words. A locked feed is no refusal
// there: its verified owner consents.
func submitChecker(check subscribe.Checker) submit.Checker {
	return func(ctx context.Context, feedURL string) (submit.Found, error) {
		rep, err := check(ctx, feedURL)
		if err != nil {
			return submit.Found{}, err
		}
		return submit.Found{Title: rep.Title, VerifyTokens: rep.VerifyTokens, Locked: rep.Locked,
			Refused: rep.Refused && !rep.Locked, Refusal: rep.Refusal}, nil
	}
}

// feedLinks are the publisher's output feeds for a slug.
func feedLinks(publicURL string) func(string) []submit.Link {
	return func(slug string) []submit.Link {
		var out []submit.Link
		for _, fl := range publisher.Flavours {
			out = append(out, submit.Link{Name: fl.String(), URL: publicURL + fl.Path(slug)})
		}
		return out
	}
}

// submitter subscribes verified feeds through the feed manager, the owner consenting.
type submitter struct{ m *subscribe.Manager }

// Subscribe takes the slug made of the title, or the first of title-2 … title-5 still free.
func (s submitter) Subscribe(ctx context.Context, feedURL, title string) (string, error) {
	base := subscribe.Slugify(title)
	slug := base
	for n := 2; ; n++ {
		f, _, err := s.m.Add(ctx, feedURL, slug, true)
		switch {
		case err == nil:
			return f.Slug, nil
		case errors.Is(err, subscribe.ErrRefused), errors.Is(err, subscribe.ErrInvalid):
			return "", fmt.Errorf("%w: %v", submit.ErrRefused, err)
		case !errors.Is(err, store.ErrExists) || n > 5:
			return "", err
		}
		slug = fmt.Sprintf("%s-%d", strings.TrimRight(base[:min(len(base), 60)], "-"), n)
	}
}

// adminSubmissions is the service in the admin pages' vocabulary.
type adminSubmissions struct{ *submit.Service }

func (a adminSubmissions) Approve(ctx context.Context, id string) (store.Submission, error) {
	s, err := a.Service.Approve(ctx, id)
	return s, submitAdminErr(err)
}

func (a adminSubmissions) Reject(ctx context.Context, id string) (store.Submission, error) {
	s, err := a.Service.Reject(ctx, id)
	return s, submitAdminErr(err)
}

func submitAdminErr(err error) error {
	switch {
	case errors.Is(err, submit.ErrState):
		return kindErr{err, admin.ErrConflict}
	case errors.Is(err, submit.ErrRefused):
		return kindErr{err, admin.ErrRefused}
	}
	return err
}
