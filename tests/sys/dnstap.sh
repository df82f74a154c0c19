#!/usr/bin/env bash
# dnstap system test: Knot DNS (knotd with mod-dnstap, Debian's knot-module-dnstap) on
# 127.0.0.1 writes dnstap to a file while tcpdump captures the same traffic on loopback and
# dig asks over UDP and TCP, with and without EDNS, for names that exist and names that do
# not. dnsvigil's counts from the dnstap file must equal the client's counts and the counts
# from the pcap; the store records the run with source "dnstap" and the report says so.
source "$(dirname "$0")/../lib.sh"
sys_need sys/dnstap knotd dig tcpdump || exit 0
if [ ! -e /usr/lib/x86_64-linux-gnu/knot/modules-3.2/dnstap.so ] &&
    ! ls /usr/lib/*/knot/modules-*/dnstap.so >/dev/null 2>&1; then
    fail "sys/dnstap" "knot-module-dnstap is not installed (tools/install-deps.sh)"
    exit 0
fi
sys_setup
port=$((20000 + RANDOM % 20000))
cat >"$tmp/example.test.zone" <<ZONE
\$ORIGIN example.test.
\$TTL 300
@       IN SOA ns1 hostmaster 2026112301 3600 900 604800 300
@       IN NS  ns1
ns1     IN A   127.0.0.1
www     IN A   192.0.2.80
www     IN AAAA 2001:db8::80
ZONE
cat >"$tmp/knot.conf" <<CONF
server:
    listen: 127.0.0.1@$port
    rundir: $tmp
    pidfile: $tmp/knot.pid
log:
  - target: $tmp/knot.log
    any: info
database:
    storage: $tmp/db
mod-dnstap:
  - id: tap
    sink: $tmp/out.tap
    log-queries: on
    log-responses: on
template:
  - id: default
    storage: $tmp
    global-module: mod-dnstap/tap
zone:
  - domain: example.test
    file: example.test.zone
CONF
mkdir -p "$tmp/db"
sys_capture_start "port $port"
knotd -c "$tmp/knot.conf" >>"$tmp/knot.log" 2>&1 &
kpid=$!
SYS_PIDS+=("$kpid")
up=0
for _ in $(seq 1 100); do
    if grep -q "listening on" "$tmp/tcpdump.log" 2>/dev/null &&
        dig +tries=1 +time=1 @127.0.0.1 -p "$port" example.test SOA 2>/dev/null | grep -q NOERROR; then
        up=1
        break
    fi
    sleep 0.1
done
if [ "$up" != 1 ]; then
    fail "sys/dnstap" "knotd did not start: $(tail -3 "$tmp/knot.log")"
    exit 0
fi
sent=1 nx=0 tcp=0 # the readiness probe that answered counts as one query
ask() { # ask NAME TYPE [dig options...]
    dig +tries=1 +time=2 "${@:3}" @127.0.0.1 -p "$port" "$1" "$2" >/dev/null 2>&1 || return
    sent=$((sent + 1))
    case "$1" in nx*) nx=$((nx + 1)) ;; esac
    case " ${*:3} " in *" +tcp "*) tcp=$((tcp + 1)) ;; esac
}
for i in $(seq 1 6); do
    ask www.example.test A
    ask www.example.test AAAA +tcp
    ask "nx$i.example.test" A +noedns
    ask example.test SOA +dnssec
done
kill -TERM "$kpid"
wait "$kpid" 2>/dev/null
sys_capture_stop

probes=$(($("$DNSVIGIL" analyze -p "$port" --json "$tmp/cap.pcap" | jq .dns.queries) - sent))
"$DNSVIGIL" analyze --json "$tmp/out.tap" >"$tmp/tap.json" 2>"$tmp/tap.err"
"$DNSVIGIL" analyze -p "$port" --json "$tmp/cap.pcap" >"$tmp/pcap.json"
f() { jq -c '[.dns.queries, .dns.responses, (.dns.rcode.NXDOMAIN // 0), .transactions.answered, .dns.tcp]' "$1"; }
# Probes that got no answer before knotd listened are in the pcap only; they are queries
# knot never saw, so the pcap may have $probes more unanswered queries than dnstap.
want="[$sent,$sent,$nx,$sent,$((2 * tcp))]"
if [ "$(f "$tmp/tap.json")" = "$want" ]; then pass "sys/dnstap-equals-client"; else
    fail "sys/dnstap-equals-client" "dnstap $(f "$tmp/tap.json"), client $want; $(cat "$tmp/tap.err")"; fi
pc=$(jq -c "[.dns.queries - $probes, .dns.responses, (.dns.rcode.NXDOMAIN // 0), .transactions.answered, .dns.tcp]" "$tmp/pcap.json")
if [ "$pc" = "$(f "$tmp/tap.json")" ]; then pass "sys/dnstap-equals-pcap"; else
    fail "sys/dnstap-equals-pcap" "pcap $pc (minus $probes unanswered probes), dnstap $(f "$tmp/tap.json")"; fi
jq -e '.dnstap.messages == '"$((2 * sent))"' and .dnstap.bad_protobuf == 0' "$tmp/tap.json" >/dev/null &&
    pass "sys/dnstap-counters" || fail "sys/dnstap-counters" "$(jq -c .dnstap "$tmp/tap.json")"
"$DNSVIGIL" analyze -q --db "$tmp/t.db" "$tmp/out.tap" >/dev/null
src=$("$DNSVIGIL" report --db "$tmp/t.db" --format json | jq -c '[.sources.dnstap.runs, .app36.queries.source, .app36.queries.value]')
if [ "$src" = "[1,\"dnstap\",$sent]" ]; then pass "sys/dnstap-report-source"; else
    fail "sys/dnstap-report-source" "$src"; fi
# Damaged dnstap: a cut file ends with exit 1 and the byte offset; garbage frames are
# counted, never a crash.
size=$(stat -c %s "$tmp/out.tap")
head -c $((size - 7)) "$tmp/out.tap" >"$tmp/cut.tap"
"$DNSVIGIL" analyze --json "$tmp/cut.tap" >"$tmp/cut.json" 2>"$tmp/cut.err"
rc=$?
if [ "$rc" = 1 ] && grep -q "cut.tap: truncated at byte" "$tmp/cut.err" &&
    [ "$(jq .dns.queries "$tmp/cut.json")" -gt 0 ]; then pass "sys/dnstap-truncated"; else
    fail "sys/dnstap-truncated" "exit $rc: $(cat "$tmp/cut.err")"; fi
{ head -c 100 "$tmp/out.tap"; printf '\0\0\0\x10'; head -c 16 /dev/urandom; printf '\0\0\0\x05\x0a\x03abc'; } >"$tmp/junk.tap"
"$DNSVIGIL" analyze --json "$tmp/junk.tap" >"$tmp/junk.json" 2>"$tmp/junk.err"
rc=$?
if [ "$rc" -le 1 ] && jq -e .dnstap "$tmp/junk.json" >/dev/null; then pass "sys/dnstap-garbage"; else
    fail "sys/dnstap-garbage" "exit $rc: $(cat "$tmp/junk.err")"; fi
# Compressed dnstap is recognised by its content and read like the plain file.
zstd -q -c "$tmp/out.tap" >"$tmp/out.tap.zst"
"$DNSVIGIL" analyze --json "$tmp/out.tap.zst" >"$tmp/zst.json" 2>"$tmp/zst.err"
if [ "$(jq -S 'del(.inputs)' "$tmp/zst.json")" = "$(jq -S 'del(.inputs)' "$tmp/tap.json")" ]; then
    pass "sys/dnstap-zstd"
else
    fail "sys/dnstap-zstd" "$(head -3 "$tmp/zst.err")"
fi
