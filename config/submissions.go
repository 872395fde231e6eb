package config

import "fmt"

// Submission modes: whether podcasters may bring their own feed at /submit, and whether the
// operator must accept each one after its owner proved the feed is theirs.
const (
	SubmissionsOff     = "off"     // no /submit (the default)
	SubmissionsVerify  = "verify"  // a feed whose owner put the token in it is subscribed at once
	SubmissionsApprove = "approve" // ... and then waits for the operator on /admin/submissions
)

func (c *Config) validateSubmissions() []error {
	switch c.Submissions {
	case SubmissionsOff, SubmissionsVerify, SubmissionsApprove:
	default:
		return []error{fmt.Errorf("submissions: %q: want off, verify or approve", c.Submissions)}
	}
	if c.Submissions == SubmissionsApprove && c.Admin.Token == "" && c.Admin.TokenSHA256 == "" {
		// Nobody could ever accept them.
		return []error{fmt.Errorf("submissions: approve needs admin.token (or admin.token_sha256) for the dashboard")}
	}
	return nil
}
