#!/usr/bin/env bash
# Target 7, UDP half: BEP 15 announce of Seedcast's embedded UDP tracker vs opentracker (Debian
# build, allow-list of the same hashes), both driven by bench/udpload (1,000 torrents, 50,000 peers
# with random peer ids, compact replies, 4 sockets x 64 outstanding announces), interleaved.
# Seedcast's 1,000 torrents are real: it ingests a 1,000-item show from the local origin first, as
# bench/tracker-announce.sh does. The bench config sets tracker.announces_per_ip_per_minute: -1
# (every announce comes from 127.0.0.1; the gateway exempts its own addresses anyway).
# Before the timed runs each tracker gets all 50,000 peers once (udpload -fill): memory per peer is
# that fill's RSS growth / 50,000. Prints announces per second, the ratio Seedcast / opentracker
# (target >= 0.5) and the RSS figures.
source "$(dirname "$0")/lib.sh"
need opentracker opentracker
TORRENTS=${TORRENTS:-1000}
PEERS=${PEERS:-50000}
RUNS=${RUNS:-3}
DURATION=${DURATION:-10s}
SOCKETS=${SOCKETS:-4}
INFLIGHT=${INFLIGHT:-64}
SC_HTTP=28620 SC_PEER=26920 SC_UDP=28621 OT_PORT=28630
build_seedcast
build_origin
(cd "$ROOT" && go build -o "$WORK/udpload" ./bench/udpload)
machine
start_origin -items "$TORRENTS" -item-size 1024
g=$WORK/gw
rm -rf "$g"
write_config "$g" "$SC_HTTP" "$SC_PEER" "$ORIGIN/feed.xml"
sed -i "s|^  udp_listen: \"off\"\$|  udp_listen: 127.0.0.1:$SC_UDP\n  announces_per_ip_per_minute: -1|" "$g/config.yaml"
grep -q "udp_listen: 127.0.0.1:$SC_UDP" "$g/config.yaml" || { echo "bench: config edit failed" >&2; exit 1; }
# gctrace puts the live heap after each GC in the log: RSS alone hides the peer store behind the
# Go heap's swings (see the HTTP figures).
GODEBUG=gctrace=1 start_gateway "$g"
# Fail at once if the gateway exits (a port taken by someone else) instead of polling for 30 min.
wait_items "http://127.0.0.1:$SC_HTTP/feeds/show.rss" "$TORRENTS" 1800 &
WAIT_PID=$!
while kill -0 "$WAIT_PID" 2>/dev/null; do
	kill -0 "$GATEWAY_PID" 2>/dev/null || { echo "bench: gateway exited:" >&2; tail -5 "$g/log" >&2; exit 1; }
	sleep 0.2
done
wait "$WAIT_PID"
curl -sf "http://127.0.0.1:$SC_HTTP/feeds/show.rss" | grep -o 'btih:[0-9a-f]\{40\}' | cut -c6- | sort -u >"$WORK/hashes.txt"
echo "torrents: $(wc -l <"$WORK/hashes.txt")"

# Debian's opentracker is built allow-list only: the list path is relative to -d.
mkdir -p "$WORK/ot"
cp "$WORK/hashes.txt" "$WORK/ot/whitelist"
opentracker -i 127.0.0.1 -p "$OT_PORT" -P "$OT_PORT" -d "$WORK/ot" -w whitelist >"$WORK/ot.log" 2>&1 &
OT_PID=$!
PIDS+=($OT_PID)
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$OT_PORT/stats" && break; sleep 0.05; done

SEED=$RANDOM$RANDOM # one swarm of random peer ids, the same in every run of this script
load() { "$WORK/udpload" -hashes "$WORK/hashes.txt" -peers "$PEERS" -seed "$SEED" -sockets "$SOCKETS" -inflight "$INFLIGHT" "$@"; }
rss() { awk '/VmRSS/ { print $2 }' "/proc/$1/status"; }

# live_heap FROM [min|last]: the live heap (MB) after GCs logged from line FROM of the gateway log.
live_heap() { tail -n +"$1" "$g/log" | sed -n 's/^gc [0-9]* @.*, [0-9]*->[0-9]*->\([0-9]*\) MB,.*/\1/p' |
	awk -v m="$2" 'NR == 1 || (m == "min" && $1 < v) || m == "last" { v = $1 } END { print v + 0 }'; }
SC_HEAP0=$(live_heap 1 last)
OT_RSS0=$(rss "$OT_PID"); SC_RSS0=$(rss "$GATEWAY_PID")
load -addr "127.0.0.1:$OT_PORT" -fill | sed 's/^/  opentracker fill: /'
load -addr "127.0.0.1:$SC_UDP" -fill | sed 's/^/  seedcast fill: /'
OT_RSS1=$(rss "$OT_PID"); SC_RSS1=$(rss "$GATEWAY_PID")
RUNS_FROM=$(($(wc -l <"$g/log") + 1))

: >"$WORK/opentracker.txt"; : >"$WORK/seedcast.txt"
# rcvbuf_errors: datagrams the kernel dropped for a full socket buffer (whole machine).
rcvbuf_errors() { awk '/^Udp:/ { if (!h) { for (i = 1; i <= NF; i++) if ($i == "RcvbufErrors") c = i; h = 1 } else print $c }' /proc/net/snmp; }
run_load() {
	local e0; e0=$(rcvbuf_errors)
	load -addr "$1" -duration "$DURATION" >"$WORK/udpload.out" || { echo "bench: $2 failed:" >&2; cat "$WORK/udpload.out" >&2; exit 1; }
	sed -n 's/.*: \([0-9.]*\) announces\/s$/\1/p' "$WORK/udpload.out" >>"$WORK/$2.txt"
	sed "s/^/  $2 /" "$WORK/udpload.out"
	echo "  $2 kernel UDP RcvbufErrors +$(($(rcvbuf_errors) - e0))"
}
for i in $(seq "$RUNS"); do
	run_load "127.0.0.1:$OT_PORT" opentracker
	run_load "127.0.0.1:$SC_UDP" seedcast
done
echo "UDP announces per second (higher is better)"
stats "$WORK/opentracker.txt" "$WORK/seedcast.txt"
OT_RSS2=$(rss "$OT_PID"); SC_RSS2=$(rss "$GATEWAY_PID")
echo "RSS kB before fill -> after fill ($PEERS peers) -> after runs: opentracker $OT_RSS0 -> $OT_RSS1 -> $OT_RSS2, seedcast $SC_RSS0 -> $SC_RSS1 -> $SC_RSS2"
awk -v a="$OT_RSS0" -v b="$OT_RSS1" -v c="$SC_RSS0" -v d="$SC_RSS1" -v n="$PEERS" 'BEGIN {
	printf "bytes per peer (fill RSS growth / %d): opentracker %.0f, seedcast %.0f\n", n, (b - a) * 1024 / n, (d - c) * 1024 / n }'
SC_HEAP1=$(live_heap "$RUNS_FROM" min)
echo "seedcast live heap after GC: $SC_HEAP0 MB before fill (last GC), $SC_HEAP1 MB during runs (smallest, $(tail -n +"$RUNS_FROM" "$g/log" | grep -c '^gc ') GCs)"
awk -v a="$SC_HEAP0" -v b="$SC_HEAP1" -v n="$PEERS" 'BEGIN { printf "seedcast bytes per peer (live heap growth / %d): %.0f\n", n, (b - a) * 1048576 / n }'
# The gateway's heap moves by megabytes for other reasons, so measure the peer store in-process too.
load -mem "$TORRENTS" | sed -n 's/^tracker live heap/in-process tracker live heap/p'
