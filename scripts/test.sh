#!/usr/bin/env bash
# The whole test suite, from a fresh Debian machine: installs the real peers
# the tests drive (aria2, libtorrent, opentracker, ...), the Go modules, then
# vets and tests everything. CI runs exactly this (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."

pkgs=()
command -v aria2c >/dev/null || pkgs+=(aria2)
/usr/bin/python3 -c 'import libtorrent' 2>/dev/null || pkgs+=(python3-libtorrent)
/usr/bin/python3 -c 'import feedparser' 2>/dev/null || pkgs+=(python3-feedparser)
command -v opentracker >/dev/null || pkgs+=(opentracker)
command -v mktorrent >/dev/null || pkgs+=(mktorrent)
command -v prometheus >/dev/null || pkgs+=(prometheus)
command -v transmission-create >/dev/null || pkgs+=(transmission-cli)
command -v qbittorrent-nox >/dev/null || pkgs+=(qbittorrent-nox)
command -v chromium >/dev/null || pkgs+=(chromium)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null || pkgs+=(postgresql)
if [ ${#pkgs[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo=sudo
  echo "installing Debian packages: ${pkgs[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
fi

go mod download
test -z "$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { echo "gofmt needed:"; gofmt -l .; exit 1; }
go vet ./...
# A missing peer client fails the run instead of skipping its test.
SEEDCAST_REQUIRE_PEERS=1 go test -count=1 -timeout 20m ./...
# The race detector over every package but the binary-driving e2e, the benches and the SHA-1
# kernels (single-goroutine arithmetic, 27 s under -race): the gateway is concurrent throughout
# (publisher renders, tracker, seeder, scheduler).
go test -race -count=1 $(go list ./... | grep -v -e '/e2e$' -e '/bench' -e '/piecehash$')
# piecehash's crypto/sha1 fallback (other CPUs and arches), and HashFile on top of it.
go test -count=1 -tags purego ./seedbox/piecehash/
go test -count=1 -tags purego -run 'HashFile' ./seedbox/
# Benchmarks once each, as a smoke test that they still run; CI asserts no timing.
go test -count=1 -run '^$' -bench . -benchtime 1x ./seedbox/... ./bench/
./scripts/fuzz.sh # every Go fuzz target for FUZZTIME (default 10s) each
