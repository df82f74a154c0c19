#!/usr/bin/env bash
# The command line as a user meets it: compressed inputs, stdin, damaged and missing files,
# exit statuses, help and version.
source "$(dirname "$0")/lib.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
P="$TOP/tests/pcap"

# Same figures whatever the compression (only .inputs differs).
ref=$("$DNSVIGIL" analyze --json --no-progress "$P/tcp_axfr.pcap" | jq -S 'del(.inputs)')
refng=$("$DNSVIGIL" analyze --json --no-progress "$P/fmt_ng_multi.pcapng" | jq -S 'del(.inputs)')
for z in "gzip -c" "xz -c" "lz4 -c" "zstd -q -c"; do
    tool=${z%% *}
    # Named without the usual suffix: detection is by content.
    $z "$P/tcp_axfr.pcap" >"$tmp/cap.$tool.bin"
    got=$("$DNSVIGIL" analyze --json --no-progress "$tmp/cap.$tool.bin" | jq -S 'del(.inputs)')
    if [ "$got" = "$ref" ]; then pass "cli/$tool-pcap"; else fail "cli/$tool-pcap"; fi
    $z "$P/fmt_ng_multi.pcapng" >"$tmp/ng.$tool.bin"
    got=$("$DNSVIGIL" analyze --json --no-progress "$tmp/ng.$tool.bin" | jq -S 'del(.inputs)')
    if [ "$got" = "$refng" ]; then pass "cli/$tool-pcapng"; else fail "cli/$tool-pcapng"; fi
    got=$($z "$P/tcp_axfr.pcap" | "$DNSVIGIL" analyze --json --no-progress - | jq -S 'del(.inputs)')
    if [ "$got" = "$ref" ]; then pass "cli/$tool-stdin"; else fail "cli/$tool-stdin"; fi
done
# Concatenated gzip members read as one stream.
gzip -c "$P/tcp_axfr.pcap" >"$tmp/cat.gz"
head -c 0 /dev/null | gzip -c >>"$tmp/cat.gz"
got=$("$DNSVIGIL" analyze --json --no-progress "$tmp/cat.gz" | jq -S 'del(.inputs)')
if [ "$got" = "$ref" ]; then pass "cli/gzip-members"; else fail "cli/gzip-members"; fi

# Plain stdin, pcap and pcapng.
got=$("$DNSVIGIL" analyze --json --no-progress - <"$P/tcp_axfr.pcap" | jq -S 'del(.inputs)')
if [ "$got" = "$ref" ]; then pass "cli/stdin-pcap"; else fail "cli/stdin-pcap"; fi
got=$(cat "$P/fmt_ng_multi.pcapng" | "$DNSVIGIL" analyze --json --no-progress - | jq -S 'del(.inputs)')
if [ "$got" = "$refng" ]; then pass "cli/stdin-pcapng"; else fail "cli/stdin-pcapng"; fi

# Truncated pcap: error names file and offset, exit 1, what came before is reported.
size=$(stat -c %s "$P/basic.pcap")
head -c $((size - 30)) "$P/basic.pcap" >"$tmp/trunc.pcap"
"$DNSVIGIL" analyze --json --no-progress "$tmp/trunc.pcap" >"$tmp/o" 2>"$tmp/e"
rc=$?
if [ $rc = 1 ] && grep -q "trunc.pcap: damaged record at byte offset" "$tmp/e" &&
    [ "$(jq .capture.packets "$tmp/o")" = 24 ]; then
    pass "cli/truncated-pcap"
else
    fail "cli/truncated-pcap" "rc=$rc $(cat "$tmp/e")"
fi
# Truncated pcapng: the offset is the start of the cut block.
size=$(stat -c %s "$P/fmt_ng_multi.pcapng")
head -c $((size - 10)) "$P/fmt_ng_multi.pcapng" >"$tmp/trunc.pcapng"
"$DNSVIGIL" analyze --json --no-progress "$tmp/trunc.pcapng" >"$tmp/o" 2>"$tmp/e"
rc=$?
if [ $rc = 1 ] && grep -q "trunc.pcapng: truncated block (type 6, .*) at byte offset" "$tmp/e" &&
    [ "$(jq .capture.packets "$tmp/o")" = 7 ]; then
    pass "cli/truncated-pcapng"
else
    fail "cli/truncated-pcapng" "rc=$rc $(cat "$tmp/e")"
fi
# Truncated compressed stream.
gzip -c "$P/basic.pcap" | head -c 900 >"$tmp/trunc.gz"
"$DNSVIGIL" analyze --json --no-progress "$tmp/trunc.gz" >"$tmp/o" 2>"$tmp/e"
rc=$?
if [ $rc = 1 ] && grep -q "trunc.gz:.*compressed stream is truncated" "$tmp/e" &&
    [ "$(jq .capture.packets "$tmp/o")" -gt 0 ]; then
    pass "cli/truncated-gzip"
else
    fail "cli/truncated-gzip" "rc=$rc $(cat "$tmp/e")"
fi

# A missing file among good ones: error named, the others analysed, exit 1.
"$DNSVIGIL" analyze --json --no-progress "$tmp/nope.pcap" "$P/edns.pcap" >"$tmp/o" 2>"$tmp/e"
rc=$?
if [ $rc = 1 ] && grep -q "nope.pcap: cannot open: No such file" "$tmp/e" &&
    [ "$(jq .dns.queries "$tmp/o")" = 5 ] && [ "$(jq .capture.input_errors "$tmp/o")" = 1 ]; then
    pass "cli/missing-file"
else
    fail "cli/missing-file" "rc=$rc $(cat "$tmp/e")"
fi
# Not a capture; empty file; a directory.
echo "hello, this is text" >"$tmp/text.pcap"
: >"$tmp/empty.pcap"
for f in text.pcap empty.pcap; do
    "$DNSVIGIL" analyze --no-progress "$tmp/$f" >/dev/null 2>"$tmp/e"
    rc=$?
    if [ $rc = 1 ] && grep -q "$f" "$tmp/e"; then pass "cli/bad-input-$f"; else fail "cli/bad-input-$f" "rc=$rc"; fi
done
"$DNSVIGIL" analyze --no-progress "$tmp" >/dev/null 2>"$tmp/e"
rc=$?
if [ $rc = 1 ] && grep -q "is a directory" "$tmp/e"; then pass "cli/directory"; else fail "cli/directory" "rc=$rc"; fi

# Usage errors exit 2 with a hint.
for args in "analyze" "analyze -f 'not a (filter' $P/basic.pcap" "analyze -p 0 $P/basic.pcap" \
    "analyze --bogus $P/basic.pcap" "frobnicate"; do
    eval "\"$DNSVIGIL\" $args" >/dev/null 2>"$tmp/e"
    rc=$?
    if [ $rc = 2 ] && [ -s "$tmp/e" ]; then pass "cli/usage: $args"; else fail "cli/usage: $args" "rc=$rc"; fi
done
# Help and version.
"$DNSVIGIL" --help | grep -q "^Usage: dnsvigil COMMAND" && pass "cli/--help" || fail "cli/--help"
"$DNSVIGIL" analyze --help | grep -q "^Exit status:" && pass "cli/analyze --help" || fail "cli/analyze --help"
"$DNSVIGIL" --version | grep -q "^dnsvigil [0-9]" && pass "cli/--version" || fail "cli/--version"
# The JSON is valid and the text summary fits 80 columns.
"$DNSVIGIL" analyze --json --no-progress "$TOP/tests/sample.pcap" | jq -e . >/dev/null && pass "cli/json-valid" || fail "cli/json-valid"
w=$("$DNSVIGIL" analyze --no-progress "$TOP/tests/sample.pcap" | awk '{ if (length > m) m = length } END { print m }')
[ "$w" -le 80 ] && pass "cli/text-80-columns" || fail "cli/text-80-columns" "widest line $w"
# -o writes the file.
"$DNSVIGIL" analyze --json --no-progress -o "$tmp/out.json" "$P/basic.pcap" && jq -e '.dns.queries == 12' "$tmp/out.json" >/dev/null &&
    pass "cli/-o" || fail "cli/-o"
# Progress shows on request and ends with a newline on stderr.
"$DNSVIGIL" analyze --progress "$TOP/tests/sample.pcap" >/dev/null 2>"$tmp/e"
grep -q "packets/s" "$tmp/e" && pass "cli/progress" || fail "cli/progress"

# ---- rules and configuration ----
# Every clean fixture (not built to contain an attack or fault) raises no alert.
for f in basic link_vlan link_qinq link_sll link_sll2 link_raw link_null link_loop link_ipv4 \
    link_ipv6 fmt_be_us fmt_ns ipv6_ext frag_v4 frag_v6 tcp_basic tcp_split tcp_multi tcp_ooo \
    tcp_retrans tcp_axfr flow; do
    ext=pcap
    n=$("$DNSVIGIL" analyze --json --no-progress "$P/$f.$ext" | jq '.alerts | length')
    [ "$n" = 0 ] && pass "cli/clean-$f" || fail "cli/clean-$f" "$n alerts"
done
for f in fmt_ng_multi fmt_ng_be; do
    n=$("$DNSVIGIL" analyze --json --no-progress "$P/$f.pcapng" | jq '.alerts | length')
    [ "$n" = 0 ] && pass "cli/clean-$f" || fail "cli/clean-$f" "$n alerts"
done
# --alerts-jsonl streams one object per line: open, then closed, with the contract keys.
"$DNSVIGIL" analyze --no-progress --window 10 -c "$P/rules.ini" --alerts-jsonl "$tmp/a.jsonl" \
    "$P/error_ratio.pcap" >/dev/null
states=$(jq -r .state "$tmp/a.jsonl" | tr '\n' ' ')
keys=$(jq -e 'has("rule") and has("severity") and has("state") and has("first_seen") and
    has("last_seen") and has("summary") and has("reference") and has("count") and
    has("threshold") and has("observed") and has("evidence")' "$tmp/a.jsonl" | sort -u)
if [ "$states" = "open open closed closed " ] && [ "$keys" = true ] &&
    [ "$(wc -l <"$tmp/a.jsonl")" = 4 ]; then
    pass "cli/alerts-jsonl"
else
    fail "cli/alerts-jsonl" "states: $states"
fi
# --no-rules: no alerts key at all.
"$DNSVIGIL" analyze --json --no-progress --no-rules "$P/edns.pcap" | jq -e 'has("alerts") | not' >/dev/null &&
    pass "cli/no-rules" || fail "cli/no-rules"
# A bad config file: exit 2, FILE:LINE and what is wrong.
printf '[site]\ninternal_networks = 10.0.0.0/8\n\n[error-ratio]\nsigma = lots\n' >"$tmp/bad.ini"
"$DNSVIGIL" analyze --no-progress -c "$tmp/bad.ini" "$P/basic.pcap" >/dev/null 2>"$tmp/e"
rc=$?
if [ $rc = 2 ] && grep -q "bad.ini:5: sigma wants a number from 0.5 to 100, not 'lots'" "$tmp/e"; then
    pass "cli/config-bad-value"
else
    fail "cli/config-bad-value" "rc=$rc $(cat "$tmp/e")"
fi
printf '[nonsense]\nx = 1\n' >"$tmp/bad2.ini"
"$DNSVIGIL" config --check "$tmp/bad2.ini" >/dev/null 2>"$tmp/e"
[ $? = 2 ] && grep -q "bad2.ini:2: unknown section \[nonsense\]" "$tmp/e" && pass "cli/config-bad-section" ||
    fail "cli/config-bad-section" "$(cat "$tmp/e")"
printf '[site]\ninternal_networks = 10.0.0.0/33\n' >"$tmp/bad3.ini"
"$DNSVIGIL" config --check "$tmp/bad3.ini" >/dev/null 2>"$tmp/e"
[ $? = 2 ] && grep -q "bad3.ini:2: bad internal_networks" "$tmp/e" && pass "cli/config-bad-network" ||
    fail "cli/config-bad-network" "$(cat "$tmp/e")"
# The printed defaults are a valid config file, and name every rule.
"$DNSVIGIL" config --defaults >"$tmp/defaults.ini"
"$DNSVIGIL" config --check "$tmp/defaults.ini" >/dev/null && pass "cli/config-defaults-valid" ||
    fail "cli/config-defaults-valid"
for r in poison-flood error-ratio edns-errors xfr-failed amplification; do
    grep -q "^\[$r\]" "$tmp/defaults.ini" && "$DNSVIGIL" rules | grep -q "^$r " &&
        pass "cli/rule-listed-$r" || fail "cli/rule-listed-$r"
done
# A rule can be switched off in the config.
printf '[edns-errors]\nenabled = no\n' >"$tmp/off.ini"
n=$("$DNSVIGIL" analyze --json --no-progress -c "$tmp/off.ini" "$P/edns.pcap" | jq '.alerts | length')
[ "$n" = 0 ] && pass "cli/rule-disabled" || fail "cli/rule-disabled" "$n alerts"

# --evidence-dir: the packets behind an alert, as a pcap the alert points to.
mkdir -p "$tmp/ev"
"$DNSVIGIL" analyze --json --no-progress --window 10 -c "$P/rules.ini" --evidence-dir "$tmp/ev" \
    "$P/poison.pcap" >"$tmp/o"
f=$(jq -r '.alerts[0].evidence_file' "$tmp/o")
if [ -f "$f" ] && [ "$(tshark -r "$f" 2>/dev/null | wc -l)" = 52 ] &&
    [ "$(tshark -r "$f" -Y 'ip.src == 203.0.113.1 && dns.flags.response == 1' 2>/dev/null | wc -l)" = 51 ]; then
    pass "cli/evidence-pcap"
else
    fail "cli/evidence-pcap" "file '$f'"
fi
"$DNSVIGIL" analyze --no-progress --evidence-dir "$tmp/missing" "$P/basic.pcap" >/dev/null 2>"$tmp/e"
[ $? = 2 ] && grep -q "missing" "$tmp/e" && pass "cli/evidence-dir-missing" || fail "cli/evidence-dir-missing"
# Known servers: configured ones are shown, others learned from traffic (RA / AA answers).
printf '[site]\nresolvers = 10.0.0.53\nauthoritative_servers = 203.0.113.0/24\nwatched_zones = Example.COM\n' >"$tmp/site.ini"
"$DNSVIGIL" analyze --json --no-progress -c "$tmp/site.ini" "$TOP/tests/sample.pcap" >"$tmp/o"
if jq -e '.site.resolvers == ["10.0.0.53/32"] and .site.authoritative_servers == ["203.0.113.0/24"]
    and .site.watched_zones == ["example.com."] and .site.learned_resolvers[0].address == "10.0.0.53"
    and (.site.learned_authoritative_servers | length) > 0
    and ([.site.learned_authoritative_servers[].address | startswith("203.0.113.")] | all)' "$tmp/o" >/dev/null; then
    pass "cli/site-known-and-learned"
else
    fail "cli/site-known-and-learned" "$(jq -c .site "$tmp/o")"
fi

# A Debian 12 /var/log/syslog: RFC 3339 stamps, other programs first, Unbound among them;
# the same lines as RFC 5424; compressed. Each is recognised as a log by its content and
# yields the same events.
{
    echo '2026-11-23T20:07:30.000001+00:00 vm rsyslogd: [origin software="rsyslogd" swVersion="8.2302.0"] start'
    echo '2026-11-23T20:07:31.000002+00:00 vm systemd[1]: Started unbound.service - Unbound DNS server.'
    echo '2026-11-23T20:07:32.000003+00:00 vm kernel: [ 12.345678] e1000: eth0 NIC Link is Up'
    for i in 1 2 3; do
        echo "2026-11-23T20:07:3$((i + 3)).132392+00:00 vm unbound[24186]: [24186:0] info: 127.0.0.1 q$i.lab.test. A IN"
        echo "2026-11-23T20:07:3$((i + 3)).132500+00:00 vm unbound[24186]: [24186:0] info: 127.0.0.1 q$i.lab.test. A IN NXDOMAIN 0.000000 0 40"
    done
} >"$tmp/syslog"
sed -E 's/^([^ ]+) vm ([a-z]+)(\[([0-9]+)\])?: /<30>1 \1 vm \2 \4 - - /; s/ ([a-z]+)  - - / \1 - - - /' "$tmp/syslog" >"$tmp/syslog5424"
gzip -c "$tmp/syslog" >"$tmp/syslog.1.gz"
for f in syslog syslog5424 syslog.1.gz; do
    got=$("$DNSVIGIL" analyze --json --no-progress "$tmp/$f" 2>"$tmp/e" |
        jq -c '[.logs.events.query, .logs.events.reply, .logs.skipped.other_program, .logs.skipped.unparsed]')
    if [ "$got" = "[3,3,3,0]" ]; then pass "cli/log-$f"; else fail "cli/log-$f" "$got $(head -2 "$tmp/e")"; fi
done
