#!/usr/bin/env bash
# Target 5, polling at scale: 1,000 feeds on one local origin polled by the real worker, with the
# default limits (MaxPolls 16, MaxPollsPerHost 4) and with the per-host limit raised. Prints per
# round (initial 200s, all 304, 1% changed) the wall time, the origin's 200/304 counts and the
# peak number of requests it saw at once; fails if a 304 round re-fetches a body.
#   bench/polling.sh [-feeds N] [-delay 20ms] [-limits 16/4,16/16,64/64] [-changed PCT]
source "$(dirname "$0")/lib.sh"

(cd "$ROOT" && go build -o "$WORK/polling" ./bench/polling)
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
"$WORK/polling" "$@"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
[ -n "${BENCH_DIR:-}" ] || rm -rf "$WORK"
