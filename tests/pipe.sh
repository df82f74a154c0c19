#!/usr/bin/env bash
# The two-thread analysis (--threads 2: the flow store, rules and store feed on a second
# thread fed through a ring) must give byte-identical results to one thread: the summary
# JSON with every window, and the alert stream. Checked on every fixture of tests/pcap/LIST,
# a generated resolver mix (200,000 packets, UDP and TCP), the same mix gzip'd (libpcap reuses
# its buffer per packet, so the ring's copy is what the flow thread reads), several files
# merged, windows of a second with a short time-out and a tiny flow table. Then the same under ThreadSanitizer (build-tsan, made by make check):
# no data race reported, with the SQLite writer as a third thread.
source "$(dirname "$0")/lib.sh"
dir="$TOP/tests/pcap"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# same NAME BINARY ARGS...: runs analyze with --threads 1 and 2, compares JSON and alerts.
same() {
    local name=$1 bin=$2 t
    shift 2
    for t in 1 2; do
        "$bin" analyze --json --windows --no-progress --threads $t --alerts-jsonl "$tmp/al$t" \
            -o "$tmp/out$t.json" "$@" 2>"$tmp/err$t"
        echo $? >"$tmp/rc$t"
    done
    if ! cmp -s "$tmp/out1.json" "$tmp/out2.json"; then
        fail "pipe/$name" "JSON differs: $(diff <(jq -S . "$tmp/out1.json") <(jq -S . "$tmp/out2.json") | head -5 | tr '\n' ' ')"
    elif ! cmp -s "$tmp/al1" "$tmp/al2"; then
        fail "pipe/$name" "alert streams differ"
    elif ! cmp -s "$tmp/rc1" "$tmp/rc2"; then
        fail "pipe/$name" "exit status $(cat "$tmp/rc1") vs $(cat "$tmp/rc2")"
    elif [ ! -s "$tmp/out2.json" ]; then
        fail "pipe/$name" "no output: $(head -3 "$tmp/err2")"
    else
        pass "pipe/$name"
    fi
}

fixture_same() { # NAME EXPECT-FILE ARGS...
    local name=$1
    shift 2
    same "fixture/$name" "$DNSVIGIL" "$@"
}
fixture_cases fixture_same

"$TOP/$BUILD/tests/gen" bench "$tmp/mix.pcap" 200000 >/dev/null 2>&1
gzip -c "$tmp/mix.pcap" >"$tmp/mix.pcap.gz"
same "mix-200k" "$DNSVIGIL" "$tmp/mix.pcap"
same "mix-200k-gzip" "$DNSVIGIL" "$tmp/mix.pcap.gz"
same "merged-files" "$DNSVIGIL" "$tmp/mix.pcap" "$dir/tcp_axfr.pcap" "$dir/poison.pcap"
same "merged-with-logs" "$DNSVIGIL" --window 1 "$dir/log_unbound.log" "$dir/xfr.pcap" "$dir/log_bind.log" "$dir/log_knot.log"
same "small-window-short-timeout" "$DNSVIGIL" --window 1 --timeout 1 --max-pending 64 "$tmp/mix.pcap"

# --evidence-dir: the frames travel with the messages, so two threads write the same
# evidence pcaps (names and bytes) as one, and the alerts name the same files.
evidence_same() { # NAME ARGS...
    local name=$1 t
    shift
    for t in 1 2; do
        rm -rf "$tmp/ev$t" && mkdir -p "$tmp/ev$t"
        "$DNSVIGIL" analyze --json --no-progress --threads $t --evidence-dir "$tmp/ev$t" "$@" |
            jq -c '[.alerts[] | (.evidence_file // "") | sub(".*/"; "")]' >"$tmp/evj$t"
    done
    if [ "$(ls "$tmp/ev1" | wc -l)" -eq 0 ]; then
        fail "pipe/evidence-$name" "no evidence file written"
    elif ! diff -r "$tmp/ev1" "$tmp/ev2" >/dev/null; then
        fail "pipe/evidence-$name" "evidence files differ: $(diff -rq "$tmp/ev1" "$tmp/ev2" | head -3 | tr '\n' ' ')"
    elif ! cmp -s "$tmp/evj1" "$tmp/evj2"; then
        fail "pipe/evidence-$name" "alerts name other files: $(cat "$tmp/evj1") vs $(cat "$tmp/evj2")"
    else
        pass "pipe/evidence-$name ($(ls "$tmp/ev1" | wc -l) files)"
    fi
}
for f in poison amp edns xfr error_ratio; do
    evidence_same "$f" --window 10 -c "$dir/rules.ini" "$dir/$f.pcap"
done
evidence_same "mix-200k" "$tmp/mix.pcap"

# ThreadSanitizer: the race detector watches the ring, the flow thread and the store writer.
tsan="$TOP/build-tsan/dnsvigil"
if [ ! -x "$tsan" ]; then
    skip "pipe/tsan" "build-tsan/dnsvigil not built (make check builds it)"
    exit 0
fi
# mix-complete: --db-complete, where the flow thread waits for the writer.
for c in mix:"$tmp/mix.pcap" mix-complete:"$tmp/mix.pcap" axfr:"$dir/tcp_axfr.pcap" \
    poison:"$dir/poison.pcap"; do
    name=${c%%:*} file=${c#*:} extra=()
    [ "$name" = mix-complete ] && extra=(--db-complete)
    rm -f "$tmp/t.db"*
    TSAN_OPTIONS="halt_on_error=1 exitcode=66" "$tsan" analyze --json --windows --no-progress \
        --threads 2 --db "$tmp/t.db" "${extra[@]}" -o "$tmp/tsan.json" "$file" 2>"$tmp/tsan.err"
    rc=$?
    "$DNSVIGIL" analyze --json --windows --no-progress --threads 1 -o "$tmp/ref.json" "$file" 2>/dev/null
    if grep -q "ThreadSanitizer" "$tmp/tsan.err" || [ $rc -eq 66 ]; then
        fail "pipe/tsan/$name" "$(grep -A12 'WARNING: ThreadSanitizer' "$tmp/tsan.err" | head -14 | tr '\n' ' ')"
    elif [ $rc -ne 0 ]; then
        fail "pipe/tsan/$name" "exit $rc: $(tail -3 "$tmp/tsan.err")"
    elif ! cmp -s <(jq -S 'del(.store)' "$tmp/tsan.json") <(jq -S 'del(.store)' "$tmp/ref.json"); then
        fail "pipe/tsan/$name" "result differs from one thread without the store"
    else
        pass "pipe/tsan/$name"
    fi
done
