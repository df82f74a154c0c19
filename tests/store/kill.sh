#!/usr/bin/env bash
# Crash safety of the store: `dnsvigil analyze --db` is killed with SIGKILL at many points
# while it writes. After each kill the database must open, pass PRAGMA integrity_check, and
# hold every batch the writer reported as committed before the kill (-v prints "store: batch
# N committed (R rows, W windows)" after each COMMIT returns). A second analysis of the same
# input must then replace the interrupted run. KILLS (default 12) bounds the loop.
source "$(dirname "$0")/../lib.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
kills=${KILLS:-12}
"$TOP/$BUILD/tests/gen" day "$tmp/day.pcap" 2>/dev/null || { fail "store/kill" "gen day failed"; exit 0; }

# How long one full run takes here, to spread the kill points over it.
start=$(date +%s%N)
"$DNSVIGIL" analyze -q --no-progress --window 10 --db "$tmp/full.db" "$tmp/day.pcap" >/dev/null
full_ms=$((($(date +%s%N) - start) / 1000000))
full_windows=$(sqlite3 "$tmp/full.db" "SELECT count(*) FROM window_stats WHERE server='*'")
echo "    a full run takes ${full_ms} ms and stores ${full_windows} windows"

bad=0 checked=0 mid=0 mid_commits=0
for i in $(seq 1 "$kills"); do
    db="$tmp/k$i.db"
    # Kill points from 5% to 95% of a full run.
    delay_ms=$((full_ms * (5 + (90 * (i - 1)) / (kills - 1)) / 100))
    # Odd kill points: --db-shed (a live sensor's commit policy, a batch at least every
    # second: most kills land after some commits); even ones: the default complete store
    # (big batches: it must survive a kill just as well).
    mode=()
    [ $((i % 2)) = 1 ] && mode=(--db-shed)
    "$DNSVIGIL" analyze -v --no-progress --window 10 "${mode[@]}" --db "$db" "$tmp/day.pcap" \
        >/dev/null 2>"$tmp/err$i" &
    pid=$!
    sleep "$(awk -v ms="$delay_ms" 'BEGIN { printf "%.3f", ms / 1000 }')"
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    last=$(grep -o 'batch [0-9]* committed ([0-9]* rows, [0-9]* windows)' "$tmp/err$i" | tail -1)
    want=$(sed -n 's/.* \([0-9]*\) windows)/\1/p' <<<"$last")
    want=${want:-0}
    ic=$(sqlite3 "$db" "PRAGMA integrity_check" 2>&1)
    if [ "$want" -eq 0 ] && [ "$(sqlite3 "$db" "SELECT count(*) FROM sqlite_master" 2>&1)" = 0 ]; then
        # Killed before the schema was committed: an empty database is all there can be.
        have=0
    else
        have=$(sqlite3 "$db" "SELECT count(*) FROM window_stats WHERE server='*'" 2>&1)
    fi
    status=$(sqlite3 "$db" "SELECT status FROM run" 2>&1)
    checked=$((checked + 1))
    [ "$status" = running ] && mid=$((mid + 1))
    [ "$status" = running ] && [ "$want" -gt 0 ] && mid_commits=$((mid_commits + 1))
    if [ "$ic" != ok ] || ! [[ "$have" =~ ^[0-9]+$ ]] || [ "$have" -lt "$want" ]; then
        bad=$((bad + 1))
        echo "    kill $i at ${delay_ms} ms: integrity '$ic', $have windows stored, $want reported committed"
    else
        echo "    kill $i at ${delay_ms} ms: ok, $have windows stored >= $want committed (run $status)"
    fi
done
if [ "$bad" -eq 0 ]; then
    pass "store/sigkill-${checked}-points"
else
    fail "store/sigkill" "$bad of $checked kill points lost committed data or broke the file"
fi
# At least some kills must have hit the middle of a run after a commit, or the test proved
# nothing.
if [ "$mid" -ge 3 ] && [ "$mid_commits" -ge 2 ]; then
    pass "store/sigkill-hit-mid-run ($mid of $checked, $mid_commits after a commit)"
else
    fail "store/sigkill-hit-mid-run" "only $mid of $checked kills interrupted a run, $mid_commits after a commit"
fi

# The interrupted run is replaced by a complete analysis of the same input.
db="$tmp/k$((kills / 2)).db"
"$DNSVIGIL" analyze -q --no-progress --window 10 --db "$db" "$tmp/day.pcap" >/dev/null
runs=$(sqlite3 "$db" "SELECT count(*) || ' ' || group_concat(status) FROM run")
have=$(sqlite3 "$db" "SELECT count(*) FROM window_stats WHERE server='*'")
if [ "$runs" = "1 complete" ] && [ "$have" = "$full_windows" ]; then
    pass "store/rerun-after-kill"
else
    fail "store/rerun-after-kill" "runs '$runs', $have windows (want 1 complete, $full_windows)"
fi
