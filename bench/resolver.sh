#!/usr/bin/env bash
# Records the real-resolver benchmark capture: dnsperf drives Unbound (127.0.0.1) which
# forwards to NSD (127.0.0.1), tcpdump captures both legs, all on loopback. The zone has
# 20,000 names with short TTLs, so the resolver keeps asking upstream and passive DNS sees
# a realistic share of repeats. Usage: bench/resolver.sh OUT.pcap [SECONDS] [QPS]
# (defaults 30 s at 15,000 queries/s: about 1 M packets). Processes are stopped by PID.
set -u
out=$1
secs=${2:-30}
qps=${3:-15000}
RESULTS=/dev/null
source "$(dirname "$0")/../tests/lib.sh"
for t in nsd unbound dnsperf tcpdump dig; do
    command -v "$t" >/dev/null || { echo "bench/resolver: $t is not installed" >&2; exit 1; }
done
sys_setup
pa=$((20000 + RANDOM % 10000))
pr=$((30000 + RANDOM % 10000))
{
    echo "\$ORIGIN example.test."
    echo "\$TTL 10"
    echo "@ IN SOA ns1 hostmaster 2026112301 3600 900 604800 10"
    echo "@ IN NS ns1"
    echo "@ IN MX 10 mail"
    echo "ns1 IN A 127.0.0.1"
    echo "mail IN A 192.0.2.25"
    for i in $(seq 1 20000); do
        echo "h$i IN A 10.$((i / 65536 % 256)).$((i / 256 % 256)).$((i % 256))"
        [ $((i % 4)) = 0 ] && printf "h%d IN AAAA 2001:db8::%x\n" "$i" "$i"
        [ $((i % 50)) = 0 ] && echo "w$i IN CNAME h$i"
    done
} >"$tmp/example.test.zone"
sys_unbound_forwarder "$tmp" "$pr" "$pa" 10
sys_nsd_start "$pa"
unbound -d -c "$tmp/unbound.conf" >>"$tmp/unbound.log" 2>&1 &
SYS_PIDS+=($!)
# A big kernel buffer and no immediate mode: at benchmark rates tcpdump must not drop.
tcpdump -i lo -B 262144 -n -s 0 -w "$tmp/cap.pcap" "port $pa or port $pr" 2>"$tmp/tcpdump.log" &
SYS_CAP_PID=$!
SYS_PIDS+=("$SYS_CAP_PID")
if ! sys_wait_ready "$pr" example.test NOERROR; then
    echo "bench/resolver: servers did not start: $(tail -n 3 "$tmp/unbound.log" "$tmp/nsd.log" 2>&1 | tr "\n" " ")" >&2
    exit 1
fi
for i in $(seq 1 20000); do
    echo "h$i.example.test A"
    [ $((i % 4)) = 0 ] && echo "h$i.example.test AAAA"
    [ $((i % 10)) = 0 ] && echo "nx$i.example.test A"
    [ $((i % 50)) = 0 ] && echo "w$i.example.test A"
done | shuf --random-source=<(yes) >"$tmp/queries"
dnsperf -s 127.0.0.1 -p "$pr" -d "$tmp/queries" -l "$secs" -Q "$qps" -c 8 -t 3 >"$tmp/dnsperf.out" 2>&1
sys_capture_stop
mv "$tmp/cap.pcap" "$out"
echo "bench/resolver: $(grep -o 'Queries sent: *[0-9]*' "$tmp/dnsperf.out"), ports $pa/$pr; tcpdump: $(grep -o '[0-9]* packets dropped by kernel' "$tmp/tcpdump.log")" >&2
echo "$pa,$pr"
