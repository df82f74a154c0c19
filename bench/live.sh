#!/usr/bin/env bash
# Part of `make bench`: the live sensor.
# 1. Soak: `dnsvigil watch -r` replays the benchmark capture in a loop at full speed for
#    SOAK_SECONDS (default 180) through the live path; RSS is sampled every 10 s and the
#    first and last samples are reported (flat = bounded tables).
# 2. Live rate: tcpreplay sends the benchmark capture onto a veth pair in a network
#    namespace this script creates, while `dnsvigil watch -i` captures on the other end;
#    at fixed rates and at --topspeed. Reported: the rate reached, frames seen by dnsvigil,
#    kernel drops (the capture buffer overflowed: dnsvigil too slow), interface drops, and
#    dnsvigil's CPU use (its headroom at that rate). Needs root, iproute2 and tcpreplay.
# Appends a Markdown section to $1 (bench/out/results.md).
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
out=$1
cap=$2
dv="$top/dnsvigil"
soak=${SOAK_SECONDS:-180}
tmp=$(mktemp -d)
chmod 777 "$tmp"
ns=dvbench$$
cleanup() {
    [ -n "${wpid:-}" ] && kill "$wpid" 2>/dev/null
    ip netns del "$ns" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT

rss() { awk '/^VmRSS:/ {print int($2 / 1024)}' "/proc/$1/status" 2>/dev/null; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null; }

{
    echo
    echo "### Live sensor"
    echo
} >>"$out"

# ---- soak ----
port=$((20000 + RANDOM % 20000))
"$dv" watch -r "$cap" --speed 0 --loop 1000000 --daemon --no-syslog --metrics "127.0.0.1:$port" \
    >/dev/null 2>"$tmp/soak.err" &
wpid=$!
samples=()
for ((t = 10; t <= soak; t += 10)); do
    sleep 10
    samples+=("$(rss "$wpid")")
done
pk=$(curl -s --max-time 2 "http://127.0.0.1:$port/metrics" | awk '$1 == "dnsvigil_packets_total" {print $2}')
kill -TERM "$wpid"
wait "$wpid" 2>/dev/null
wpid=""
echo "Soak: \`watch -r\` looping over $(basename "$cap") at full speed for ${soak} s: ${pk:-?} packets; RSS every 10 s (MiB): ${samples[*]} (first ${samples[0]:-?}, last ${samples[-1]:-?})." | tee -a "$out"
echo >>"$out"

# ---- live rate on a veth pair in a namespace ----
if [ "$(id -u)" != 0 ] || ! command -v tcpreplay >/dev/null || ! command -v ip >/dev/null; then
    echo "Live rate: skipped (needs root, iproute2 and tcpreplay)." | tee -a "$out"
    exit 0
fi
ip netns add "$ns" || exit 0
ip -n "$ns" link add dv0 type veth peer name dv1
ip -n "$ns" link set dv0 up
ip -n "$ns" link set dv1 up
ip -n "$ns" link set dv0 mtu 9000
ip -n "$ns" link set dv1 mtu 9000
hz=$(getconf CLK_TCK)
{
    echo "| tcpreplay rate | packets sent | seen by dnsvigil | kernel drops | interface drops | dnsvigil CPU |"
    echo "|---|---|---|---|---|---|"
} >>"$out"
for rate in 100000 200000 top; do
    limit=1000000
    args=(--pps="$rate")
    [ "$rate" = top ] && args=(--topspeed) && limit=2000000
    ip netns exec "$ns" "$dv" watch -i dv1 --daemon --no-syslog --no-rules --buffer 256 \
        -o "$tmp/live.json" -v >/dev/null 2>"$tmp/live.err" &
    wpid=$!
    for _ in $(seq 1 100); do grep -q "capturing on" "$tmp/live.err" && break; sleep 0.1; done
    c0=$(cpu_ticks "$wpid")
    t0=$(date +%s%N)
    ip netns exec "$ns" tcpreplay -i dv0 "${args[@]}" --limit="$limit" "$cap" >"$tmp/replay.out" 2>&1
    t1=$(date +%s%N)
    c1=$(cpu_ticks "$wpid")
    sleep 2
    kill -TERM "$wpid"
    wait "$wpid" 2>/dev/null
    wpid=""
    sent=$(sed -n 's/.*Actual: \([0-9]*\) packets.*/\1/p' "$tmp/replay.out")
    pps=$(sed -n 's/.*Rated: [0-9.]* Bps, [0-9.]* Mbps, \([0-9.]*\) pps.*/\1/p' "$tmp/replay.out")
    seen=$(jq '.capture.packets' "$tmp/live.json" 2>/dev/null)
    kd=$(jq '.loss.kernel_drops' "$tmp/live.json" 2>/dev/null)
    idr=$(jq '.loss.interface_drops' "$tmp/live.json" 2>/dev/null)
    cpu=$(awk -v a="$c0" -v b="$c1" -v hz="$hz" -v t0="$t0" -v t1="$t1" \
        'BEGIN { printf "%.0f%% of a core", 100 * (b - a) / hz / ((t1 - t0) / 1e9) }')
    label=$rate
    [ "$rate" = top ] && label="--topspeed"
    echo "| $label (reached ${pps:-?} pps) | ${sent:-?} | ${seen:-?} | ${kd:-?} | ${idr:-?} | $cpu |" | tee -a "$out"
done
