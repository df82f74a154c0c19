#!/usr/bin/env bash
# Clean traffic must raise no alert: dnsperf drives Unbound (a real resolver, 127.0.0.1) for
# RESOLVER_SECONDS (default 120) at a bounded rate; Unbound forwards everything, root
# included, to an NSD on 127.0.0.1 (nothing leaves loopback). tcpdump captures both legs.
# dnsvigil's query count on the client leg must equal what dnsperf sent, and no rule may
# fire. Processes are stopped on exit.
source "$(dirname "$0")/../lib.sh"
secs=${RESOLVER_SECONDS:-120}
sys_need sys/resolver nsd unbound dnsperf tcpdump dig tshark || exit 0
sys_setup
pa=$((20000 + RANDOM % 10000))
pr=$((30000 + RANDOM % 10000))

{
    echo "\$ORIGIN example.test."
    echo "\$TTL 30"
    echo "@ IN SOA ns1 hostmaster 2026112301 3600 900 604800 30"
    echo "@ IN NS ns1"
    echo "@ IN MX 10 mail"
    echo "ns1 IN A 127.0.0.1"
    echo "mail IN A 192.0.2.25"
    echo "txt IN TXT \"v=spf1 -all\""
    for i in $(seq 1 200); do echo "h$i IN A 192.0.2.$((i % 250 + 1))"; echo "h$i IN AAAA 2001:db8::$i"; done
} >"$tmp/example.test.zone"
sys_unbound_forwarder "$tmp" "$pr" "$pa" 30
sys_nsd_start "$pa"
unbound -d -c "$tmp/unbound.conf" >>"$tmp/unbound.log" 2>&1 &
SYS_PIDS+=($!)
sys_capture_start "port $pa or port $pr"
if ! sys_wait_ready "$pr" example.test NOERROR; then
    fail "sys/resolver" "servers did not start: $(tail -n 3 "$tmp/unbound.log" "$tmp/nsd.log" 2>&1 | tr "\n" " ")"
    exit 0
fi
probes=$(tshark -n -r "$tmp/cap.pcap" -d "udp.port==$pr,dns" -Y "dns.flags.response==0 && udp.dstport==$pr" 2>/dev/null | wc -l)
# A resolver's everyday mix: names that exist, names that do not, a few types.
for i in $(seq 1 200); do
    echo "h$i.example.test A"
    echo "h$i.example.test AAAA"
    echo "nx$i.example.test A"
    [ $((i % 10)) = 0 ] && echo "example.test MX" && echo "txt.example.test TXT"
done >"$tmp/queries"
dnsperf -s 127.0.0.1 -p "$pr" -d "$tmp/queries" -l "$secs" -Q 300 -c 4 -t 3 >"$tmp/dnsperf.out" 2>&1
sys_capture_stop
sent=$(sed -n 's/.*Queries sent: *\([0-9]*\).*/\1/p' "$tmp/dnsperf.out")

out=$("$DNSVIGIL" analyze --json --no-progress -p "$pa,$pr" "$tmp/cap.pcap")
n=$(jq '.alerts | length' <<<"$out")
[ "$n" = 0 ] && pass "sys/resolver-no-alerts (${secs}s, $sent queries)" ||
    fail "sys/resolver-no-alerts" "$(jq -c '[.alerts[] | .summary]' <<<"$out")"
# Client leg: dnsvigil counts the queries tshark finds in the same capture, and that is every
# query dnsperf sent (plus the readiness probes) unless tcpdump reports drops of its own.
client=$("$DNSVIGIL" analyze --json --no-progress -p "$pr" -f "port $pr" "$tmp/cap.pcap" | jq .dns.queries)
seen=$(tshark -n -r "$tmp/cap.pcap" -d "udp.port==$pr,dns" -Y "dns.flags.response==0 && udp.dstport==$pr" 2>/dev/null | wc -l)
kdrop=$(sed -n 's/^\([0-9]*\) packets\{0,1\} dropped by kernel.*/\1/p' "$tmp/tcpdump.log")
[ -n "$client" ] && [ "$client" = "$seen" ] && pass "sys/resolver-client-leg-tshark" ||
    fail "sys/resolver-client-leg-tshark" "dnsvigil $client, tshark $seen"
[ -n "$sent" ] && [ "$seen" -ge $((sent + probes - ${kdrop:-0})) ] && [ "$seen" -le $((sent + probes)) ] &&
    pass "sys/resolver-client-leg-count" ||
    fail "sys/resolver-client-leg-count" "capture $seen, dnsvigil $client, dnsperf sent $sent (+$probes probes), tcpdump: $(tr '\n' ' ' <"$tmp/tcpdump.log")"
