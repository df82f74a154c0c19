#!/usr/bin/env bash
# Runs every cmocka test binary and records each test case (cmocka prints "[       OK ]"
# and "[  FAILED  ]" lines per case).
source "$(dirname "$0")/../lib.sh"
shopt -s nullglob
bins=("$TOP/$BUILD"/tests/test_*)
if [ ${#bins[@]} -eq 0 ]; then
    fail "unit" "no test binaries in $BUILD/tests (make tests-build)"
    exit 0
fi
for b in "${bins[@]}"; do
    mod=$(basename "$b")
    out=$("$b" 2>&1)
    rc=$?
    while read -r line; do
        # cmocka repeats the failed cases after this line: count each case once.
        [[ "$line" == *"test(s), listed below:"* ]] && break
        case "$line" in
        "[       OK ] "*) pass "unit/$mod/${line#\[       OK \] }" ;;
        "[  FAILED  ] "*) fail "unit/$mod/${line#\[  FAILED  \] }" ;;
        esac
    done <<<"$out"
    if [ $rc -ne 0 ] && ! grep -q "FAILED" <<<"$out"; then
        fail "unit/$mod" "exit $rc: $(tail -5 <<<"$out")"
    fi
    if grep -q "FAILED\|ERROR" <<<"$out"; then
        sed 's/^/    /' <<<"$out" | tail -20
    fi
done
exit 0 # the failures are recorded; run_all.sh counts them
