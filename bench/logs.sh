#!/usr/bin/env bash
# Part of `make bench`: server-log parsing throughput. Generates (once) a BIND query log of
# LOG_LINES lines (default 2,000,000; query lines with a transfer/refresh line now and then)
# and an Unbound log-queries/log-replies file of the same size, and times, on each, `wc -l`
# (the floor: reading the lines) and `dnsvigil analyze --json` (parsing, events, rules).
# Appends a Markdown section to $1.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
out=$1
n=${LOG_LINES:-2000000}
dir="$top/bench/out"
bind="$dir/bind-query-$n.log"
ub="$dir/unbound-$n.log"
if [ ! -s "$bind" ]; then
    awk -v n="$n" 'BEGIN {
        for (i = 0; i < n; i++) {
            s = i % 86400
            t = sprintf("23-Nov-2026 %02d:%02d:%02d.%03d", s / 3600, (s / 60) % 60, s % 60, i % 1000)
            if (i % 5000 == 0)
                printf "%s general: info: zone z%d.test/IN: refresh: failure trying primary 192.0.2.1#53 (source 0.0.0.0#0): timed out\n", t, i % 50
            else
                printf "%s queries: info: client @0x7f5e666ea098 10.1.%d.%d#%d (h%d.example.com): query: h%d.example.com IN A +E(0)K (10.0.0.53)\n", t, (i / 250) % 250, i % 250, 1024 + i % 60000, i % 3000, i % 3000
        } }' >"$bind"
fi
if [ ! -s "$ub" ]; then
    awk -v n="$n" 'BEGIN {
        for (i = 0; i < n; i += 2) {
            printf "[%d] unbound[812:0] info: 10.1.%d.%d h%d.example.com. A IN\n", 1795392000 + i / 20, (i / 250) % 250, i % 250, i % 3000
            printf "[%d] unbound[812:0] info: 10.1.%d.%d h%d.example.com. A IN %s 0.000312 0 61\n", 1795392000 + i / 20, (i / 250) % 250, i % 250, i % 3000, (i % 10 == 0) ? "NXDOMAIN" : "NOERROR"
        } }' >"$ub"
fi
cat "$bind" "$ub" >/dev/null
t() { # seconds of the best of 3 runs of a command
    local best=""
    for _ in 1 2 3; do
        local a b
        a=$(date +%s%N)
        "$@" >/dev/null 2>&1
        b=$(date +%s%N)
        local d=$(((b - a) / 1000))
        if [ -z "$best" ] || [ "$d" -lt "$best" ]; then best=$d; fi
    done
    awk -v us="$best" 'BEGIN { printf "%.3f", us / 1e6 }'
}
{
    echo
    echo "### Server-log parsing ($n lines per file, best of 3)"
    echo
    echo "| log | wc -l (floor) | dnsvigil analyze | lines/s | ratio to floor |"
    echo "|---|---|---|---|---|"
    for f in "$bind" "$ub"; do
        a=$(t wc -l "$f")
        b=$(t "$top/dnsvigil" analyze --no-progress --json "$f")
        awk -v a="$a" -v b="$b" -v n="$n" -v name="$(basename "$f")" 'BEGIN {
            printf "| %s | %.3f s | %.3f s | %.0f | %.1fx |\n", name, a, b, n / b, b / a }'
    done
} | tee -a "$out"
