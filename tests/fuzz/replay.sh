#!/usr/bin/env bash
# Replays the fuzz corpus (tests/fuzz/corpus/decode) through the target, one case per file;
# in the sanitizer build any memory error fails the case.
source "$(dirname "$0")/../lib.sh"
shopt -s nullglob
files=("$TOP"/tests/fuzz/corpus/decode/*)
if [ ${#files[@]} -eq 0 ]; then
    fail "fuzz/corpus" "tests/fuzz/corpus/decode is empty"
    exit 0
fi
for f in "${files[@]}"; do
    if out=$("$TOP/$BUILD/tests/fuzz_replay" "$f" 2>&1); then
        pass "fuzz/$(basename "$f")"
    else
        fail "fuzz/$(basename "$f")" "$(tail -3 <<<"$out")"
    fi
done
