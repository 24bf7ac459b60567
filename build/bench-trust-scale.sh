#!/usr/bin/env bash
# Trust data at national scale (issue 8): generates (once, cached) the
# national world — 32 provinces, ~300 issuers, 3,000 signers, 10 M status
# entries and ten daily 1 % deltas — and measures the terminal's trust store
# and the hub's feed on it, one process per step so each peak RSS is the
# step's own. Prints the README's table. ENTRIES=N for a smaller world.
set -euo pipefail
cd "$(dirname "$0")/.."
ENTRIES=${ENTRIES:-10000000}
CACHE=${CACHE:-${TMPDIR:-/tmp}}
WORLD="$CACHE/roadcheck-national-1-$ENTRIES"
BIN=$(mktemp -d)
WORK=$(mktemp -d)
trap 'rm -rf "$BIN" "$WORK"' EXIT
bash build/deps.sh image # rcctl reads images (libjpeg-turbo, libpng)
go build -o "$BIN/" ./app/rcctl ./app/rchub ./internal/cli/internal/scalebench
SB="$BIN/scalebench"
declare -A F
run() { # run STEP ARGS...: collect "figure value unit" lines into F
  local out
  out=$("$SB" "$@")
  while IFS=$'\t' read -r k v u; do F[$k]="$v"; echo "  $k = $v $u" >&2; done <<<"$out"
}
echo "world: $WORLD" >&2
run gen -world "$WORLD" -entries "$ENTRIES" -deltas 10
DB="$WORK/terminal.db"
echo "full import" >&2
run import -world "$WORLD" -db "$DB"
full_t=${F[full_import_time]} full_rss=${F[full_import_peak_rss]}
dt=() drss=()
for d in 1 2 3 4 5 6 7 8 9 10; do
  run delta -world "$WORLD" -db "$DB" -day "$d"
  dt+=("${F[delta_import_time]}") drss+=("${F[delta_import_peak_rss]}")
done
maxof() { printf '%s\n' "$@" | sort -g | tail -1; }
medof() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
run disk -db "$DB"
run lookup -world "$WORLD" -db "$DB" -n 500000
# rcctl verify as a process, start to exit, on a licence revoked in the newest delta.
"$SB" code -world "$WORLD" >"$WORK/code"
AT=$(head -1 "$WORK/code"); CODE=$(tail -1 "$WORK/code")
set +e
"$BIN/rcctl" --db "$DB" verify --at "$AT" --json "$CODE" >"$WORK/verdict.json"; rc=$?
set -e
[[ $rc -eq 2 ]] && grep -q LICENCE_REVOKED "$WORK/verdict.json" || { echo "verify did not find the revocation (exit $rc): $(cat "$WORK/verdict.json")" >&2; exit 1; }
vt=()
for i in $(seq 1 21); do
  s=$(date +%s%N); "$BIN/rcctl" --db "$DB" verify --at "$AT" "$CODE" >/dev/null || true; e=$(date +%s%N)
  vt+=("$(( (e - s) / 1000 ))")
done
verify_ms=$(awk -v us="$(medof "${vt[@]}")" 'BEGIN{printf "%.1f", us/1000}')
run appends -world "$WORLD" -db "$DB"
if [[ -x build/bench-trust-feed.sh ]]; then
  WORLD="$WORLD" BIN="$BIN" bash build/bench-trust-feed.sh "$WORK" >"$WORK/feed.tsv"
  while IFS=$'\t' read -r k v u; do F[$k]="$v"; done <"$WORK/feed.tsv"
fi
g() { echo "${F[$1]:-n/a}"; }
cat <<TABLE

Machine: $(nproc) cores, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'); world of $ENTRIES entries.

| figure | measured | goal |
|---|---|---|
| trust files on disk, after 10 deltas (merged) | $(g trust_files) MB | ≤ 200 MB |
| full import: time / peak RSS | ${full_t} s / ${full_rss} MiB | ≤ 30 s / ≤ 400 MB |
| 1 % delta applied: time (median, max of 10) / peak RSS (max) | $(medof "${dt[@]}") s, $(maxof "${dt[@]}") s / $(maxof "${drss[@]}") MiB | ≤ 0.5 s / ≤ 150 MB |
| status lookup p99 warm / first after open | $(g lookup_p99_warm) µs / $(g lookup_first_after_open) µs | ≤ 3 µs / ≤ 100 µs |
| \`rcctl verify\` process, start to exit (median of 21) | ${verify_ms} ms | ≤ 30 ms |
| record append p50: alone / during a full import (max) | $(g append_p50_alone) ms / $(g append_p50_during_full_import) ms ($(g append_max_during_full_import) ms) | ≤ 2 ms, unchanged |
| fresh terminal receives the national set from a loopback hub | $(g fresh_sync_time) s | ≤ 60 s, complete |
| terminal one day behind (1 % delta): time / transferred | $(g behind_sync_time) s / $(g behind_sync_mb) MB | ≤ 5 s / ≤ 5 MB |
| hub memory above idle, 50 fresh terminals downloading at once | $(g hub_50_rss_mb) MB | ≤ 100 MB |
TABLE
