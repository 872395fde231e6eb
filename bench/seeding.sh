#!/usr/bin/env bash
# Target 3: one libtorrent leecher (bench/lt.py, TCP only, no trackers or web seeds) downloading a
# 512 MiB episode over loopback from (a) Seedcast's seeder, (b) a libtorrent-rasterbar seeder and
# (c) transmission-daemon, all seeding the same .torrent and file, runs interleaved. TCP only:
# uTP over loopback is pathological (see /work/shared/GUIDE.md). Prints the download time, the
# ratio of medians (peer / Seedcast, >= 1.0 is the target), the time to the first piece byte and
# each seeder's CPU per MiB sent.
#
# Every leech dials from its own loopback address (127.0.R.P, lt.py's SOURCE_IP), the same for all
# three seeders: transmission-daemon remembers peers by IP address only, and once one leecher from
# an address has finished it drops every later connection from that address while it is a seed
# itself (its handshake log says "another seed tried to reconnect to us!"). With every leecher on
# 127.0.0.1 the second transmission run never got a byte and hung; it was never about re-dialling.
#
# A leech that fails (LT_TIMEOUT, default 300 s, or different bytes) is recorded as a failure for
# that seeder and the runs go on; the script prints the failures and exits 1 at the end.
source "$(dirname "$0")/lib.sh"
need transmission-daemon transmission-daemon
need transmission-remote transmission-cli
/usr/bin/python3 -c 'import libtorrent' || { echo "bench: apt-get install python3-libtorrent" >&2; exit 1; }
SIZE=${SIZE:-536870912}
RUNS=${RUNS:-3}
build_seedcast
build_origin
machine
seed_both 18520 16920 18521
# PEERS picks who is measured: seedcast, libtorrent, transmission, and seedcast_off, a second
# gateway with seedbox.initial_seeding off making the same torrent (issue 17: initial seeding
# must not cost a lone leecher time).
PEERS=${PEERS:-seedcast libtorrent transmission}
[[ " $PEERS " == *" seedcast_off "* ]] && start_gateway_off 18530 16930 18520

# transmission-daemon (lib.sh's start_transmission), no speed limit. Left at its defaults on
# purpose, each checked not to be the bottleneck: cache-size-mb 4 (64 gave the same times; the file
# is in the page cache), upload-slots-per-torrent 14 and the peer limits (one peer here),
# prefetch-enabled, and "encryption": 1 ("prefer"): lt.py offers RC4 or plaintext and transmission
# then picks RC4, the only seeder here that does; that costs it CPU (encryption 0 halved its CPU
# per MiB in one test) but not time.
# What does bound it is transmission 3.00 itself, not a setting: it serves a peer's requests in
# step with its 500 ms bandwidth pulse and takes at most 512 outstanding requests (the reqq it
# advertises; libtorrent adopts it as its queue limit, so lt's max_out_request_queue at 250 or 2000
# changed nothing), so a single leecher gets at most 512 x 16 KiB per 0.5 s, about 16.8 MB/s (its
# debug log, TR_DEBUG_FD=2: ~511 requests in, ~2,790 writes of 3,000 bytes out, in one burst every
# 0.5 s, the new requests waiting for the next pulse). It also unchokes a new peer only at its next
# rechoke, every 10 s, so its first byte comes 0-10 s after the connection (the first-byte line).
start_transmission 18522 18523
for _ in $(seq 600); do grep -q seeding "$WORK/ltseed.out" && break; sleep 0.2; done
grep -q seeding "$WORK/ltseed.out" || { echo "bench: libtorrent never verified the file" >&2; exit 1; }

cpu() { awk '{ print $14 + $15 }' "/proc/$1/stat"; } # utime + stime, clock ticks
hz=$(getconf CLK_TCK)
for n in seedcast seedcast_off libtorrent transmission; do
	for k in "" _first _cpu _fail; do : >"$WORK/$n$k.txt"; done
done
export LT_TIMEOUT=${LT_TIMEOUT:-300}
failures=0
leech() { # NAME PID PORT SOURCE_IP
	rm -rf "$WORK/leech"; mkdir -p "$WORK/leech"
	sync # the previous run's download must not be written back during this one
	local c0 c1 t
	c0=$(cpu "$2")
	# timeout(1) only in case lt.py itself cannot stop: lt.py gives up after LT_TIMEOUT.
	if ! t=$(timeout $((LT_TIMEOUT + 60)) /usr/bin/python3 "$ROOT/bench/lt.py" leech "$WORK/ep.torrent" "$WORK/leech" "127.0.0.1:$3" "$4" 2>"$WORK/leech.err"); then
		echo "bench: $1 run from $4 failed: $(tr '\n' ' ' <"$WORK/leech.err")" >&2
		echo "failed from $4: $(tr '\n' ' ' <"$WORK/leech.err")" >>"$WORK/$1_fail.txt"
		failures=$((failures + 1))
		return 0
	fi
	c1=$(cpu "$2")
	if ! cmp -s "$media" "$WORK/leech/$(basename "$media")"; then
		echo "bench: $1 delivered different bytes (run from $4)" >&2
		echo "different bytes from $4" >>"$WORK/$1_fail.txt"
		failures=$((failures + 1))
		return 0
	fi
	echo "$t" >>"$WORK/$1.txt"
	sed -n 's/^first_byte //p' "$WORK/leech.err" >>"$WORK/$1_first.txt"
	# CPU milliseconds per MiB sent
	awk -v a="$c0" -v b="$c1" -v hz="$hz" -v s="$SIZE" 'BEGIN { printf "%.3f\n", (b - a) * 1000 / hz / (s / 1048576) }' >>"$WORK/$1_cpu.txt"
}
# Run R's leech from peer number P dials from 127.0.R.P (R <= 250).
for i in $(seq "$RUNS"); do
	[[ " $PEERS " == *" seedcast "* ]] && leech seedcast "$GATEWAY_PID" 16920 "127.0.$i.1"
	[[ " $PEERS " == *" libtorrent "* ]] && leech libtorrent "$LT_PID" 18521 "127.0.$i.2"
	[[ " $PEERS " == *" transmission "* ]] && leech transmission "$TR_PID" 18522 "127.0.$i.3"
	[[ " $PEERS " == *" seedcast_off "* ]] && leech seedcast_off "$OFF_PID" 16930 "127.0.$i.4"
done
rm -rf "$WORK/leech"
ok=()
for n in $PEERS; do [ -s "$WORK/$n.txt" ] && ok+=("$n"); done
if [ "${#ok[@]}" -gt 0 ]; then
	echo "seconds to download $SIZE bytes, one libtorrent leecher over TCP (lower is better)"
	stats $(for n in "${ok[@]}"; do echo "$WORK/$n.txt"; done)
	echo "seconds until the first piece byte arrived (connection + unchoke; part of the above)"
	stats $(for n in "${ok[@]}"; do echo "$WORK/${n}_first.txt"; done)
	echo "seeder CPU ms per MiB sent (lower is better)"
	stats $(for n in "${ok[@]}"; do echo "$WORK/${n}_cpu.txt"; done)
fi
for n in $PEERS; do
	[ -s "$WORK/${n}_fail.txt" ] && { echo "FAILED $n: $(wc -l <"$WORK/${n}_fail.txt") of $RUNS runs"; sed 's/^/  /' "$WORK/${n}_fail.txt"; }
done
echo "load at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
[ "$failures" = 0 ]
