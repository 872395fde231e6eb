#!/usr/bin/env bash
# Runs every Go fuzz target in the repository for FUZZTIME each (default 10s),
# one after another, and fails if any fails. Targets are found by grep, so new
# ones are picked up. A crasher is written by Go to the package's
# testdata/fuzz/FuzzX/, where plain `go test` replays it from then on: commit it
# with the fix.
set -euo pipefail
cd "$(dirname "$0")/.."

fuzztime="${FUZZTIME:-10s}"
failed=()
flaked=()
log="$(mktemp)"
trap 'rm -f "$log"' EXIT

fuzz_one() { # PKG NAME: run one target, output to the terminal and $log
  go test -run='^$' -fuzz="^${2}\$" -fuzztime="$fuzztime" "$1" 2>&1 | tee "$log"
  return "${PIPESTATUS[0]}"
}

# deadline_race: the last run failed only with the coordinator's own deadline.
deadline_race() {
  grep -q 'context deadline exceeded' "$log" && ! grep -q 'Failing input written' "$log" &&
    ! grep -qE 'panic:|_test\.go:[0-9]+:' "$log"
}
count=0
while IFS=: read -r file _ line; do
  name="$(sed -E 's/^func (Fuzz[A-Za-z0-9_]*)\(.*/\1/' <<<"$line")"
  pkg="./$(dirname "$file")"
  count=$((count + 1))
  echo "fuzz: $pkg $name for $fuzztime"
  if ! fuzz_one "$pkg" "$name"; then
    if deadline_race; then
      # Go 1.26's fuzz coordinator can report its own -fuzztime deadline as a
      # failure when a loaded machine starves a worker (golang/go#75804, fixed
      # in Go 1.27). A real finding always writes a failing input; this wrote
      # none, so run the target once more before calling it a failure.
      echo "fuzz: $pkg $name: fuzztime deadline race, no failing input written; retrying once"
      if ! fuzz_one "$pkg" "$name"; then
        if deadline_race; then
          echo "fuzz: WARNING $pkg $name hit the deadline race twice with no failing input" >&2
          flaked+=("$pkg $name")
        else
          failed+=("$pkg $name")
        fi
      fi
    else
      failed+=("$pkg $name")
    fi
  fi
done < <(grep -rn --include='*_test.go' -E '^func Fuzz[A-Za-z0-9_]*\(\w+ \*testing\.F\)' . | sed 's|^\./||' | sort)

if [ "$count" -eq 0 ]; then
  echo "fuzz: no targets found" >&2
  exit 1
fi
if [ ${#failed[@]} -gt 0 ]; then
  printf 'fuzz: FAILED %s\n' "${failed[@]}" >&2
  exit 1
fi
echo "fuzz: $count targets passed${flaked:+ (${#flaked[@]} after the deadline race twice: ${flaked[*]})}"
