#!/usr/bin/env bash
# The metrics endpoint: `dnsvigil watch -r day.pcap` (the generated day capture) replays at
# 20000x real time (about 4 s) without a view and serves /metrics. A scrape in the middle
# of the replay and one after it ended (--linger) both pass `promtool check metrics`
# (Debian's prometheus package); the final counters equal the JSON summary written at exit;
# an unknown path answers 404; 300 held half-requests delay no scrape; garbage and oversized
# requests get 400 and 431.
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
# Slow and hostile clients: 300 connections that send half a request and hold for 8 s;
# a scrape meanwhile is answered within a second; garbage and an oversized request get an
# error status; the endpoint still answers afterwards.
python3 "$TOP/tests/watch/hold.py" "$port" 300 8 >"$tmp/held" 2>&1 &
holder=$!
for _ in $(seq 1 50); do [ -s "$tmp/held" ] && break; sleep 0.1; done
t0=$(date +%s%N)
code=$(curl -s -o "$tmp/m3" -w '%{http_code}' --max-time 1 "http://127.0.0.1:$port/metrics")
ms=$((($(date +%s%N) - t0) / 1000000))
if [ "$code" = 200 ] && grep -q '^dnsvigil_queries_total ' "$tmp/m3"; then
    pass "watch/metrics-scrape-while-$(cat "$tmp/held")-held ($ms ms)"
else
    fail "watch/metrics-scrape-while-held" "HTTP $code after $ms ms with $(cat "$tmp/held") connections held"
fi
bad=$(curl -s --max-time 2 -o /dev/null -w '%{http_code}' -X BREW "http://127.0.0.1:$port/metrics")
big=$(curl -s --max-time 2 -o /dev/null -w '%{http_code}' -H "X-Big: $(head -c 6000 /dev/zero | tr '\0' a)" "http://127.0.0.1:$port/metrics")
if [ "$bad" = 400 ] && [ "$big" = 431 ]; then pass "watch/metrics-garbage-and-oversize"; else
    fail "watch/metrics-garbage-and-oversize" "BREW: HTTP $bad, 6 KB header: HTTP $big"; fi
kill "$holder" 2>/dev/null
wait "$holder" 2>/dev/null
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$port/metrics")
if [ "$code" = 200 ]; then pass "watch/metrics-after-hostile"; else fail "watch/metrics-after-hostile" "HTTP $code"; fi
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
