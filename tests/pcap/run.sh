#!/usr/bin/env bash
# Runs every case of tests/pcap/LIST: dnsvigil analyze --json on the capture(s), then each
# expectation line of expect/NAME against the JSON (via jq), the exit status and stderr.
source "$(dirname "$0")/../lib.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
check_case() { # NAME EXPECT-FILE ARGS...
    local name=$1 expect=$2 rc bad="" path want got
    shift 2
    "$DNSVIGIL" analyze --json --no-progress "$@" >"$tmp/out.json" 2>"$tmp/err"
    rc=$?
    while read -r path want; do
        case "$path" in "" | \#*) continue ;; esac
        if [ "$path" = exit ]; then
            [ "$rc" = "$want" ] || bad+="exit $rc, want $want; "
        elif [ "$path" = stderr ]; then
            grep -qF -- "$want" "$tmp/err" || bad+="stderr lacks '$want'; "
        else
            got=$(jq -c "$path" "$tmp/out.json" 2>/dev/null)
            [ "$got" = "$want" ] || bad+="$path = ${got:-<none>}, want $want; "
        fi
    done <"$expect"
    if [ -z "$bad" ]; then pass "pcap/$name"; else fail "pcap/$name" "$bad"; fi
}
fixture_cases check_case
