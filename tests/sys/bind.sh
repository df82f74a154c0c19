#!/usr/bin/env bash
# System test for the rules with a real BIND 9 on 127.0.0.1 (random high port): it refuses
# AXFR to everyone and answers an EDNS version 1 query with BADVERS. tcpdump captures on
# loopback; dnsvigil must raise xfr-failed for the refused transfer and edns-errors for the
# BADVERS answer, and nothing else. Traffic stays on loopback; processes are stopped on exit.
source "$(dirname "$0")/../lib.sh"
sys_need sys/bind named dig tcpdump || exit 0
sys_setup
port=$((20000 + RANDOM % 20000))

cat >"$tmp/example.test.zone" <<ZONE
\$TTL 300
@       IN SOA ns1.example.test. hostmaster.example.test. 2026112301 3600 900 604800 300
@       IN NS  ns1.example.test.
ns1     IN A   127.0.0.1
www     IN A   192.0.2.80
ZONE
cat >"$tmp/named.conf" <<CONF
options {
    directory "$tmp";
    listen-on port $port { 127.0.0.1; };
    listen-on-v6 { none; };
    pid-file "$tmp/named.pid";
    allow-transfer { none; };
    recursion no;
    dnssec-validation no;
};
controls { };
zone "example.test" { type primary; file "$tmp/example.test.zone"; };
CONF
named -g -c "$tmp/named.conf" -u "$(id -un)" >"$tmp/named.log" 2>&1 &
SYS_PIDS+=($!)
sys_capture_start "port $port"
if ! sys_wait_ready "$port" example.test NOERROR; then
    fail "sys/bind" "named or tcpdump did not start: $(tail -5 "$tmp/named.log")"
    exit 0
fi
axfr=$(dig +tries=1 +time=2 @127.0.0.1 -p "$port" example.test AXFR 2>&1)
badvers=$(dig +tries=1 +time=2 +edns=1 +noednsnegotiation @127.0.0.1 -p "$port" www.example.test A 2>&1)
dig +tries=1 +time=2 @127.0.0.1 -p "$port" www.example.test A >/dev/null 2>&1
sys_capture_stop

out=$("$DNSVIGIL" analyze --json --no-progress -p "$port" "$tmp/cap.pcap")
if grep -q "Transfer failed" <<<"$axfr" &&
    jq -e '[.alerts[] | select(.rule == "xfr-failed" and .zone == "example.test." and
            .evidence.rcode == "REFUSED")] | length == 1' <<<"$out" >/dev/null; then
    pass "sys/bind-axfr-refused"
else
    fail "sys/bind-axfr-refused" "dig: $(grep -m1 -i "transfer\|status" <<<"$axfr"); alerts: $(jq -c '.alerts' <<<"$out")"
fi
if grep -q "status: BADVERS" <<<"$badvers" &&
    jq -e '[.alerts[] | select(.rule == "edns-errors" and .evidence.badvers >= 1 and
            .server == "127.0.0.1")] | length == 1' <<<"$out" >/dev/null; then
    pass "sys/bind-badvers"
else
    fail "sys/bind-badvers" "dig: $(grep -m1 status <<<"$badvers"); alerts: $(jq -c '.alerts' <<<"$out")"
fi
n=$(jq '.alerts | length' <<<"$out")
[ "$n" = 2 ] && pass "sys/bind-no-other-alerts" || fail "sys/bind-no-other-alerts" "$n alerts"
