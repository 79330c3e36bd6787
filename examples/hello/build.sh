#!/bin/sh
# Builds the hello product from message.txt and the pinned banner input. It writes only to
# $VOUCH_OUT and takes its only time from SOURCE_DATE_EPOCH, so two builds give the same bytes.
set -eu
mkdir -p "$VOUCH_OUT/bin" "$VOUCH_OUT/share"
{
  cat "$VOUCH_INPUTS/banner.txt"
  cat message.txt
  date -u -d "@$SOURCE_DATE_EPOCH" '+built from the source of %Y-%m-%dT%H:%M:%SZ'
} > "$VOUCH_OUT/share/hello.txt"
# A small binary file: a magic number, a version byte and the gzip of the message (-n: no name
# or time in the gzip header).
{ printf '\177VCH\001'; gzip -n -9 -c message.txt; } > "$VOUCH_OUT/share/hello.bin"
cat > "$VOUCH_OUT/bin/hello" <<'SCRIPT'
#!/bin/sh
exec cat "$(dirname "$0")/../share/hello.txt"
SCRIPT
chmod 755 "$VOUCH_OUT/bin/hello"
