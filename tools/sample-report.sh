#!/usr/bin/env bash
# Regenerates docs/sample-report.{html,txt,json}: the report of the generated day capture
# (2026-11-23, an error storm at 14:00) plus three fixtures (failed and good zone transfers,
# EDNS errors), as the ISO would receive it. Needs a build (make) and the generator.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-build}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$top/$build/tests/gen" day "$tmp/day.pcap" 2>/dev/null
db="$tmp/dnsvigil.db"
"$top/dnsvigil" analyze -q --no-progress --db "$db" "$tmp/day.pcap" >/dev/null
for f in xfr tcp_axfr edns_fail; do
    "$top/dnsvigil" analyze -q --no-progress -c "$top/tests/pcap/rules.ini" --db "$db" \
        "$top/tests/pcap/$f.pcap" >/dev/null
done
args=(--db "$db" --from 2026-11-23T00:00:00Z --to 2026-11-24T00:00:00Z --now 2026-11-24T06:00:00Z)
for fmt in html txt json; do
    f=$fmt
    [ "$fmt" = txt ] && f=text
    # The database path is a temporary one: show a stable name instead.
    "$top/dnsvigil" report "${args[@]}" --format "$f" | sed "s|$db|dnsvigil.db|g" \
        >"$top/docs/sample-report.$fmt"
done
echo "docs/sample-report.{html,txt,json} written"
