#!/usr/bin/env bash
# The hub's trust feed on the national world (called by
# bench-trust-scale.sh with WORLD and BIN set; WORK as $1). A hub on
# loopback publishes the full set and nine daily deltas; a fresh terminal
# syncs it all; the tenth delta is published and the terminal, one day
# behind, syncs again; then 50 terminals download the whole set at once
# while the hub's memory is sampled. Prints "figure<TAB>value<TAB>unit".
set -euo pipefail
WORK=$1
SB="$BIN/scalebench" RCHUB="$BIN/rchub"
HUBDB="$WORK/hub.db"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
URL="http://127.0.0.1:$port"
"$RCHUB" trust anchors --db "$HUBDB" "$WORLD/anchors.pem" >&2
"$SB" bundle -world "$WORLD" -db "$WORK/full.pem" -day 0 -upto 9
"$RCHUB" trust publish --db "$HUBDB" "$WORK/full.pem" >/dev/null
rm -f "$WORK/full.pem"
token() { "$RCHUB" token create --db "$HUBDB" 2>/dev/null | tail -1; }
T0=$(token)
: >"$WORK/tokens"; for i in $(seq 1 50); do token >>"$WORK/tokens"; done
hub() { "$RCHUB" serve --listen "127.0.0.1:$port" --db "$HUBDB" >"$WORK/hub.log" 2>&1 & HUBPID=$!
  for _ in $(seq 1 100); do curl -sf "$URL/v1/health" >/dev/null && return; sleep 0.1; done; echo "hub did not start" >&2; cat "$WORK/hub.log" >&2; exit 1; }
hub
"$SB" hub-sync -world "$WORLD" -db "$WORK/fresh/t.db" -hub "$URL" -token "$T0" -prefix fresh
kill "$HUBPID"; wait "$HUBPID" 2>/dev/null || true
"$SB" bundle -world "$WORLD" -db "$WORK/d10.pem" -day 10
"$RCHUB" trust publish --db "$HUBDB" "$WORK/d10.pem" >/dev/null
hub
"$SB" hub-sync -world "$WORLD" -db "$WORK/fresh/t.db" -hub "$URL" -prefix behind -check
mkdir -p "$WORK/many"
"$SB" hub-many -world "$WORLD" -db "$WORK/many" -hub "$URL" -tokens "$WORK/tokens" -pid "$HUBPID" -n 50
kill "$HUBPID"; wait "$HUBPID" 2>/dev/null || true
