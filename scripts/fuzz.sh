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
count=0
while IFS=: read -r file _ line; do
  name="$(sed -E 's/^func (Fuzz[A-Za-z0-9_]*)\(.*/\1/' <<<"$line")"
  pkg="./$(dirname "$file")"
  count=$((count + 1))
  echo "fuzz: $pkg $name for $fuzztime"
  if ! go test -run='^$' -fuzz="^${name}\$" -fuzztime="$fuzztime" "$pkg"; then
    failed+=("$pkg $name")
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
echo "fuzz: $count targets passed"
