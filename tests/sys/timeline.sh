#!/usr/bin/env bash
# System test: one timeline for packets and server logs. A real Unbound on 127.0.0.1
# (random high port) answers dig from a local zone over a few seconds while it logs every
# query and reply to its own log file and tcpdump captures the same traffic. Then:
# `analyze cap.pcap unbound.log` and `analyze unbound.log cap.pcap` must print byte-identical
# JSON, and each one-second window must count the log events whose time stamps fall in it
# (counted here from the log file with awk, not by dnsvigil).
# Traffic stays on loopback; every loop is bounded; all processes are stopped on exit.
source "$(dirname "$0")/../lib.sh"
sys_need sys/timeline unbound dig tcpdump || exit 0
sys_setup
port=$((20000 + RANDOM % 20000))
mkdir -p "$tmp/ub"
sys_unbound_conf "$tmp/ub" "$port"
cat >>"$tmp/ub/unbound.conf" <<CONF
    log-queries: yes
    log-replies: yes
    verbosity: 1
local-zone: "lab.test." static
local-data: "lab.test. 300 IN SOA ns.lab.test. host.lab.test. 1 3600 900 604800 300"
local-data: "www.lab.test. 300 IN A 192.0.2.99"
remote-control:
    control-enable: no
CONF
sys_capture_start "port $port"
unbound -d -c "$tmp/ub/unbound.conf" >"$tmp/ub/stderr" 2>&1 &
SYS_PIDS+=($!)
if ! sys_wait_ready "$port" lab.test NOERROR; then
    fail "sys/timeline" "unbound or tcpdump did not start: $(tail -3 "$tmp/ub/stderr" "$tmp/tcpdump.log")"
    exit 0
fi
# Four rounds a second apart, each of a different size, so the windows differ.
for round in 1 2 3 4; do
    for i in $(seq 1 $((round * 3))); do
        dig +tries=1 +time=2 @127.0.0.1 -p "$port" "h$round-$i.lab.test" A >/dev/null 2>&1
        dig +tries=1 +time=2 @127.0.0.1 -p "$port" www.lab.test AAAA >/dev/null 2>&1
    done
    sleep 1
done
sys_capture_stop
for p in "${SYS_PIDS[@]}"; do kill "$p" 2>/dev/null; done
wait 2>/dev/null
log=$tmp/ub/unbound.log
cap=$tmp/cap.pcap

opts=(--json --windows --window 1 --no-progress -p "$port")
"$DNSVIGIL" analyze "${opts[@]}" "$cap" "$log" >"$tmp/a.json" 2>"$tmp/a.err"
"$DNSVIGIL" analyze "${opts[@]}" "$log" "$cap" >"$tmp/b.json" 2>"$tmp/b.err"
if [ -s "$tmp/a.json" ] && cmp -s "$tmp/a.json" "$tmp/b.json"; then
    pass "sys/timeline-argument-order ($(wc -c <"$tmp/a.json") bytes, identical)"
else
    fail "sys/timeline-argument-order" "$(diff <(jq -S . "$tmp/a.json") <(jq -S . "$tmp/b.json") | head -10) $(head -3 "$tmp/a.err")"
fi

# Unbound: "[EPOCH] unbound[PID:TID] info: ADDR NAME TYPE CLASS" for a query, the same
# followed by RCODE, time, cache flag and size for a reply.
awk '/^\[[0-9]+\] unbound\[[0-9:]+\] info: [0-9.]+ [^ ]+ [A-Z0-9]+ IN$/ { q[substr($1, 2, length($1) - 2)]++ }
     /^\[[0-9]+\] unbound\[[0-9:]+\] info: [0-9.]+ [^ ]+ [A-Z0-9]+ IN [A-Z]+ [0-9.]+ [0-9]+ [0-9]+$/ { r[substr($1, 2, length($1) - 2)]++ }
     END { for (s in q) print s, "query", q[s]; for (s in r) print s, "reply", r[s] }' "$log" |
    sort >"$tmp/want"
jq -r '.windows[] | (.start | sub("\\.[0-9]+Z$"; "Z") | fromdateiso8601) as $s |
       (.logs.events.query // 0) as $q | (.logs.events.reply // 0) as $r |
       (if $q > 0 then "\($s) query \($q)" else empty end), (if $r > 0 then "\($s) reply \($r)" else empty end)' \
    "$tmp/a.json" | sort >"$tmp/got"
nsec=$(awk '{print $1}' "$tmp/want" | sort -u | wc -l)
if [ "$nsec" -ge 3 ] && cmp -s "$tmp/want" "$tmp/got"; then
    pass "sys/timeline-window-log-events ($(awk '{n += $3} END {print n}' "$tmp/want") events in $nsec windows)"
else
    fail "sys/timeline-window-log-events" "$nsec seconds; want/got: $(diff "$tmp/want" "$tmp/got" | head -8 | tr '\n' ' ')"
fi
# The top-level count is the sum of the windows', and the packets are those of the capture alone.
sum=$(jq '[.windows[].logs.events.query // 0] | add' "$tmp/a.json")
top=$(jq '.logs.events.query' "$tmp/a.json")
alone=$("$DNSVIGIL" analyze --json --no-progress -p "$port" "$cap" | jq .dns.queries)
both=$(jq .dns.queries "$tmp/a.json")
if [ "$sum" = "$top" ] && [ "$top" -gt 0 ] && [ "$alone" = "$both" ]; then
    pass "sys/timeline-totals ($top log queries, $both packet queries)"
else
    fail "sys/timeline-totals" "windows $sum, top-level $top; packet queries alone $alone, with the log $both"
fi
