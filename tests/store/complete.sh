#!/usr/bin/env bash
# What the store keeps of the answers, against tshark as the oracle, on a generated
# 200,000-packet mix (nearly every answer a new RRset, the worst case for passive DNS):
# - default (a complete store): nothing is shed, the passive-DNS counts add up to tshark's
#   number of answer RRs, one and two analysis threads store the same rows, a second run
#   stores the same rows again, and --db-complete (the old name of the default) too;
# - --db-shed: every answer message is either written or counted as shed
#   (store.messages + store.dropped.messages = tshark's count of NOERROR answers with an
#   answer section and transfer responses); windows and alerts are never shed.
source "$(dirname "$0")/../lib.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1

check() { # check NAME GOT WANT
    if [ "$2" = "$3" ]; then pass "store/$1"; else fail "store/$1" "got '$2', want '$3'"; fi
}

"$TOP/$BUILD/tests/gen" bench mix.pcap 200000 2>/dev/null || { fail "store/complete" "gen failed"; exit 0; }
if ! command -v tshark >/dev/null; then
    skip "store/complete" "tshark is not installed"
    exit 0
fi
# tshark: answer messages the store takes, and the RRs in their answer sections.
answers="dns.flags.response==1 && dns.flags.rcode==0 && dns.count.answers>0"
xfr="dns.qry.type==252 || dns.qry.type==251"
want_msgs=$(tshark -r mix.pcap -Y "dns.flags.response==1 && (($answers) || $xfr)" -T fields \
    -E occurrence=a -e dns.id 2>/dev/null | tr ',' '\n' | grep -c .)
want_rrs=$(tshark -r mix.pcap -Y "($answers) && !($xfr)" -T fields -E occurrence=a \
    -e dns.count.answers 2>/dev/null | tr ',' '\n' | awk '{s += $1} END {print s + 0}')
echo "    tshark: $want_msgs answer messages, $want_rrs answer RRs"

# --db-shed: written or counted, nothing in between.
"$DNSVIGIL" analyze -q --no-progress --json --db-shed --db shed.db mix.pcap >shed.json ||
    fail "store/shed-analyze"
check "shed-accounted" "$(jq '.store.messages + .store.dropped.messages' shed.json)" "$want_msgs"
check "shed-windows-alerts-kept" "$(jq '.store.dropped.windows + .store.dropped.alerts' shed.json)" 0
check "shed-windows-stored" "$(sqlite3 shed.db "SELECT count(*) FROM window_stats WHERE server='*'")" \
    "$(jq '.store.windows' shed.json)"

# Default: everything, the same with one thread and two, and run after run.
dump() { sqlite3 "$1" "SELECT name,type,rdata,server,first_ns,last_ns,count FROM rrset ORDER BY name,type,rdata,server"; }
for t in 1 2; do
    "$DNSVIGIL" analyze -q --no-progress --json --threads $t --db "c$t.db" mix.pcap \
        >"c$t.json" || fail "store/complete-analyze-threads-$t"
done
"$DNSVIGIL" analyze -q --no-progress --json --db-complete --db c3.db mix.pcap >c3.json ||
    fail "store/complete-analyze-db-complete"
check "complete-messages" "$(jq '.store.messages' c2.json)" "$want_msgs"
check "complete-nothing-dropped" "$(jq '[.store.dropped[]] | add' c2.json)" 0
check "complete-rr-counts" "$(sqlite3 c2.db 'SELECT sum(count) FROM rrset')" "$want_rrs"
if [ -n "$(dump c1.db)" ] && [ "$(dump c1.db | md5sum)" = "$(dump c2.db | md5sum)" ]; then
    pass "store/complete-threads-1-2-same-rows"
else
    fail "store/complete-threads-1-2-same-rows" "$(diff <(dump c1.db) <(dump c2.db) | head -5)"
fi
if [ "$(dump c1.db | md5sum)" = "$(dump c3.db | md5sum)" ]; then
    pass "store/complete-again-same-rows"
else
    fail "store/complete-again-same-rows" "$(diff <(dump c1.db) <(dump c3.db) | head -5)"
fi
check "complete-needs-db" "$("$DNSVIGIL" analyze --db-complete mix.pcap >/dev/null 2>&1; echo $?)" 2
check "shed-needs-db" "$("$DNSVIGIL" analyze --db-shed mix.pcap >/dev/null 2>&1; echo $?)" 2
