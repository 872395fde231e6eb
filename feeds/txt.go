package feeds

import (
	"fmt"
	"strings"
)

// Bounds on the verify tokens read from one feed: a feed is a stranger's
// document, and a token only has to be long enough to be unguessable.
const (
	MaxVerifyTokens     = 16
	MaxVerifyTokenBytes = 256
)

// verifyTokens collects a channel's <podcast:txt purpose="verify"> texts.
type verifyTokens struct {
	tokens  []string
	tooLong int // tokens longer than MaxVerifyTokenBytes, left out
	over    int // distinct tokens past MaxVerifyTokens, left out
}

// add reads one captured channel-level podcast:txt. Only purpose="verify"
// (any case) counts; the text is trimmed, a repeat counts once.
func (v *verifyTokens) add(c *capture, text string) {
	if !strings.EqualFold(strings.TrimSpace(plainAttr(c, "purpose")), "verify") {
		return
	}
	tok := strings.TrimSpace(cleanText(text))
	switch {
	case tok == "":
		return
	case len(tok) > MaxVerifyTokenBytes:
		v.tooLong++
		return
	}
	for _, t := range v.tokens {
		if t == tok {
			return
		}
	}
	if len(v.tokens) >= MaxVerifyTokens {
		v.over++
		return
	}
	v.tokens = append(v.tokens, tok)
}

// warnings says what add left out, in plain words.
func (v *verifyTokens) warnings() []string {
	var ws []string
	if v.tooLong > 0 {
		ws = append(ws, fmt.Sprintf("%d podcast:txt purpose=\"verify\" token(s) longer than %d bytes are ignored",
			v.tooLong, MaxVerifyTokenBytes))
	}
	if v.over > 0 {
		ws = append(ws, fmt.Sprintf("the channel has %d podcast:txt purpose=\"verify\" tokens: only the first %d are read",
			MaxVerifyTokens+v.over, MaxVerifyTokens))
	}
	return ws
}

// plainAttr is the captured element's attribute local without a namespace
// (podcast:txt's purpose is a plain attribute).
func plainAttr(c *capture, local string) string {
	for _, a := range c.rootAttrs {
		if a.Name.Space == "" && strings.EqualFold(a.Name.Local, local) {
			return a.Value
		}
	}
	return ""
}
