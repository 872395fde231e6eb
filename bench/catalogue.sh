#!/usr/bin/env bash
# Target 4, back catalogue: N small torrents (64 KiB–1 MiB files) seeded by one seedbox.Seeder.
# For each N: a fresh seeder publishing them (AddTrusted), then a restart on the same state
# directory (Add), then a lost state directory (Add verifies every piece, reading every file as
# peers eventually would), each in its own process; prints time to all seeding, bytes hashed,
# VmRSS (anon and file-backed), VmHWM, memory per torrent and open fds.
# Disk: ~0.55 GB per 1,000 files.
#   bench/catalogue.sh [N...]        default: 1000 5000 10000
source "$(dirname "$0")/lib.sh"

counts=("$@")
[ ${#counts[@]} -gt 0 ] || counts=(1000 5000 10000)
(cd "$ROOT" && go build -o "$WORK/catalogue" ./bench/catalogue)
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
max=0
for n in "${counts[@]}"; do [ "$n" -gt "$max" ] && max=$n; done
# One set of files for all counts: the first N are the same files whatever N is.
"$WORK/catalogue" -dir "$WORK/cat" -n "$max" make
for n in "${counts[@]}"; do
	rm -rf "$WORK/cat/state" # each N starts with an empty completion DB
	"$WORK/catalogue" -dir "$WORK/cat" -n "$n" -trusted seed 2>/dev/null
	"$WORK/catalogue" -dir "$WORK/cat" -n "$n" seed 2>/dev/null
	rm -rf "$WORK/cat/state" # lost state: Add verifies every piece, so every file is opened
	"$WORK/catalogue" -dir "$WORK/cat" -n "$n" seed 2>/dev/null
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
[ -n "${BENCH_DIR:-}" ] || rm -rf "$WORK"
