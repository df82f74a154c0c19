#!/usr/bin/env bash
# Runs every test suite against the build in $BUILD (build or build-san) and prints the
# closing line "N passed, N failed" (skips are listed, never counted as passes). Exit status
# is non-zero on any failure.
set -u
export BUILD=${BUILD:-build}
source "$(dirname "$0")/lib.sh"
export RESULTS
RESULTS=$(mktemp)
trap 'rm -f "$RESULTS"' EXIT
cd "$TOP" || exit 2

# suite TITLE CMD...: runs one suite. A suite that exits non-zero without recording a
# failure of its own (it died: a syntax error, a crash of the script, a missing tool it did
# not check for), or that records no result at all, is a failure too.
suite() {
    local title=$1 before after fails rc
    shift
    echo "== $title"
    before=$(wc -l <"$RESULTS")
    fails=$(grep -c '^FAIL' "$RESULTS")
    "$@"
    rc=$?
    after=$(wc -l <"$RESULTS")
    if [ "$rc" -ne 0 ] && [ "$(grep -c '^FAIL' "$RESULTS")" -eq "$fails" ]; then
        fail "suite/$1" "exited with status $rc without recording a failure"
    elif [ "$after" -eq "$before" ]; then
        fail "suite/$1" "recorded no result"
    fi
}

suite "unit tests (cmocka)" tests/unit/run.sh
suite "fixture captures (tests/pcap/LIST)" tests/pcap/run.sh
suite "tshark oracle" tests/oracle_all.sh
suite "command line, inputs and errors" tests/cli.sh
suite "two threads give the same results as one (and ThreadSanitizer)" tests/pipe.sh
suite "generator reproduces the checked-in fixtures" tests/regen.sh
suite "fuzz corpus replay" tests/fuzz/replay.sh
suite "store: SIGKILL while writing (crash safety)" tests/store/kill.sh
suite "store: complete by default against tshark, --db-shed written or counted" tests/store/complete.sh
suite "store: watch -r and analyze store the same rows and alerts" tests/store/same.sh
suite "ISO report: APP.3.6 figures, formats, sources" tests/report/run.sh
suite "ISO report: HTML rendered in headless Chromium" tests/report/html.sh
suite "live view in tmux (replay)" tests/watch/tui.sh
suite "live capture on loopback: privileges, signals, counts" tests/watch/live.sh
suite "metrics endpoint (promtool)" tests/watch/metrics.sh
suite "store shedding during watch: metrics equal the summary" tests/watch/shed.sh
suite "periodic reports from the sensor" tests/watch/report.sh
suite "watch: dnstap socket from Unbound, followed and rotated logs" tests/watch/follow.sh
suite "system test: real DNS server on loopback" tests/sys/run.sh
suite "system test: BIND 9 refusing AXFR and answering BADVERS" tests/sys/bind.sh
suite "system test: dnsperf through Unbound and NSD, clean traffic" tests/sys/resolver.sh
suite "system test: dnstap from Knot DNS against the client and a pcap" tests/sys/dnstap.sh
suite "system test: server logs of expiring BIND, Knot and NSD secondaries" tests/sys/logs.sh
suite "system test: Unbound traffic and its log on one timeline" tests/sys/timeline.sh
suite "scenarios: the card rules on real servers in network namespaces (found/expected, false, unexplained)" tests/scen/run.sh
if [ "${FUZZ_SECONDS:-0}" -gt 0 ]; then
    echo "== libFuzzer over the decoder (${FUZZ_SECONDS} s)"
    if ! command -v clang >/dev/null; then
        fail "fuzz/libfuzzer" "clang is not installed"
    elif out=$(tests/fuzz/run_fuzz.sh "$FUZZ_SECONDS" 2>&1); then
        pass "fuzz/libfuzzer ${FUZZ_SECONDS}s"
        tail -4 <<<"$out" | sed 's/^/    /'
    else
        fail "fuzz/libfuzzer" "$(tail -20 <<<"$out")"
    fi
fi

passed=$(grep -c '^PASS' "$RESULTS")
failed=$(grep -c '^FAIL' "$RESULTS")
skipped=$(grep -c '^SKIP' "$RESULTS")
echo
grep '^FAIL' "$RESULTS" | sed 's/^FAIL/failed:/'
grep '^SKIP' "$RESULTS" | sed 's/^SKIP/skipped:/'
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
