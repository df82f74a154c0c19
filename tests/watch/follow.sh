#!/usr/bin/env bash
# `watch` with side inputs: Unbound sends dnstap to `--dnstap-socket` (the bidirectional
# Frame Streams handshake) and writes its query log, which `--log` follows; a second log is
# written by the test, rotated (renamed and recreated) and truncated while it is followed.
# Checks: the queries counted from dnstap equal the client's; every query line of Unbound's
# log and every line of the rotated log arrive (store and alerts); the expiry line in the
# rotated log raises the zone-expiry alert.
source "$(dirname "$0")/../lib.sh"
sys_need watch/follow unbound dig || exit 0
if [ "$(id -u)" != 0 ]; then
    skip "watch/follow" "needs root (capture device, drop to nobody)"
    exit 0
fi
sys_setup
chmod 777 "$tmp"
PU=$((20000 + RANDOM % 20000))
cat >"$tmp/unbound.conf" <<CONF
server:
    interface: 127.0.0.1@$PU
    port: $PU
    username: ""
    chroot: ""
    directory: "$tmp"
    pidfile: "$tmp/unbound.pid"
    logfile: "$tmp/unbound.log"
    use-syslog: no
    log-queries: yes
    log-replies: yes
    verbosity: 1
    module-config: "iterator"
    access-control: 127.0.0.0/8 allow
local-zone: "lab.test." static
local-data: "www.lab.test. 300 IN A 192.0.2.99"
remote-control:
    control-enable: no
dnstap:
    dnstap-enable: yes
    dnstap-socket-path: "$tmp/dt.sock"
    dnstap-send-identity: yes
    dnstap-log-client-query-messages: yes
    dnstap-log-client-response-messages: yes
CONF
: >"$tmp/unbound.log"
: >"$tmp/bind.log"
chmod 666 "$tmp/unbound.log" "$tmp/bind.log"
"$DNSVIGIL" watch -i lo -f "udp port 9" --daemon --no-syslog -v --db "$tmp/w.db" \
    --log "$tmp/unbound.log" --log "$tmp/bind.log" --dnstap-socket "$tmp/dt.sock" \
    -o "$tmp/summary.json" >"$tmp/alerts.jsonl" 2>"$tmp/err" &
wpid=$!
SYS_PIDS+=("$wpid")
for _ in $(seq 1 100); do grep -q "capturing on lo" "$tmp/err" && break; sleep 0.1; done
unbound -d -c "$tmp/unbound.conf" >"$tmp/ub.err" 2>&1 &
upid=$!
SYS_PIDS+=("$upid")
for _ in $(seq 1 100); do
    dig +tries=1 +time=1 @127.0.0.1 -p "$PU" www.lab.test A 2>/dev/null | grep -q NOERROR && break
    sleep 0.1
done
sent=1 # the readiness probe that answered
for i in $(seq 1 9); do
    dig +tries=1 +time=2 @127.0.0.1 -p "$PU" www.lab.test A >/dev/null 2>&1 && sent=$((sent + 1))
    dig +tries=1 +time=2 @127.0.0.1 -p "$PU" "nx$i.lab.test" A >/dev/null 2>&1 && sent=$((sent + 1))
done
# The hand-written BIND log: lines, rotation, more lines, truncation, more lines.
line() { echo "24-Nov-2026 00:0$1:00.000 general: info: zone z$2.test/IN: refresh: failure trying primary 192.0.2.1#53 (source 0.0.0.0#0): timed out" >>"$tmp/bind.log"; }
line 1 1
line 1 2
sleep 1.2
mv "$tmp/bind.log" "$tmp/bind.log.1"
line 2 3
sleep 1.2
: >"$tmp/bind.log"
sleep 1.2 # (truncation is seen when the file is shorter than what was read: as with tail -F,
# lines written between the truncation and the next look would be mistaken for old ones)
line 3 4
echo "24-Nov-2026 00:04:00.000 general: warning: zone z4.test/IN: expired" >>"$tmp/bind.log"
sleep 2
kill -TERM "$upid"
wait "$upid" 2>/dev/null
sleep 1
kill -TERM "$wpid"
rc=0
wait "$wpid" || rc=$?
check() { if [ "$2" = "$3" ]; then pass "watch/follow-$1"; else fail "watch/follow-$1" "got $2, want $3"; fi; }
check exit "$rc" 0
check dnstap-queries "$(jq .dns.queries "$tmp/summary.json")" "$sent"
check dnstap-answered "$(jq .transactions.answered "$tmp/summary.json")" "$sent"
check unbound-log-queries "$(sqlite3 "$tmp/w.db" "SELECT sum(json_extract(detail,'\$.queries')) || '/' || sum(json_extract(detail,'\$.replies')) FROM log_event WHERE kind='queries'")" "$sent/$sent"
check rotated-log-events "$(sqlite3 "$tmp/w.db" "SELECT group_concat(zone, ' ') FROM (SELECT zone FROM log_event WHERE kind='refresh_failed' ORDER BY ts_ns, id)")" "z1.test. z2.test. z3.test. z4.test."
check expiry-alert "$(jq '[.alerts[] | select(.rule == "zone-expiry" and .zone == "z4.test.")] | length' "$tmp/summary.json")" 1
