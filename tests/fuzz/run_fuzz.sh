#!/usr/bin/env bash
# Bounded libFuzzer run (clang, ASan+UBSan) over the decode target, starting from the
# checked-in corpus. New inputs go to a scratch directory; a crash leaves its input in
# tests/fuzz/crashes/ and fails. usage: run_fuzz.sh SECONDS
set -eu
secs=${1:-60}
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
out=build-fuzz
mkdir -p "$out" tests/fuzz/crashes
srcs="common/*.c capture/*.c analyze/*.c rules/*.c"
# shellcheck disable=SC2086
clang -std=c11 -D_DEFAULT_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
    -fno-sanitize-recover=all -o "$out/fuzz_decode" tests/fuzz/fuzz_decode.c $srcs \
    -lpcap -lldns -lpsl -linih -lsqlite3 -lz -llzma -llz4 -lzstd -lm -lpthread
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp tests/fuzz/corpus/decode/* "$work/"
"$out/fuzz_decode" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix=tests/fuzz/crashes/ -print_final_stats=1 "$work" 2>&1 | tail -15
echo "fuzz: ${secs}s over the decoder, no finding"
