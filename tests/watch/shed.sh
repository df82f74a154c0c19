#!/usr/bin/env bash
# Store shedding during watch, forced for real: another process holds the database's write
# lock (sqlite3, BEGIN IMMEDIATE) for a few seconds while `watch -r mix.pcap --db-shed`
# replays a 2,000,000-packet resolver mix at full speed, so the writer waits on the lock,
# the ring fills and passive DNS is shed. After the replay (--linger), the metrics endpoint's
# dnsvigil_store_detail_dropped_total must be greater than 0 and equal the drop figures of
# the JSON summary (store.dropped), and the store must hold what the summary says it wrote.
source "$(dirname "$0")/../lib.sh"
sys_need watch/shed curl sqlite3 || exit 0
tmp=$(mktemp -d)
chmod 777 "$tmp"
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$tmp"' EXIT
"$TOP/$BUILD/tests/gen" bench "$tmp/mix.pcap" 2000000 >/dev/null 2>&1
chmod 644 "$tmp/mix.pcap"
port=$((20000 + RANDOM % 20000))
"$DNSVIGIL" watch -r "$tmp/mix.pcap" --speed 0 --daemon --no-syslog --linger 15 --db-shed \
    --db "$tmp/w.db" --metrics "127.0.0.1:$port" -o "$tmp/summary.json" >/dev/null 2>"$tmp/err" &
pid=$!
pids+=("$pid")
# As soon as the run is in the database, take the write lock for 6 s.
for _ in $(seq 1 100); do
    [ "$(sqlite3 "$tmp/w.db" "SELECT count(*) FROM run" 2>/dev/null)" = 1 ] && break
    sleep 0.05
done
{ echo "BEGIN IMMEDIATE;"; sleep 6; echo "COMMIT;"; } | sqlite3 "$tmp/w.db" 2>"$tmp/lock.err" &
pids+=($!)
scrape() { curl -s --max-time 2 "http://127.0.0.1:$port/metrics"; }
for _ in $(seq 1 150); do
    sleep 0.2
    scrape >"$tmp/m" 2>/dev/null || continue
    grep -q '^dnsvigil_input_finished 1$' "$tmp/m" && break
done
kill -TERM "$pid"
wait "$pid"
rc=$?
metric=$(awk '$1 == "dnsvigil_store_detail_dropped_total" {print $2}' "$tmp/m")
json=$(jq '[.store.dropped.windows, .store.dropped.transactions, .store.dropped.messages,
            .store.dropped.events, .store.dropped.alerts, .store.dropped.top] | add' "$tmp/summary.json")
if [ "$rc" = 0 ] && [ -n "$metric" ] && [ "${json:-0}" -gt 0 ] && [ "$metric" = "$json" ]; then
    pass "watch/shed-metric-equals-summary ($json records shed)"
else
    fail "watch/shed-metric-equals-summary" "exit $rc, metric '$metric', summary '$json': $(tail -n 2 "$tmp/err" "$tmp/lock.err")"
fi
# Windows and alerts are never shed, and the store holds every window the summary counts.
check() { if [ "$2" = "$3" ]; then pass "watch/$1"; else fail "watch/$1" "got '$2', want '$3'"; fi; }
check shed-windows-kept "$(jq '.store.dropped.windows + .store.dropped.alerts' "$tmp/summary.json")" 0
check shed-windows-stored "$(sqlite3 "$tmp/w.db" "SELECT count(*) FROM window_stats WHERE server='*'")" \
    "$(jq .store.windows "$tmp/summary.json")"
check shed-run-detail-dropped "$(sqlite3 "$tmp/w.db" "SELECT detail_dropped FROM run")" "$json"
