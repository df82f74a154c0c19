#!/usr/bin/env bash
# The checked-in fixtures and sample must be exactly what the generator makes today, so a
# change to the generator cannot silently leave stale captures behind.
source "$(dirname "$0")/lib.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$TOP/$BUILD/tests/gen" fixtures "$tmp" 2>/dev/null
"$TOP/$BUILD/tests/gen" sample "$tmp/sample.pcap" 2>/dev/null
for f in "$tmp"/*; do
    b=$(basename "$f")
    ref="$TOP/tests/pcap/$b"
    [ "$b" = sample.pcap ] && ref="$TOP/tests/sample.pcap"
    if cmp -s "$f" "$ref"; then pass "regen/$b"; else fail "regen/$b" "differs from the checked-in copy: run 'make fixtures'"; fi
done
# The other way round: every checked-in capture must still come from the generator (a
# fixture it no longer writes is stale: its case tests what the code no longer makes).
# Server-log fixtures (*.log) are written by hand.
for ref in "$TOP"/tests/pcap/*.pcap "$TOP"/tests/pcap/*.pcapng; do
    b=$(basename "$ref")
    [ -e "$tmp/$b" ] || fail "regen/$b" "checked in, but the generator no longer writes it: remove it or generate it again"
done
