#!/bin/sh
# Builds the demo rule database inside the conveyer's sandbox: compile the rules source in src/
# (the build's source folder is this folder, read-only at $VOUCH_SRC) with the Vouch command
# line, then pack the database into the one bundle file the repository publishes. The recipe
# passes the Node binary, Vouch's bin/vouch.js (both bound read-only by the recipe's tools) and
# the database version. The only time used is SOURCE_DATE_EPOCH, so two builds give the same
# bytes.
set -eu
if [ "$#" -ne 3 ]; then
  echo "usage: build.sh NODE VOUCH_JS VERSION" >&2
  exit 2
fi
node=$1
vouch=$2
version=$3
"$node" "$vouch" rules compile "$VOUCH_SRC/src" --out "$HOME/db" --version "$version"
"$node" "$vouch" rules pack "$HOME/db" --out "$VOUCH_OUT/rules.vdb"
