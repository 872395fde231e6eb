#!/usr/bin/python3
"""Make a torrent of one file with libtorrent-rasterbar, the reference for our hybrid torrents.

usage: lt_create.py FILE PIECE_LENGTH OUT

libtorrent 2.0's create_torrent makes hybrid v1+v2 torrents by default. The torrent is written
bencoded to OUT; the test compares its info dictionary and piece layers with ours.
"""
import os
import sys

import libtorrent as lt


def main():
    path, piece_length, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    fs = lt.file_storage()
    lt.add_files(fs, path)
    ct = lt.create_torrent(fs, piece_length)
    lt.set_piece_hashes(ct, os.path.dirname(os.path.abspath(path)))
    with open(out, "wb") as f:
        f.write(lt.bencode(ct.generate()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
