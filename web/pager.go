package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
)

// Default page sizes: a directory of thousands of shows, a back catalogue of thousands of
// episodes, are read a page at a time.
const (
	defaultDirectoryPage = 48
	defaultEpisodesPage  = 100
)

// pager is one page of a list and the links to its neighbours ("" when there is none).
type pager struct {
	Page, Pages int
	Prev, Next  string
}

// paginate returns the bounds of the page r asks for (?page=N, from 1; out of range is the
// nearest page) of n items, size per page, and the pager for the template.
func paginate(r *http.Request, n, size int) (from, to int, p pager) {
	p.Pages = max(1, (n+size-1)/size)
	p.Page, _ = strconv.Atoi(r.URL.Query().Get("page"))
	p.Page = min(max(p.Page, 1), p.Pages)
	link := func(page int) string {
		q := url.Values{}
		for k, v := range r.URL.Query() {
			if k != "page" {
				q[k] = v
			}
		}
		if page > 1 {
			q.Set("page", fmt.Sprint(page))
		}
		if len(q) == 0 {
			return r.URL.Path
		}
		return r.URL.Path + "?" + q.Encode()
	}
	if p.Page > 1 {
		p.Prev = link(p.Page - 1)
	}
	if p.Page < p.Pages {
		p.Next = link(p.Page + 1)
	}
	from = (p.Page - 1) * size
	return from, min(from+size, n), p
}
