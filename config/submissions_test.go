package config

import (
	"strings"
	"testing"
)

func TestSubmissionsKey(t *testing.T) {
	c, err := parse([]byte(""), nil)
	if err != nil || c.Submissions != SubmissionsOff {
		t.Fatalf("default: %q, %v", c.Submissions, err)
	}
	for _, mode := range []string{"off", "verify"} {
		c, err := parse([]byte("submissions: "+mode+"\n"), nil)
		if err != nil || c.Submissions != mode {
			t.Errorf("submissions: %s → %q, %v", mode, c.Submissions, err)
		}
	}
	c, err = parse([]byte("submissions: approve\nadmin:\n  token: 0123456789abcdef0123\n"), nil)
	if err != nil || c.Submissions != SubmissionsApprove {
		t.Fatalf("approve with a token: %q, %v", c.Submissions, err)
	}
	for _, y := range []string{"submissions: yes-please\n", "submissions: approve\n"} {
		if _, err := parse([]byte(y), nil); err == nil || !strings.Contains(err.Error(), "submissions:") {
			t.Errorf("%q: err = %v, want one naming submissions", y, err)
		}
	}
}
