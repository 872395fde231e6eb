#!/usr/bin/env bash
# Target 2: `seedcast torrent create` (hybrid, the default, and -format v1) vs `mktorrent -t 2`
# and `transmission-create` on the same 1 GiB file, page cache warm, 1 MiB pieces, runs
# interleaved (the machine is shared). mktorrent and transmission-create make v1 torrents only:
# the hybrid run also hashes every 16 KiB block with SHA-256.
# Prints the ratio of medians: (peer time) / (seedcast time), > 1 means seedcast is faster.
# SIZE (bytes) and RUNS override the defaults.
source "$(dirname "$0")/lib.sh"
need mktorrent mktorrent
need transmission-create transmission-cli
SIZE=${SIZE:-1073741824}
RUNS=${RUNS:-7}
build_seedcast
machine
f=$WORK/episode.bin
make_file "$f" "$SIZE"
cd "$WORK"
: >sc.txt; : >sc_v1.txt; : >mk.txt; : >tc.txt
for i in $(seq "$RUNS"); do
	rm -f sc.torrent sc_v1.torrent mk.torrent tc.torrent
	timed ./seedcast torrent create "$f" -o sc.torrent -piece-length 1M >>sc.txt
	timed ./seedcast torrent create "$f" -o sc_v1.torrent -piece-length 1M -format v1 >>sc_v1.txt
	timed mktorrent -t 2 -l 20 -o mk.torrent "$f" >>mk.txt
	timed transmission-create -s 1024 -o tc.torrent "$f" >>tc.txt
done
python3 - <<'PY'
import subprocess
# identical piece hashes: compare the info dicts' pieces fields via bencode-free slicing
def pieces(p):
    b = open(p, 'rb').read()
    i = b.index(b'6:pieces') + 8
    j = b.index(b':', i)
    n = int(b[i:j])
    return b[j+1:j+1+n]
a, m, t = pieces('sc.torrent'), pieces('mk.torrent'), pieces('tc.torrent')
print("pieces identical to mktorrent:", a == m, " to transmission-create:", a == t)
PY
echo "seconds per 1 GiB (lower is better)"
stats sc.txt sc_v1.txt mk.txt tc.txt
