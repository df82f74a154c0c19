#!/usr/bin/env bash
# The metrics endpoint: `dnsvigil watch -r day.pcap` (the generated day capture) replays at
# 20000x real time (about 4 s) without a view and serves /metrics. A scrape in the middle
# of the replay and one after it ended (--linger) both pass `promtool check metrics`
# (Debian's prometheus package); the final counters equal the JSON summary written at exit;
# an unknown path answers 404.
source "$(dirname "$0")/../lib.sh"
sys_need watch/metrics promtool curl || exit 0
tmp=$(mktemp -d)
chmod 777 "$tmp"
trap 'kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"' EXIT
"$TOP/$BUILD/tests/gen" day "$tmp/day.pcap" 2>/dev/null
chmod 644 "$tmp/day.pcap"
port=$((20000 + RANDOM % 20000))
"$DNSVIGIL" watch -r "$tmp/day.pcap" --speed 20000 --daemon --no-syslog --linger 10 \
    --metrics "127.0.0.1:$port" -o "$tmp/summary.json" >/dev/null 2>"$tmp/err" &
pid=$!
scrape() { curl -s --max-time 2 "http://127.0.0.1:$port/metrics"; }
for _ in $(seq 1 100); do scrape >"$tmp/m1" 2>/dev/null && [ -s "$tmp/m1" ] && break; sleep 0.1; done
sleep 1
scrape >"$tmp/m1"
q1=$(awk '$1 == "dnsvigil_queries_total" {print $2}' "$tmp/m1")
if out=$(promtool check metrics <"$tmp/m1" 2>&1); then pass "watch/metrics-promtool-during-replay"; else
    fail "watch/metrics-promtool-during-replay" "$out"; fi
# Wait for the end of the replay (dnsvigil_input_finished 1), at most 20 s.
for _ in $(seq 1 100); do
    sleep 0.2
    scrape >"$tmp/m2" || continue
    grep -q '^dnsvigil_input_finished 1$' "$tmp/m2" && break
done
if out=$(promtool check metrics <"$tmp/m2" 2>&1); then pass "watch/metrics-promtool-after-replay"; else
    fail "watch/metrics-promtool-after-replay" "$out"; fi
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$port/nothing")
if [ "$code" = 404 ]; then pass "watch/metrics-404"; else fail "watch/metrics-404" "HTTP $code"; fi
kill -TERM "$pid"
wait "$pid"
m() { awk -v k="$1" '$1 == k {print $2}' "$tmp/m2"; }
got="$(m dnsvigil_packets_total) $(m dnsvigil_queries_total) $(m dnsvigil_responses_total) $(m 'dnsvigil_responses_by_rcode_total{rcode="NXDOMAIN"}') $(m 'dnsvigil_transactions_total{outcome="answered"}')"
want=$(jq -r '"\(.capture.packets) \(.dns.queries) \(.dns.responses) \(.dns.rcode.NXDOMAIN) \(.transactions.answered)"' "$tmp/summary.json")
if [ "$got" = "$want" ]; then pass "watch/metrics-equal-summary"; else
    fail "watch/metrics-equal-summary" "metrics '$got', summary '$want'"; fi
if [ -n "$q1" ] && awk -v a="$q1" -v b="$(m dnsvigil_queries_total)" 'BEGIN { exit !(a > 0 && a < b) }'; then
    pass "watch/metrics-scraped-mid-replay"
else
    fail "watch/metrics-scraped-mid-replay" "first scrape $q1 queries, final $(m dnsvigil_queries_total)"
fi
