#!/usr/bin/env bash
# System test: a real NSD on 127.0.0.1 (random high port) answers queries from dig over UDP
# and TCP, with and without EDNS, while tcpdump captures on loopback. dnsvigil's counts from
# that capture must equal what the client itself sent and received, and what tshark counts.
# Traffic stays on loopback; every loop is bounded; all processes are stopped on exit.
source "$(dirname "$0")/../lib.sh"
sys_need sys/nsd nsd dig tcpdump tshark || exit 0
sys_setup
port=$((20000 + RANDOM % 20000))

cat >"$tmp/example.test.zone" <<ZONE
\$ORIGIN example.test.
\$TTL 300
@       IN SOA ns1 hostmaster 2026112301 3600 900 604800 300
@       IN NS  ns1
@       IN MX  10 mail
ns1     IN A   127.0.0.1
www     IN A   192.0.2.80
www     IN AAAA 2001:db8::80
mail    IN A   192.0.2.25
mail    IN AAAA 2001:db8::25
txt     IN TXT "v=spf1 -all"
ZONE
sys_nsd_start "$port"
sys_capture_start "port $port"
if ! sys_wait_ready "$port" example.test NOERROR; then
    fail "sys/nsd" "server or capture did not start: $(tail -3 "$tmp/nsd.log" "$tmp/tcpdump.log")"
    exit 0
fi

# The readiness probes were captured too: count them as client queries below.
declare -A want_rcode want_qtype
sent=0
answered=0
tcp_q=0
ask() { # ask NAME TYPE [dig options...]
    local name=$1 type=$2
    shift 2
    sent=$((sent + 1))
    want_qtype[$type]=$((${want_qtype[$type]:-0} + 1))
    case " $* " in *" +tcp "*) tcp_q=$((tcp_q + 1)) ;; esac
    local st
    st=$(dig +tries=1 +time=2 "$@" @127.0.0.1 -p "$port" "$name" "$type" 2>&1 |
        sed -n 's/.*status: \([A-Z]*\),.*/\1/p')
    if [ -n "$st" ]; then
        answered=$((answered + 1))
        want_rcode[$st]=$((${want_rcode[$st]:-0} + 1))
    fi
}
# Probe queries made while waiting (all answered NOERROR, SOA).
probes=$(tshark -n -r "$tmp/cap.pcap" -d "udp.port==$port,dns" -Y "dns.flags.response==0" 2>/dev/null | wc -l)
for i in $(seq 1 8); do
    ask www.example.test A
    ask www.example.test AAAA +dnssec
    ask example.test MX +noedns
    ask "nx$i.example.test" A
    ask txt.example.test TXT +tcp
    ask "other$i.invalid" A
done
ask example.test SOA +tcp +dnssec
sys_capture_stop

out=$("$DNSVIGIL" analyze --json --no-progress -p "$port" "$tmp/cap.pcap")
got_q=$(jq .dns.queries <<<"$out")
got_r=$(jq .dns.responses <<<"$out")
want_q=$((sent + probes))
want_r=$((answered + probes))
bad=""
[ "$got_q" = "$want_q" ] || bad+="queries $got_q, client sent $want_q; "
[ "$got_r" = "$want_r" ] || bad+="responses $got_r, client received $want_r; "
for rc in "${!want_rcode[@]}"; do
    w=${want_rcode[$rc]}
    [ "$rc" = NOERROR ] && w=$((w + probes))
    g=$(jq ".dns.rcode.$rc // 0" <<<"$out")
    [ "$g" = "$w" ] || bad+="rcode $rc $g, client saw $w; "
done
for t in "${!want_qtype[@]}"; do
    w=${want_qtype[$t]}
    [ "$t" = SOA ] && w=$((w + probes))
    g=$(jq ".dns.qtype.$t // 0" <<<"$out")
    [ "$g" = "$w" ] || bad+="qtype $t $g, client asked $w; "
done
g=$(jq .dns.tcp <<<"$out")
[ "$g" = $((2 * tcp_q)) ] || bad+="TCP messages $g, want $((2 * tcp_q)); "
if [ -z "$bad" ]; then
    pass "sys/nsd-counts ($want_q queries, $want_r responses)"
else
    fail "sys/nsd-counts" "$bad"
fi
if o=$("$TOP/tests/oracle.sh" "$DNSVIGIL" "$tmp/cap.pcap" "$port" 2>&1); then
    pass "sys/nsd-oracle"
else
    fail "sys/nsd-oracle" "$o"
fi
[ "$(jq .dns.malformed.total <<<"$out")" = 0 ] && pass "sys/nsd-no-malformed" || fail "sys/nsd-no-malformed"
# Normal traffic to a real server raises no alert.
n=$(jq '.alerts | length' <<<"$out")
[ "$n" = 0 ] && pass "sys/nsd-no-alerts" || fail "sys/nsd-no-alerts" "$(jq -c .alerts <<<"$out")"
