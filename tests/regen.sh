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
