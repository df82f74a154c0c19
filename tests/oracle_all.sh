#!/usr/bin/env bash
# The tshark oracle over every fixture capture and the bundled sample.
source "$(dirname "$0")/lib.sh"
if ! command -v tshark >/dev/null; then
    fail "oracle" "tshark is not installed (apt-get install tshark)"
    exit 0
fi
for cap in "$TOP"/tests/pcap/*.pcap "$TOP"/tests/pcap/*.pcapng "$TOP"/tests/sample.pcap; do
    name=oracle/$(basename "$cap")
    if out=$("$TOP/tests/oracle.sh" "$DNSVIGIL" "$cap" 2>&1); then pass "$name"; else fail "$name" "$out"; fi
done
