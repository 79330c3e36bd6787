#!/bin/sh
# A deliberately non-reproducible build, for the rebuild tests: share/stamp.txt embeds the
# wall-clock time in nanoseconds instead of SOURCE_DATE_EPOCH, so no two builds agree on it (nor
# on the archive holding it). share/stable.txt is reproducible and must never be reported.
set -eu
mkdir -p "$VOUCH_OUT/share"
cat message.txt > "$VOUCH_OUT/share/stable.txt"
date +%s%N > "$VOUCH_OUT/share/stamp.txt"
