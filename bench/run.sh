#!/usr/bin/env bash
# `make bench`: generates the benchmark capture (once, cached in bench/out/), then measures
# in one run, on the same file: the bare libpcap loop (floor), dnsvigil's capture path, the
# zero-copy DNS view, ldns_wire2pkt per message, and the whole `dnsvigil analyze` process.
# Each mode runs REPEAT times (best time kept) after a warm-up that fills the page cache.
# Writes bench/out/results.md and prints it.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
out="$top/bench/out"
packets=${BENCH_PACKETS:-5000000}
repeat=${REPEAT:-3}
mkdir -p "$out"
names=${BENCH_NAMES:-2000000}
cap="$out/mix-$packets.pcap"
sub="$out/subdomain-$names.pcap"
if [ ! -s "$cap" ]; then
    echo "bench: generating $packets packets into $cap"
    "$top/build/tests/gen" bench "$cap" "$packets"
fi
if [ ! -s "$sub" ]; then
    echo "bench: generating a random-subdomain flood of $names unique names into $sub"
    "$top/build/tests/gen" subdomain "$sub" "$names"
fi
best() { # best MODE ARGS... -> the line with the smallest time
    local line bestline="" bt=""
    for _ in $(seq 1 "$repeat"); do
        line=$("$@")
        t=$(awk '{print $4}' <<<"$line")
        if [ -z "$bt" ] || awk -v a="$t" -v b="$bt" 'BEGIN{exit !(a<b)}'; then bt=$t; bestline=$line; fi
    done
    echo "$bestline"
}
B="$top/build/bench"
cat "$cap" >/dev/null # warm the page cache
floor=$(best "$B" floor "$cap")
capture=$(best "$B" capture "$cap")
view=$(best "$B" view "$cap")
stats=$(best "$B" stats "$cap")
ldnsr=$(best "$B" ldns "$cap")
# The two whole-process runs alternate, so both see the same machine conditions.
# The store run writes into a fresh database each time (bench/out/bench.db) and keeps its
# JSON summary for the store's figures.
norules="" full="" withdb="" db_ratios=()
faster() { [ -z "$2" ] || awk -v x="$(awk '{print $4}' <<<"$1")" -v y="$(awk '{print $4}' <<<"$2")" 'BEGIN{exit !(x<y)}'; }
for _ in $(seq 1 "$repeat"); do
    a=$("$B" run "$top/dnsvigil" analyze --no-progress --json --no-rules "$cap")
    b=$("$B" run "$top/dnsvigil" analyze --no-progress --json "$cap")
    rm -f "$out/bench.db" "$out/bench.db-wal" "$out/bench.db-shm"
    c=$("$B" run "$top/dnsvigil" analyze --no-progress --json -o "$out/db-try.json" --db "$out/bench.db" "$cap")
    if faster "$a" "$norules"; then norules=$a; fi
    if faster "$b" "$full"; then full=$b; fi
    if faster "$c" "$withdb"; then withdb=$c; cp "$out/db-try.json" "$out/db.json"; fi
    db_ratios+=("$(awk -v b="$(awk '{print $4}' <<<"$b")" -v c="$(awk '{print $4}' <<<"$c")" 'BEGIN { printf "%.0f%%", 100 * (c - b) / b }')")
done
subfloor=$(best "$B" floor "$sub")
subfull=$(best "$B" run "$top/dnsvigil" analyze --no-progress --json "$sub")
npk=$(awk '{print $2}' <<<"$floor")
ft=$(awk '{print $4}' <<<"$floor")
row() { # row LABEL LINE
    awk -v label="$1" -v ft="$ft" -v n="$npk" '{
        t = $4; rss = $6
        printf "| %s | %.0f | %.1f | %.2fx | %.0f |\n", label, n / t, t * 1e9 / n, t / ft, rss / 1024
    }' <<<"$2"
}
{
    echo "Benchmark: $(basename "$cap"), $npk packets, $(du -m "$cap" | cut -f1) MB;"
    echo "$(nproc) cores, $(uname -m), $(date -u +%Y-%m-%d); best of $repeat runs."
    echo
    echo "| path | packets/s | ns/packet | ratio to floor | peak RSS MiB |"
    echo "|---|---|---|---|---|"
    row "bare libpcap loop (floor)" "$floor"
    row "dnsvigil capture path (link/IP/UDP/TCP, reassembly)" "$capture"
    row "capture + zero-copy DNS view (dns_decode)" "$view"
    row "capture + view + totals" "$stats"
    row "capture + ldns_wire2pkt + ldns_pkt_free" "$ldnsr"
    row "dnsvigil analyze --json --no-rules (whole process)" "$norules"
    row "dnsvigil analyze --json, everything on, all rules (whole process)" "$full"
    row "dnsvigil analyze --json --db (everything on, SQLite store)" "$withdb"
    echo
    awk -v a="$(awk '{print $4}' <<<"$norules")" -v b="$(awk '{print $4}' <<<"$full")" \
        'BEGIN { printf "Rules cost %.0f%% on top of the analysis without rules.\n\n", 100 * (b - a) / a }'
    echo "Store wall-time cost per interleaved pair (with/without --db): ${db_ratios[*]}; median $(printf '%s\n' "${db_ratios[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')."
    echo
    jq -r --arg t "$(awk '{print $4}' <<<"$withdb")" --arg f "$(awk '{print $4}' <<<"$full")" '.store |
        "Store: \(.rows) rows in \(.batches) transactions, \((.rows / ($t | tonumber)) | floor) rows/s; "
        + "\(.rrsets_new) passive-DNS RRs; detail dropped (writer behind): \(.dropped.transactions) transactions, "
        + "\(.dropped.messages) answer messages; "
        + "windows and alerts dropped: \(.dropped.windows + .dropped.alerts). "
        + "analyze --db takes \((100 * (($t | tonumber) - ($f | tonumber)) / ($f | tonumber)) | round)% longer than without.\n"' \
        "$out/db.json"
    echo "Random-subdomain flood: $(basename "$sub"), $(awk '{print $2}' <<<"$subfloor") packets, $names unique names:"
    echo
    echo "| path | packets/s | ns/packet | ratio to floor | peak RSS MiB |"
    echo "|---|---|---|---|---|"
    ft_save=$ft npk_save=$npk
    ft=$(awk '{print $4}' <<<"$subfloor") npk=$(awk '{print $2}' <<<"$subfloor")
    row "bare libpcap loop (floor)" "$subfloor"
    row "dnsvigil analyze --json, everything on, all rules (whole process)" "$subfull"
    ft=$ft_save npk=$npk_save
    echo
    if command -v valgrind >/dev/null; then
        # Instruction counts do not depend on what else the machine is doing.
        small="$out/mix-200000.pcap"
        [ -s "$small" ] || "$top/build/tests/gen" bench "$small" 200000 2>/dev/null
        ir() { valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 >/dev/null |
            sed -n 's/.*Collected : *//p'; }
        i0=$(ir "$B" floor "$small")
        i1=$(ir "$top/dnsvigil" analyze --no-progress --json --no-rules "$small")
        i2=$(ir "$top/dnsvigil" analyze --no-progress --json "$small")
        awk -v a="$i0" -v b="$i1" -v c="$i2" 'BEGIN {
            printf "Instructions per packet (callgrind, 200,000-packet mix): floor %.0f, analyze without rules %.0f (%.2fx), with rules %.0f (%.2fx); rules add %.0f%%.\n\n",
                a / 200000, b / 200000, b / a, c / 200000, c / a, 100 * (c - b) / b }'
        # The store's cost on the analysis thread (the writer runs on its own thread).
        rm -f "$out/cg.db"* "$out/cg-store.db"*
        valgrind --tool=callgrind --separate-threads=yes --callgrind-out-file="$out/cg.nodb" \
            "$top/dnsvigil" analyze --no-progress --json "$small" >/dev/null 2>&1
        valgrind --tool=callgrind --separate-threads=yes --callgrind-out-file="$out/cg.db" \
            "$top/dnsvigil" analyze --no-progress --json --db "$out/cg-store.db" "$small" >/dev/null 2>&1
        t0=$(sed -n 's/^summary: //p' "$out/cg.nodb-01")
        t1=$(sed -n 's/^summary: //p' "$out/cg.db-01")
        t2=$(sed -n 's/^summary: //p' "$out/cg.db-02")
        awk -v a="$t0" -v b="$t1" -v c="$t2" 'BEGIN {
            printf "Store (callgrind, same 200,000 packets): the analysis thread runs %.0f instructions per packet with --db against %.0f without (+%.1f%%); the writer thread %.0f per packet on the other core.\n\n",
                b / 200000, a / 200000, 100 * (b - a) / a, c / 200000 }'
        rm -f "$out/cg.nodb"* "$out/cg.db"* "$out/cg-store.db"*
    fi
    awk -v v="$(awk '{print $4}' <<<"$view")" -v c="$(awk '{print $4}' <<<"$capture")" \
        -v l="$(awk '{print $4}' <<<"$ldnsr")" -v m="$(awk '{print $3}' <<<"$view")" 'BEGIN {
        printf "DNS decode alone (minus capture path), per message: view %.1f ns, ldns %.1f ns (%.1fx)\n",
            (v - c) * 1e9 / m, (l - c) * 1e9 / m, (l - c) / (v - c) }'
} | tee "$out/results.md"
# The live sensor: soak (RSS over minutes of replay) and the live rate on a veth pair.
"$top/bench/live.sh" "$out/results.md" "$cap"
# Server-log parsing throughput.
"$top/bench/logs.sh" "$out/results.md"
