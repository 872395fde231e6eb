package admin

import (
	"context"
	"errors"
	"net/http"

	"github.com/seedcast/seedcast/store"
)

// ErrConflict marks a decision the submission's state does not allow (409).
var ErrConflict = errors.New("conflict")

// Submissions are podcasters' submissions, for the operator to accept or turn down
// (submissions: approve).
type Submissions interface {
	List(ctx context.Context, limit int) ([]store.Submission, error)
	Approve(ctx context.Context, id string) (store.Submission, error)
	Reject(ctx context.Context, id string) (store.Submission, error)
}

// maxListed bounds the submissions shown.
const maxListed = 200

// SubmissionRoutes registers /admin/submissions and the Bearer API's approve and reject.
func (h *Handler) SubmissionRoutes(mux *http.ServeMux, subs Submissions) {
	mux.Handle("GET /admin/submissions", h.pageAuth(func(w http.ResponseWriter, r *http.Request, a authed) {
		list, err := subs.List(r.Context(), maxListed)
		if err != nil {
			h.log.Error("admin: submissions", "err", err)
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		h.render(w, http.StatusOK, "submissions", map[string]any{"CSRF": a.sess.CSRF, "Submissions": list,
			"Notice": submissionNotices[r.URL.Query().Get("done")]})
	}))
	mux.Handle("POST /admin/submissions/{id}/{action}", h.pageAuth(func(w http.ResponseWriter, r *http.Request, a authed) {
		_, done, err := decide(r, subs)
		if err != nil {
			code, msg := submissionStatus(err), err.Error()
			if code == http.StatusInternalServerError {
				h.log.Error("admin: submission", "submission", r.PathValue("id"), "err", err)
				msg = "internal error"
			}
			http.Error(w, msg, code)
			return
		}
		http.Redirect(w, r, "/admin/submissions?done="+done, http.StatusSeeOther)
	}))
	api := func(pattern string, fn http.HandlerFunc) { mux.Handle(pattern, h.apiAuth(fn)) }
	api("GET /api/v1/submissions", func(w http.ResponseWriter, r *http.Request) {
		list, err := subs.List(r.Context(), maxListed)
		if err != nil {
			h.apiFail(w, r, err)
			return
		}
		out := []map[string]any{}
		for _, s := range list {
			out = append(out, submissionJSON(s))
		}
		writeJSON(w, http.StatusOK, map[string]any{"submissions": out})
	})
	api("POST /api/v1/submissions/{id}/{action}", func(w http.ResponseWriter, r *http.Request) {
		if a := r.PathValue("action"); a != "approve" && a != "reject" {
			// verify is the podcaster's (public) endpoint, registered by the submit pages.
			apiError(w, http.StatusNotFound, "no such action: approve or reject")
			return
		}
		sub, _, err := decide(r, subs)
		if err != nil {
			code, msg := submissionStatus(err), err.Error()
			if code == http.StatusInternalServerError {
				h.log.Error("admin: api", "path", r.URL.Path, "err", err)
				msg = "internal error"
			}
			apiError(w, code, msg)
			return
		}
		writeJSON(w, http.StatusOK, submissionJSON(sub))
	})
}

var submissionNotices = map[string]string{"approved": "Submission accepted: the feed is subscribed.", "rejected": "Submission turned down."}

func decide(r *http.Request, subs Submissions) (store.Submission, string, error) {
	id := r.PathValue("id")
	switch r.PathValue("action") {
	case "approve":
		s, err := subs.Approve(r.Context(), id)
		return s, "approved", err
	case "reject":
		s, err := subs.Reject(r.Context(), id)
		return s, "rejected", err
	}
	return store.Submission{}, "", store.ErrNotFound
}

func submissionStatus(err error) int {
	if errors.Is(err, ErrConflict) {
		return http.StatusConflict
	}
	return status(err)
}

func submissionJSON(s store.Submission) map[string]any {
	return map[string]any{"id": s.ID, "url": s.URL, "status": s.Status, "slug": s.Slug, "note": s.Note,
		"created_at": s.CreatedAt.UTC(), "updated_at": s.UpdatedAt.UTC()}
}
