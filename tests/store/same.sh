#!/usr/bin/env bash
# One pipeline: the same capture through `watch -r FILE --speed 0 --db A` and
# `analyze --db B FILE` must store the same rows in every table (all columns but the run's
# own metadata: run ids, start and finish times, version and status words) and raise the
# same alerts; `analyze --db` run twice stores identical rows. Checked on the sample, the
# transfer fixtures and a 200,000-packet resolver mix (nearly every answer a new RRset).
# Then a build whose passive-DNS table holds only 4,096 RRsets (build-small, made by make
# check and make test) must store the same rows as the normal one: the table starts over
# dozens of times and forgotten RRsets are found again in the database.
source "$(dirname "$0")/../lib.sh"
tmp=$(mktemp -d)
chmod 755 "$tmp"
trap 'rm -rf "$tmp"' EXIT
P=$TOP/tests/pcap
"$TOP/$BUILD/tests/gen" bench "$tmp/mix.pcap" 200000 >/dev/null 2>&1
chmod 644 "$tmp/mix.pcap"

# dump DB: every table but run, without run_id and row ids, in a fixed order.
dump() {
    local t cols
    for t in window_stats alert rrset zone xfr log_event top; do
        cols=$(sqlite3 "$1" "SELECT group_concat(name, ',') FROM pragma_table_info('$t') WHERE name NOT IN ('run_id', 'id')")
        echo "== $t"
        sqlite3 "$1" "SELECT $cols FROM $t ORDER BY $cols"
    done
    # The run's figures (not its identity, times or status words).
    sqlite3 "$1" "SELECT source, window_s, first_ns, last_ns, packets, messages, loss_json, detail_dropped FROM run"
}

for f in "$TOP/tests/sample.pcap" "$P/xfr.pcap" "$P/tcp_axfr.pcap" "$P/poison.pcap" "$tmp/mix.pcap"; do
    name=$(basename "$f" .pcap)
    rm -f "$tmp"/[ab].db* "$tmp"/a.jsonl "$tmp"/b.jsonl
    "$DNSVIGIL" watch -r "$f" --speed 0 --daemon --no-syslog --linger 0 --db "$tmp/a.db" \
        --alerts-jsonl "$tmp/a.jsonl" >/dev/null 2>"$tmp/a.err"
    ra=$?
    "$DNSVIGIL" analyze -q --no-progress --db "$tmp/b.db" --alerts-jsonl "$tmp/b.jsonl" "$f" \
        >/dev/null 2>"$tmp/b.err"
    rb=$?
    dump "$tmp/a.db" >"$tmp/a.dump"
    dump "$tmp/b.db" >"$tmp/b.dump"
    rows=$(grep -vc '^==' "$tmp/b.dump")
    if [ "$ra" = 0 ] && [ "$rb" = 0 ] && [ "$rows" -gt 2 ] && cmp -s "$tmp/a.dump" "$tmp/b.dump"; then
        pass "store/same-rows-watch-analyze-$name ($rows rows)"
    else
        fail "store/same-rows-watch-analyze-$name" "exit $ra/$rb, $rows rows: $(diff "$tmp/a.dump" "$tmp/b.dump" | head -6 | tr '\n' ' ') $(head -2 "$tmp/a.err")"
    fi
    if cmp -s "$tmp/a.jsonl" "$tmp/b.jsonl"; then
        pass "store/same-alerts-watch-analyze-$name ($(wc -l <"$tmp/b.jsonl") lines)"
    else
        fail "store/same-alerts-watch-analyze-$name" "$(diff "$tmp/a.jsonl" "$tmp/b.jsonl" | head -4 | tr '\n' ' ')"
    fi
done

# analyze --db twice (a fresh database each time): identical rows.
"$DNSVIGIL" analyze -q --no-progress --db "$tmp/c.db" "$tmp/mix.pcap" >/dev/null 2>&1
if cmp -s <(dump "$tmp/b.db") <(dump "$tmp/c.db"); then
    pass "store/same-rows-analyze-twice ($(grep -vc '^==' "$tmp/b.dump") rows)"
else
    fail "store/same-rows-analyze-twice" "$(diff <(dump "$tmp/b.db") <(dump "$tmp/c.db") | head -4 | tr '\n' ' ')"
fi

small=$TOP/build-small/dnsvigil
if [ ! -x "$small" ]; then
    fail "store/small-table" "$small is missing (make check and make test build it)"
    exit 0
fi
"$TOP/$BUILD/tests/gen" day "$tmp/day.pcap" >/dev/null 2>&1
for f in "$tmp/day.pcap" "$tmp/mix.pcap"; do
    name=$(basename "$f" .pcap)
    rm -f "$tmp"/[de].db*
    "$DNSVIGIL" analyze -q --no-progress --db "$tmp/d.db" "$f" >/dev/null 2>&1
    "$small" analyze -q --no-progress --json --db "$tmp/e.db" "$f" >"$tmp/e.json" 2>&1
    starts=$(jq '.store.dropped.rrset_table_flushes' "$tmp/e.json")
    if [ "${starts:-0}" -ge 10 ] && cmp -s <(dump "$tmp/d.db") <(dump "$tmp/e.db"); then
        pass "store/small-table-same-rows-$name (the table started over $starts times)"
    else
        fail "store/small-table-same-rows-$name" "started over ${starts:-?} times: $(diff <(dump "$tmp/d.db") <(dump "$tmp/e.db") | head -4 | tr '\n' ' ')"
    fi
done
