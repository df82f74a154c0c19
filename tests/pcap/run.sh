#!/usr/bin/env bash
# Runs every case of tests/pcap/LIST: dnsvigil analyze --json on the capture(s), then each
# expectation line of expect/NAME against the JSON (via jq), the exit status and stderr.
source "$(dirname "$0")/../lib.sh"
dir="$TOP/tests/pcap"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
while read -r name caps expect opts; do
    case "$name" in "" | \#*) continue ;; esac
    files=()
    IFS=, read -ra parts <<<"$caps"
    for p in "${parts[@]}"; do files+=("$dir/$p"); done
    opts=${opts//@DIR@/$dir}
    # shellcheck disable=SC2086
    "$DNSVIGIL" analyze --json --no-progress $opts "${files[@]}" >"$tmp/out.json" 2>"$tmp/err"
    rc=$?
    bad=""
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
    done <"$dir/expect/$expect"
    if [ -z "$bad" ]; then pass "pcap/$name"; else fail "pcap/$name" "$bad"; fi
done <"$dir/LIST"
