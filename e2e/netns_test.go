package e2e

import (
	"os"
	"os/exec"
	"testing"
)

// netnsEnv marks a test process running inside the private network namespace
// that inPrivateNetwork made; netnsBinaryEnv passes it the seedcast binary.
const (
	netnsEnv       = "SEEDCAST_E2E_NETNS"
	netnsBinaryEnv = "SEEDCAST_E2E_BINARY"
)

// netnsSetup gives the namespace loopback and one veth pair with 10.77.0.1, so
// WebRTC (Chromium, pion) has a host candidate to offer. The default route
// reaches nothing: no packet can leave the machine.
const netnsSetup = `set -e
ip link set lo up
ip link add v0 type veth peer name v1
ip addr add 10.77.0.1/24 dev v0
ip link set v0 up
ip link set v1 up
ip route add default dev v0
exec "$@"`

// inPrivateNetwork reports whether the calling test runs inside a private
// network namespace. If not, it runs the test again in a fresh one (unshare -n,
// root only), reports that run's result as this test's, and returns false: the
// caller then returns. WebRTC gathers no candidates on loopback alone, and a
// test must not use the machine's real addresses (GUIDE section 6).
func inPrivateNetwork(t *testing.T) bool {
	t.Helper()
	if os.Getenv(netnsEnv) == "1" {
		return true
	}
	if os.Geteuid() != 0 {
		skipOrFail(t, "a private network namespace (unshare -n) needs root")
	}
	if _, err := exec.LookPath("unshare"); err != nil {
		skipOrFail(t, "unshare not installed")
	}
	args := []string{"-n", "sh", "-c", netnsSetup, "netns", os.Args[0], "-test.run=^" + t.Name() + "$", "-test.v", "-test.count=1"}
	if *updateDocs {
		args = append(args, "-update-docs")
	}
	cmd := exec.Command("unshare", args...)
	cmd.Env = append(os.Environ(), netnsEnv+"=1", netnsBinaryEnv+"="+binary)
	out, err := cmd.CombinedOutput()
	t.Logf("in a private network namespace:\n%s", out)
	if err != nil {
		t.Fatalf("test in the private network namespace: %v", err)
	}
	return false
}

// skipOrFail skips, or fails when the run requires every peer (SEEDCAST_REQUIRE_PEERS, as CI).
func skipOrFail(t *testing.T, why string) {
	t.Helper()
	if os.Getenv("SEEDCAST_REQUIRE_PEERS") != "" {
		t.Fatalf("%s (SEEDCAST_REQUIRE_PEERS is set)", why)
	}
	t.Skip(why)
}
