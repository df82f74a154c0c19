#!/usr/bin/env bash
# Periodic reports from the sensor: `watch -r day.pcap --report-every 6h --report-format json`
# must write one report per 6 hours of packet time that ended (00-06, 06-12, 12-18) into
# --report-dir, each equal to what `dnsvigil report` gives afterwards for that period (but for
# the end of the data seen so far and the detail the writer had to drop, which grow, and the
# top lists, which are the whole run's and stored when it ends).
source "$(dirname "$0")/../lib.sh"
tmp=$(mktemp -d)
chmod 777 "$tmp"
trap 'rm -rf "$tmp"' EXIT
"$TOP/$BUILD/tests/gen" day "$tmp/day.pcap" 2>/dev/null
chmod 644 "$tmp/day.pcap"
mkdir -m 777 "$tmp/reports"
"$DNSVIGIL" watch -r "$tmp/day.pcap" --speed 0 --daemon --no-syslog --linger 5 \
    --db "$tmp/w.db" --report-every 6h --report-dir "$tmp/reports" --report-format json \
    >/dev/null 2>"$tmp/err"
rc=$?
got=$(cd "$tmp/reports" && ls | tr '\n' ' ')
want="dnsvigil-report-20261123T060000Z.json dnsvigil-report-20261123T120000Z.json dnsvigil-report-20261123T180000Z.json "
if [ "$rc" = 0 ] && [ "$got" = "$want" ]; then pass "watch/report-every-files"; else
    fail "watch/report-every-files" "exit $rc, files: $got $(tail -3 "$tmp/err")"; fi
bad=""
for h in 06 12 18; do
    f="$tmp/reports/dnsvigil-report-20261123T${h}0000Z.json"
    from=$(jq -r .period.from "$f" 2>/dev/null)
    "$DNSVIGIL" report --db "$tmp/w.db" --from "$from" --to "2026-11-23T$h:00:00Z" --format json \
        >"$tmp/again.json"
    a=$(jq -c 'del(.generated, .health.store_detail_dropped, .sources.packets.last, .top)' "$f" 2>/dev/null)
    b=$(jq -c 'del(.generated, .health.store_detail_dropped, .sources.packets.last, .top)' "$tmp/again.json")
    [ -n "$a" ] && [ "$a" = "$b" ] || bad+="$h:00 differs; "
    q=$(jq .app36.queries.value "$f" 2>/dev/null)
    [ "${q:-0}" -gt 0 ] || bad+="$h:00 has no queries; "
done
if [ -z "$bad" ]; then pass "watch/report-every-content"; else fail "watch/report-every-content" "$bad"; fi
# The run's top lists are in the store once it ended (as analyze --db stores them).
n=$(jq '.top.clients | length' "$tmp/again.json")
if [ "${n:-0}" -gt 0 ]; then pass "watch/report-top-lists-stored ($n clients)"; else
    fail "watch/report-top-lists-stored" "no top clients in the store after watch -r"; fi
