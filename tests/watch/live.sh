#!/usr/bin/env bash
# Live capture on loopback: a real NSD on 127.0.0.1 (random high port) answers dig over UDP
# and TCP while `dnsvigil watch -i lo --daemon` captures. Checks: after start the sensor runs
# as nobody with no capability (/proc/PID/status) and still captures; SIGUSR1 writes a
# status line; SIGHUP reopens the alerts file (logrotate); SIGTERM exits 0 with the store
# flushed; the counts in its JSON summary, status line and store equal the client's.
source "$(dirname "$0")/../lib.sh"
sys_need watch/live nsd dig || exit 0
if [ "$(id -u)" != 0 ]; then
    skip "watch/live" "needs root to capture on lo and to drop to nobody"
    exit 0
fi
sys_setup
chmod 777 "$tmp"
port=$((20000 + RANDOM % 20000))
cat >"$tmp/example.test.zone" <<ZONE
\$ORIGIN example.test.
\$TTL 300
@       IN SOA ns1 hostmaster 2026112301 3600 900 604800 300
@       IN NS  ns1
ns1     IN A   127.0.0.1
www     IN A   192.0.2.80
ZONE
sys_nsd_start "$port"
for _ in $(seq 1 100); do
    dig +tries=1 +time=1 @127.0.0.1 -p "$port" example.test SOA 2>/dev/null | grep -q NOERROR && break
    sleep 0.1
done

"$DNSVIGIL" watch -i lo -f "port $port" -p "$port" --daemon --no-syslog -v \
    --db "$tmp/live.db" --alerts-jsonl "$tmp/alerts.jsonl" -o "$tmp/summary.json" \
    >"$tmp/out" 2>"$tmp/err" &
pid=$!
SYS_PIDS+=("$pid")
for _ in $(seq 1 100); do grep -q "capturing on lo" "$tmp/err" && break; sleep 0.1; done
if ! grep -q "capturing on lo" "$tmp/err"; then
    fail "watch/live-start" "$(tail -5 "$tmp/err")"
    exit 0
fi
pass "watch/live-start"

# Privileges: nobody, no effective/permitted/bounding capability.
uid=$(awk '/^Uid:/ {print $2 $3 $4 $5}' "/proc/$pid/status")
nobody=$(id -u nobody)
caps=$(awk '/^Cap(Eff|Prm|Bnd):/ {printf "%s ", $2}' "/proc/$pid/status")
if [ "$uid" = "$nobody$nobody$nobody$nobody" ] &&
    [ "$caps" = "0000000000000000 0000000000000000 0000000000000000 " ]; then
    pass "watch/live-runs-as-nobody-without-capabilities"
else
    fail "watch/live-runs-as-nobody-without-capabilities" "Uid $uid, caps $caps"
fi

sent=0
for i in $(seq 1 10); do
    dig +tries=1 +time=2 @127.0.0.1 -p "$port" www.example.test A >/dev/null && sent=$((sent + 1))
    dig +tries=1 +time=2 +tcp @127.0.0.1 -p "$port" "nx$i.example.test" A >/dev/null &&
        sent=$((sent + 1))
done
sleep 1.5 # a snapshot is published every second
kill -USR1 "$pid"
for _ in $(seq 1 50); do grep -q "status:" "$tmp/err" && break; sleep 0.1; done
st=$(grep "status:" "$tmp/err" | tail -1)
if grep -q "$sent queries, $sent responses" <<<"$st"; then pass "watch/live-status-line"; else
    fail "watch/live-status-line" "want $sent queries and responses: $st"; fi

mv "$tmp/alerts.jsonl" "$tmp/alerts.jsonl.1"
kill -HUP "$pid"
for _ in $(seq 1 50); do [ -e "$tmp/alerts.jsonl" ] && break; sleep 0.1; done
if [ -e "$tmp/alerts.jsonl" ]; then pass "watch/live-sighup-reopens"; else
    fail "watch/live-sighup-reopens" "$(tail -3 "$tmp/err")"; fi

kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
if [ "$rc" = 0 ]; then pass "watch/live-sigterm-exit-0"; else
    fail "watch/live-sigterm-exit-0" "exit $rc: $(tail -3 "$tmp/err")"; fi
got=$(jq -c '[.dns.queries, .dns.responses, .transactions.answered, .dns.tcp > 0]' "$tmp/summary.json" 2>&1)
if [ "$got" = "[$sent,$sent,$sent,true]" ]; then pass "watch/live-counts-equal-client"; else
    fail "watch/live-counts-equal-client" "got $got, the client sent $sent (all answered)"; fi
db=$(sqlite3 "$tmp/live.db" "SELECT (SELECT status FROM run), (SELECT sum(queries) FROM window_stats WHERE server='*')" 2>&1)
if [ "$db" = "stopped|$sent" ]; then pass "watch/live-store-flushed"; else
    fail "watch/live-store-flushed" "run status|queries = $db, want stopped|$sent"; fi
