#!/usr/bin/env bash
# The ISO report on known data. The store is filled by `analyze --db` from the generated day
# capture (2026-11-23, an error storm at 14:00-14:45) and fixtures whose contents are known by
# construction: xfr.pcap (3 failed AXFRs: REFUSED, cut inside a message, no closing SOA),
# xfr_noanswer.pcap (an AXFR of example.edu never answered),
# tcp_axfr.pcap (one good AXFR of example.com, SOA refresh 3600, expire 604800), edns_fail.pcap
# (4 FORMERR answers to EDNS queries, 6 answers without OPT to EDNS queries) and poison.pcap.
# Every APP.3.6 figure is checked against those values or against `analyze --json` of the
# same inputs (a different code path: totals, not window rows).
source "$(dirname "$0")/../lib.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1
P="$TOP/tests/pcap"
NOW=2026-11-24T06:00:00Z
DAY=(--from 2026-11-23T00:00:00Z --to 2026-11-24T00:00:00Z --now "$NOW")

check() { # check NAME GOT WANT
    if [ "$2" = "$3" ]; then pass "report/$1"; else fail "report/$1" "got '$2', want '$3'"; fi
}

"$TOP/$BUILD/tests/gen" day day.pcap 2>/dev/null
inputs=("day.pcap" "$P/xfr.pcap" "$P/xfr_noanswer.pcap" "$P/tcp_axfr.pcap" "$P/edns_fail.pcap"
    "$P/poison.pcap")
for f in "${inputs[@]}"; do
    opts=()
    [ "$f" = day.pcap ] || opts=(-c "$P/rules.ini")
    "$DNSVIGIL" analyze -q --no-progress --json --windows "${opts[@]}" --db r.db "$f" \
        >"$(basename "$f").json" || fail "report/analyze-$(basename "$f")"
done
sum() { jq -s "$1" ./*.pcap.json; }

"$DNSVIGIL" report --db r.db "${DAY[@]}" --format json >r.json
check json-valid "$(jq -e .app36 r.json >/dev/null && echo ok)" ok
check period "$(jq -r '.period.from + " " + .period.to' r.json)" \
    "2026-11-23T00:00:00Z 2026-11-24T00:00:00Z"
check queries "$(jq .app36.queries.value r.json)" "$(sum 'map(.dns.queries) | add')"
check queries-source "$(jq -r .app36.queries.source r.json)" packets
for rc in FORMERR SERVFAIL NXDOMAIN NOTIMP REFUSED; do
    lc=$(tr A-Z a-z <<<"$rc")
    check "errors-$lc" "$(jq ".app36.errors.$lc" r.json)" \
        "$(sum "map(.dns.rcode.$rc // 0) | add")"
done
check errors-total "$(jq .app36.errors.total r.json)" \
    "$(sum '[.[].dns.rcode | to_entries[] | select(.key != "NOERROR") | .value] | add')"
# 4 FORMERR to EDNS queries + 6 answers without OPT (edns_fail.pcap); the others have none.
check edns-errors "$(jq .app36.edns_errors.value r.json)" 10
check edns-errors-windows "$(jq .app36.edns_errors.value r.json)" \
    "$(sum '[.[].windows[].edns_errors] | add')"
check failed-transfers "$(jq -c '[.app36.failed_transfers[] | .zone + " " + .reason]' r.json)" \
    '["example.edu. no response","example.com. REFUSED","example.net. connection aborted inside a message","example.org. connection closed before the final SOA"]'
check successful-transfers "$(jq .app36.successful_transfers r.json)" 1
# At 24:00 the good transfer of example.com (it ended at 00:00:00.0025) is 86399 s old:
# refresh (3600) overdue, 604800 - 86399 = 518401 s to expiry. example.net/org only failed.
check expiring-zones "$(jq -c '[.app36.expiring_zones[] | .zone + " " + .status + " " + (.remaining_seconds|tostring)]' r.json)" \
    '["example.com. expiring 518401","example.net. at risk null","example.org. at risk null"]'
"$DNSVIGIL" report --db r.db --from 2026-11-30T00:00:00Z --to 2026-12-01T00:00:00Z \
    --now "$NOW" --format json >later.json
check zone-expired "$(jq -c '[.app36.expiring_zones[] | select(.zone == "example.com.") | .status]' later.json)" \
    '["expired"]'
check ratio "$(jq '.app36.error_ratio.value * 1000000 | round' r.json)" \
    "$(sum '([.[].dns.rcode | to_entries[] | select(.key != "NOERROR") | .value] | add) * 1000000 / (map(.dns.queries) | add) | round')"
check ratio-series "$(jq '.app36.error_ratio.series | length' r.json)" 48
# The changes are the shifts the error-ratio rule found: its alerts, server, kind and start.
check ratio-change "$(jq -c '[.app36.error_ratio_changes[] | .server + " " + .kind + " " + .from] | sort' r.json)" \
    "$(jq -s -c '[.[].alerts[] | select(.rule == "error-ratio") | (.server // "all servers") + " " + .evidence.kind + " " + (.first_seen | sub("\\.[0-9]+Z$"; "Z"))] | sort' ./*.pcap.json)"
check ratio-change-storm "$(jq '[.app36.error_ratio_changes[] | select(.kind == "SERVFAIL" and (.from | startswith("2026-11-23T14:")))] | length > 0' r.json)" true
check alerts "$(jq '.alerts | length' r.json)" "$(sum 'map(.alerts | length) | add')"
check alert-rules "$(jq -c '[.alerts[].rule] | unique' r.json)" \
    "$(jq -s -c '[.[].alerts[].rule] | unique' ./*.pcap.json)"
check top-clients "$(jq '.top.clients | length' r.json)" 10
check sources "$(jq -c '[.sources.packets.runs, .sources.dnstap, .sources.logs]' r.json)" \
    '[6,"not observed: no source","not observed: no source"]'
check health-windows "$(jq .health.windows r.json)" "$(sum '[.[].windows | length] | add')"

# Comparison with the previous period: 12:00-24:00 against 00:00-12:00.
"$DNSVIGIL" report --db r.db --from 2026-11-23T12:00:00Z --to 2026-11-24T00:00:00Z \
    --now "$NOW" --format json >half.json
check previous-queries "$(jq .app36.queries.previous half.json)" \
    "$(sum '[.[].windows[] | select(.start < "2026-11-23T12:00") | .queries] | add')"
check previous-period "$(jq -r .period.previous_from half.json)" 2026-11-23T00:00:00Z

# A period no source covered says so instead of showing 0.
"$DNSVIGIL" report --db r.db --from 2026-01-01T00:00:00Z --to 2026-01-02T00:00:00Z \
    --now "$NOW" --format json >empty.json
check no-source-json "$(jq -c '[.app36.queries.value, .app36.queries.source, .app36.expiring_zones_source, .app36.error_ratio.value]' empty.json)" \
    '[null,"not observed: no source","not observed: no source",null]'
"$DNSVIGIL" report --db r.db --from 2026-01-01T00:00:00Z --to 2026-01-02T00:00:00Z \
    --now "$NOW" >empty.txt
check no-source-text "$(grep -cE '^  [1-7] .*not observed: no source$' empty.txt)" 7

# Text: every line fits 80 columns; the items are all there.
"$DNSVIGIL" report --db r.db "${DAY[@]}" >r.txt
check text-80-columns "$(awk 'length > 80' r.txt | wc -l)" 0
check text-items "$(grep -cE '^  [1-7] ' r.txt)" 7
# the checks: every rule whose reference names A4, A6 or A18 (from `dnsvigil rules`)
checks=$("$DNSVIGIL" rules | awk '/^[a-z][a-z0-9-]* / && /\.A(4|6|18)([^0-9]|$)/ {printf "%s%s", n++ ? ", " : "", $1}')
check config-checks-known "$([ -n "$checks" ] && echo yes)" yes
check config-findings-none "$(grep -A1 '^Configuration findings (APP.3.6.A4/A6/A18)' r.txt | tail -1)" \
    "  none found in this period (checks: $checks)"
check config-findings-json "$(jq -c '.configuration_findings | [.checks, (.findings | length), .source]' r.json)" \
    "[\"$checks\",$(jq -s '[.[].alerts[] | select(.reference | test("\\.A(4|6|18)([^0-9]|$)"))] | length' ./*.pcap.json),\"packets\"]"
check text-rise "$(grep -c '^  RISE ' r.txt)" "$(jq '.app36.error_ratio_changes | length' r.json)"

# HTML: self-contained (no scripts, no external resources), four charts.
"$DNSVIGIL" report --db r.db "${DAY[@]}" --format html -o r.html
check html-svg "$(grep -o '<svg' r.html | wc -l)" 4
check html-self-contained "$(grep -ciE '<script|<link|src=|url\(|https?://[^"'"'"' ]*' r.html | grep -v . ; grep -oiE 'https?://[a-z0-9./]*' r.html | sort -u | tr '\n' ' ')" \
    "http://www.w3.org/2000/svg "

# Re-analysing an input does not double-count; the report stays the same.
"$DNSVIGIL" analyze -q --no-progress --db r.db day.pcap >/dev/null
"$DNSVIGIL" report --db r.db "${DAY[@]}" --format json >again.json
# (How much passive-DNS detail the writer had to drop depends on the machine's speed.)
strip() { jq 'del(.health.store_detail_dropped)' "$1"; }
check reanalysis "$(cmp -s <(strip r.json) <(strip again.json) && echo same)" same
check reanalysis-runs "$(sqlite3 r.db 'SELECT count(*) FROM run')" 6

# Default period: the 24 hours up to the newest data (rounded up to the hour).
check default-period "$("$DNSVIGIL" report --db r.db --format json | jq -r .period.to)" \
    2026-11-24T00:00:00Z

# Command line errors.
"$DNSVIGIL" report --db r.db --format pdf >/dev/null 2>&1
check usage-format "$?" 2
"$DNSVIGIL" report --db r.db --from yesterday >/dev/null 2>&1
check usage-time "$?" 2
"$DNSVIGIL" report --db r.db --since 24h --from 2026-11-23T00:00:00Z >/dev/null 2>&1
check usage-since-from "$?" 2
"$DNSVIGIL" report --db missing.db >/dev/null 2>err.txt
check missing-db "$?:$(grep -c 'missing.db' err.txt)" 3:1
"$DNSVIGIL" report --help | grep -q -- '--since AGE'
check help "$?" 0
# Retention keeps the newest data and prunes the rest.
cp r.db p.db
"$DNSVIGIL" db --db p.db prune --retain 1h >/dev/null
check prune "$(sqlite3 p.db "SELECT min(end_ns) >= max(end_ns) - 3600000000000, count(*) > 0 FROM window_stats")" "1|1"
"$DNSVIGIL" db --db p.db vacuum
check vacuum "$?:$(sqlite3 p.db 'PRAGMA integrity_check')" 0:ok
