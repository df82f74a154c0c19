#!/usr/bin/env bash
# Server logs from real servers (issue 7): an NSD primary on 127.0.0.1 serves example.test
# (SOA refresh 30, retry 15, expire 120) to three secondaries - BIND 9, Knot DNS and NSD -
# configured with the lowest refresh/retry/expire limits their versions allow, and refuses
# transfers of refused.test; Unbound (log-queries, log-replies) and BIND (query log) answer
# dig. Once every secondary has the zone, the primary stops; the test waits (at most 240 s)
# until all three log the expiry. dnsvigil then reads the logs they wrote: the events of
# each server, the xfr-failed and zone-expiry alerts, the query counts against the client,
# and the ISO report (failed transfers and expired zones with source "logs"; a pcap taken
# at the same time supplies the SOA expire for the BIND/NSD time-to-expiry warning).
source "$(dirname "$0")/../lib.sh"
sys_need sys/logs nsd named knotd unbound dig tcpdump || exit 0
sys_setup
chmod 777 "$tmp"
base=$((20000 + RANDOM % 20000))
P1=$base PB=$((base + 1)) PK=$((base + 2)) PN=$((base + 3)) PU=$((base + 4))
mkdir -p "$tmp"/{p,bind,knot/db,nsd2,ub}
chmod -R 777 "$tmp"
for z in example refused; do
    cat >"$tmp/p/$z.test.zone" <<ZONE
\$ORIGIN $z.test.
\$TTL 300
@ IN SOA ns1 hostmaster 2026112301 30 15 120 30
@ IN NS ns1
ns1 IN A 127.0.0.1
www IN A 192.0.2.80
ZONE
done
nsd_conf() { # dir port zones...
    local d=$1 p=$2
    shift 2
    cat <<CONF
server:
    ip-address: 127.0.0.1@$p
    port: $p
    username: ""
    chroot: ""
    zonesdir: "$d"
    database: ""
    pidfile: "$d/nsd.pid"
    xfrdfile: "$d/xfrd.state"
    zonelistfile: "$d/zone.list"
    xfrdir: "$d"
    logfile: "$d/nsd.log"
    server-count: 1
    verbosity: 2
remote-control:
    control-enable: no
$*
CONF
}
nsd_conf "$tmp/p" "$P1" "
zone:
    name: example.test
    zonefile: example.test.zone
    provide-xfr: 127.0.0.1 NOKEY
zone:
    name: refused.test
    zonefile: refused.test.zone" >"$tmp/p/nsd.conf"
nsd_conf "$tmp/nsd2" "$PN" "
pattern:
    name: sec
    request-xfr: 127.0.0.1@$P1 NOKEY
    min-refresh-time: 1
    min-retry-time: 1
    min-expire-time: 1
zone:
    name: example.test
    include-pattern: sec
zone:
    name: refused.test
    include-pattern: sec" >"$tmp/nsd2/nsd.conf"
cat >"$tmp/bind/named.conf" <<CONF
options { directory "$tmp/bind"; listen-on port $PB { 127.0.0.1; }; listen-on-v6 { none; };
  pid-file "$tmp/bind/named.pid"; recursion no; dnssec-validation no; notify no;
  min-refresh-time 1; max-refresh-time 30; min-retry-time 1; max-retry-time 15; };
controls { };
logging { channel f { file "$tmp/bind/named.log"; print-time yes; print-category yes;
  print-severity yes; severity info; }; category default { f; }; category general { f; };
  category xfer-in { f; }; category xfer-out { f; }; category queries { f; };
  category notify { f; }; category security { f; }; };
zone "example.test" { type secondary; primaries { 127.0.0.1 port $P1; }; file "example.bk"; };
zone "refused.test" { type secondary; primaries { 127.0.0.1 port $P1; }; file "refused.bk"; };
CONF
cat >"$tmp/knot/knot.conf" <<CONF
server:
    listen: 127.0.0.1@$PK
    rundir: $tmp/knot
    pidfile: $tmp/knot/knot.pid
log:
  - target: $tmp/knot/knot.log
    any: info
database:
    storage: $tmp/knot/db
remote:
  - id: primary
    address: 127.0.0.1@$P1
template:
  - id: default
    storage: $tmp/knot
    refresh-min-interval: 2
    retry-min-interval: 2
    retry-max-interval: 15
    expire-min-interval: 3
zone:
  - domain: example.test
    master: primary
  - domain: refused.test
    master: primary
CONF
sys_unbound_conf "$tmp/ub" "$PU"
cat >>"$tmp/ub/unbound.conf" <<CONF
    log-queries: yes
    log-replies: yes
    verbosity: 1
local-zone: "lab.test." static
local-data: "www.lab.test. 300 IN A 192.0.2.99"
remote-control:
    control-enable: no
CONF
sys_capture_start "port $P1"
for _ in $(seq 1 50); do grep -q "listening on" "$tmp/tcpdump.log" 2>/dev/null && break; sleep 0.1; done
nsd -d -c "$tmp/p/nsd.conf" 2>>"$tmp/p/nsd.err" &
ppid=$!
SYS_PIDS+=("$ppid")
sleep 1
named -f -c "$tmp/bind/named.conf" -u root >"$tmp/bind/stderr" 2>&1 &
SYS_PIDS+=($!)
knotd -c "$tmp/knot/knot.conf" >"$tmp/knot/stderr" 2>&1 &
SYS_PIDS+=($!)
nsd -d -c "$tmp/nsd2/nsd.conf" 2>>"$tmp/nsd2/nsd.err" &
SYS_PIDS+=($!)
unbound -d -c "$tmp/ub/unbound.conf" >"$tmp/ub/stderr" 2>&1 &
SYS_PIDS+=($!)
have_zone() {
    grep -q "Transfer status: success" "$tmp/bind/named.log" 2>/dev/null &&
        grep -q "example.test.\] AXFR, incoming.*finished" "$tmp/knot/knot.log" 2>/dev/null &&
        grep -q "zone example.test committed" "$tmp/nsd2/nsd.log" 2>/dev/null
}
for _ in $(seq 1 300); do have_zone && break; sleep 0.1; done
if ! have_zone; then
    fail "sys/logs" "the secondaries did not get the zone: $(tail -2 "$tmp/bind/named.log" "$tmp/knot/stderr" "$tmp/nsd2/nsd.log")"
    exit 0
fi
nb=0 nu=0
for i in $(seq 1 5); do
    dig +tries=1 +time=2 @127.0.0.1 -p "$PB" www.example.test A >/dev/null 2>&1 && nb=$((nb + 1))
    dig +tries=1 +time=2 @127.0.0.1 -p "$PU" www.lab.test A >/dev/null 2>&1 && nu=$((nu + 1))
    dig +tries=1 +time=2 @127.0.0.1 -p "$PU" "nx$i.lab.test" A >/dev/null 2>&1 && nu=$((nu + 1))
done
kill -TERM "$ppid"
expired() {
    grep -q "example.test/IN: expired" "$tmp/bind/named.log" &&
        grep -q "\[example.test.\] zone expired" "$tmp/knot/knot.log" &&
        grep -q "zone example.test has expired" "$tmp/nsd2/nsd.log"
}
for _ in $(seq 1 240); do expired && break; sleep 1; done
for p in "${SYS_PIDS[@]}"; do kill "$p" 2>/dev/null; done
wait 2>/dev/null
if expired; then pass "sys/logs-secondaries-expired"; else
    fail "sys/logs-secondaries-expired" "not all expired within 240 s"; fi
[ -n "${LOGS_KEEP:-}" ] && cp -r "$tmp" "$LOGS_KEEP"

ev() { "$DNSVIGIL" analyze --json "$1" 2>/dev/null | jq -c "$2"; }
check() { # check NAME GOT WANT
    if [ "$2" = "$3" ]; then pass "sys/logs-$1"; else fail "sys/logs-$1" "got $2, want $3"; fi
}
E='.logs.events'
check bind-events "$(ev "$tmp/bind/named.log" "[$E.transfer_succeeded > 0, $E.refresh_failed > 0, $E.zone_expired, $E.query, .logs.skipped.unparsed, .logs.unparsed_sample]")" "[true,true,1,$nb,0,\"\"]"
check knot-events "$(ev "$tmp/knot/knot.log" "[$E.transfer_succeeded > 0, $E.transfer_failed > 0, $E.zone_expires_in > 0, $E.zone_expired, .logs.skipped.unparsed, .logs.unparsed_sample]")" "[true,true,true,1,0,\"\"]"
check nsd-events "$(ev "$tmp/nsd2/nsd.log" "[$E.transfer_succeeded > 0, $E.transfer_failed > 0, $E.refresh_failed > 0, $E.zone_expired, .logs.skipped.unparsed, .logs.unparsed_sample]")" "[true,true,true,1,0,\"\"]"
check unbound-events "$(ev "$tmp/ub/unbound.log" "[$E.query, $E.reply, .logs.skipped.unparsed]")" "[$nu,$nu,0]"
check primary-events "$(ev "$tmp/p/nsd.log" "[$E.transfer_served > 0, $E.transfer_denied > 0]")" "[true,true]"
for s in bind knot nsd; do
    case $s in bind) f=$tmp/bind/named.log ;; knot) f=$tmp/knot/knot.log ;; nsd) f=$tmp/nsd2/nsd.log ;; esac
    check "$s-alerts" "$(ev "$f" '[.alerts[] | select(.rule == "zone-expiry" and .severity == "critical" and .zone == "example.test.")] | length')" 1
    check "$s-xfr-alert" "$(ev "$f" '[.alerts[] | select(.rule == "xfr-failed" and .zone == "refused.test.")] | length')" 1
done
# Knot says how long the zone has left; BIND and NSD do not: the SOA expire comes from the
# secondaries' SOA queries on the wire (the pcap), read before the logs.
check knot-expiring "$(ev "$tmp/knot/knot.log" '[.alerts[] | select(.rule == "zone-expiry" and .severity == "warning")] | length')" 1
check bind-expiring-from-wire "$("$DNSVIGIL" analyze --json -p "$P1" "$tmp/cap.pcap" "$tmp/bind/named.log" | jq '[.alerts[] | select(.rule == "zone-expiry" and .severity == "warning" and (.server | startswith("bind ")))] | length')" 1
# Two servers' logs of the same format stay apart: each alert names the log it came from.
cp "$tmp/bind/named.log" "$tmp/named-copy.log"
check logs-writer-apart "$(ev2() { "$DNSVIGIL" analyze --json "$@" | jq -c '[.alerts[] | select(.rule == "zone-expiry" and .severity == "critical") | .server] | sort'; }; ev2 "$tmp/bind/named.log" "$tmp/named-copy.log")" \
    "[\"bind bind/named.log\",\"bind $(basename "$tmp")/named-copy.log\"]"
# The ISO report from the store.
"$DNSVIGIL" analyze -q -p "$P1" --db "$tmp/r.db" "$tmp/cap.pcap" >/dev/null
for f in "$tmp/bind/named.log" "$tmp/knot/knot.log" "$tmp/nsd2/nsd.log" "$tmp/ub/unbound.log"; do
    "$DNSVIGIL" analyze -q --db "$tmp/r.db" "$f" >/dev/null
done
"$DNSVIGIL" report --db "$tmp/r.db" --since 1h --format json >"$tmp/r.json"
check report-expired "$(jq -c '[.app36.expiring_zones[] | select(.zone == "example.test." and .status == "expired" and .source == "logs") | .server] | sort' "$tmp/r.json")" '["bind secondary","knot secondary","nsd secondary"]'
check report-failed-refused "$(jq '[.app36.failed_transfers[] | select(.zone == "refused.test." and .source == "logs")] | length > 0' "$tmp/r.json")" true
check report-logs-source "$(jq -r '.sources.logs.runs' "$tmp/r.json")" 4
