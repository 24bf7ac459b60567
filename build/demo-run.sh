#!/usr/bin/env bash
# The terminal demo: build the demo world for the current time, import it
# into a fresh terminal database, verify every sample code and print the
# verdicts next to what the world promises. Exits non-zero on a mismatch.
set -euo pipefail
rcctl=${RCCTL:-build/bin/rcctl}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
db="$work/terminal.db"
"$rcctl" demo --out "$work/world" --at now >/dev/null
echo "== trust anchors (an administrator's explicit action)"
"$rcctl" --db "$db" trust anchor add "$work/world/anchors.pem"
echo "== trust bundle"
"$rcctl" --db "$db" trust import "$work/world/bundle.pem" | tail -n 1
echo "== verifying every sample code"
fail=0
python_free_json() { sed -n "s/.*\"$1\": *\"\\([^\"]*\\)\".*/\\1/p"; }
for f in "$work"/world/codes/*.txt; do
  name=$(basename "$f" .txt)
  want=$(grep -A4 "\"name\": \"$name\"" "$work/world/manifest.json" | python_free_json verdict)
  set +e
  out=$("$rcctl" --db "$db" verify --json - < "$f")
  code=$?
  set -e
  got=$(printf '%s' "$out" | sed -n 's/.*"verdict":"\([A-Z]*\)".*/\1/p')
  reasons=$(printf '%s' "$out" | sed -n 's/.*"reasons":\[\([^]]*\)\].*/\1/p' | tr -d '"')
  mark="ok"
  [[ "$got" == "$want" ]] || { mark="MISMATCH (want $want)"; fail=1; }
  printf '%-30s %-8s exit %d  %-40s %s\n' "$name" "$got" "$code" "${reasons:--}" "$mark"
done
echo "== one code in full, as an inspector reads it"
"$rcctl" --db "$db" verify - < "$work/world/codes/valid-vehicle.txt" || true
exit $fail
