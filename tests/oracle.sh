#!/usr/bin/env bash
# Independent check of dnsvigil's counts: tshark decodes the same capture and tests/oracle.awk
# counts queries, responses, rcodes and qtypes; the two lists must be identical.
# usage: tests/oracle.sh DNSVIGIL CAPTURE [PORTS]     (exit 0 = equal; the diff otherwise)
set -uo pipefail
bin=$1 cap=$2 ports=${3:-53}
here=$(cd "$(dirname "$0")" && pwd)
decode=()
for p in ${ports//,/ }; do
    [ "$p" = 53 ] || decode+=(-d "udp.port==$p,dns" -d "tcp.port==$p,dns")
done
ours=$("$bin" analyze --json --no-progress -q -p "$ports" "$cap" | jq -r '
    "queries \(.dns.queries)", "responses \(.dns.responses)",
    (.dns.rcode | to_entries[] | "rcode \(.key) \(.value)"),
    (.dns.qtype | to_entries[] | "qtype \(.key) \(.value)")' | sort)
theirs=$(tshark -n -r "$cap" "${decode[@]}" -o tcp.reassemble_out_of_order:TRUE \
    -o tcp.desegment_tcp_streams:TRUE -o ip.defragment:TRUE -o ipv6.defragment:TRUE \
    -T fields -E separator=/t -E occurrence=a -E aggregator=, \
    -e dns.flags.response -e dns.flags.rcode -e dns.qry.type -e dns.resp.ext_rcode \
    -Y dns 2>/dev/null | awk -f "$here/oracle.awk" | sort)
if [ "$ours" != "$theirs" ]; then
    diff <(echo "$ours") <(echo "$theirs") | sed 's/^</  dnsvigil:/; s/^>/  tshark:  /'
    exit 1
fi
exit 0
