#!/usr/bin/env bash
# Scenario suite: the card rules on traffic from real servers. Each scenario runs in a
# network namespace of its own (tests/scen/lib.sh: Unbound as the site's resolver, NSD as
# its upstream, BIND 9 as a secondary, Knot as a further authoritative server, dig and
# dnsperf as clients, a forged-response burst or spoofed queries from a raw socket where no
# software produces the case), records the traffic with tcpdump,
# and carries its expected alerts (rule, field, time window from the capture's start).
# dnsvigil analyses each capture with the default settings (only the site's networks set,
# tests/scen/site.ini); per rule the suite prints
# detections found / expected, false alerts (on clean scenarios) and alerts on attack
# scenarios that no expectation explains. All must be perfect to pass. The scenarios run
# in parallel (bounded: the longest takes about 3 minutes); every process is stopped by its
# PID and every namespace removed on exit. SCEN=name,name runs a subset; SCEN_KEEP=dir
# keeps each scenario's capture, kind and expectations there; SCEN_FROM=dir judges such a
# recording instead of running the servers.
source "$(dirname "$0")/../lib.sh"
sys_need scen unbound nsd named knotd dig dnsperf tcpdump python3 ip jq || exit 0
if [ "$(id -u)" != 0 ]; then
    skip "scen" "needs root for network namespaces"
    exit 0
fi
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT

# ---- scenarios (each runs in a subshell: own namespace, own PIDS, own $d) ----

# Clean: dnsperf through Unbound and NSD, a resolver's everyday mix.
scen_clean_resolver() {
    echo clean >"$d/kind"
    site_start || return 1
    nsx dnsperf -s 10.53.0.2 -a 10.53.0.10 -d "$d/q" -l 40 -Q 200 -c 4 -t 3 >"$d/dnsperf.out" 2>&1
}

# Clean (14.4): clients outside the site ask the resolver with EDNS and get Unbound's
# header-only REFUSED (access-control refuse); the site's own clients are served.
scen_refused_outside() {
    echo clean >"$d/kind"
    site_start || return 1
    nsx dnsperf -s 10.53.0.2 -a 10.53.0.10 -d "$d/q" -l 30 -Q 100 -c 2 -t 3 >"$d/dnsperf.out" 2>&1 &
    local p=$!
    nsx dnsperf -s 10.53.0.2 -a 10.53.9.9 -e -D -d "$d/q" -l 30 -Q 30 -c 2 -t 3 >"$d/dnsperf-out.out" 2>&1
    wait "$p"
}

# Clean (14.5): a monitoring host asks four servers (Unbound, NSD, BIND, Knot) for
# example.test's SOA every 20 s (3 polls a minute each, 12 in all), as dig or a monitor
# does; nobody transfers.
scen_soa_monitor() {
    echo clean >"$d/kind"
    nsd_start
    unbound_start
    bind_primary_start
    knot_start
    capture_start
    ready 10.53.0.4 example.test || return 1
    ready 10.53.0.5 example.test || return 1
    for _ in $(seq 1 8); do
        for s in 10.53.0.2 10.53.0.3 10.53.0.4 10.53.0.5; do
            nsx dig +tries=1 +time=2 -b 10.53.0.11 @"$s" example.test SOA >/dev/null 2>&1
        done
        sleep 20
    done
}

# Attack (14.1, 14.3): the resolver's upstream stops answering a minute in (NSD is
# stopped with SIGSTOP for 60 s): SERVFAIL and unanswered go from near 0 to most of a
# minute's transactions. error-ratio must fire for the resolver and for the upstream within
# the 3-minute capture; the resolver's late SERVFAILs are no forgery (no poison-flood).
scen_upstream_outage() {
    echo attack >"$d/kind"
    site_start || return 1
    nsx dnsperf -s 10.53.0.2 -a 10.53.0.10 -d "$d/q" -l 170 -Q 100 -c 2 -t 5 >"$d/dnsperf.out" 2>&1 &
    local p=$!
    sleep 65
    # NSD serves from a grandchild: stop every process of this NSD (its configuration).
    local fam
    fam=$(pgrep -f "nsd -d -c $d/nsd.conf" | tr '\n' ' ')
    # shellcheck disable=SC2086
    kill -STOP $fam
    echo "stopped $(since): $fam" >>"$d/log"
    sleep 60
    # shellcheck disable=SC2086
    kill -CONT $fam
    echo "continued $(since)" >>"$d/log"
    wait "$p"
    expect error-ratio server=10.53.0.2 60 190
    expect error-ratio "summary~at all servers" 60 190
    expect error-ratio server=10.53.0.3 60 190
}

# Policy finding (issue 15.1, RFC 5358, BSI A4): Unbound's access-control also allows an
# outside network, and BIND, authoritative for corp.test, recurses for anyone (forwarding
# to NSD). The outside client 10.53.9.9 resolves through both; internal clients as usual.
scen_open_resolver() {
    echo attack >"$d/kind"
    UNBOUND_ACL="    access-control: 10.53.9.0/24 allow" site_start || return 1
    printf '$ORIGIN corp.test.\n$TTL 30\n@ IN SOA ns hostmaster 1 3600 900 604800 30\n@ IN NS ns\nns IN A 10.53.0.4\nwww IN A 192.0.2.80\n' >"$d/corp.zone"
    BIND_RECURSION=yes named_conf "    allow-recursion { any; }; forwarders { 10.53.0.3; }; forward only;" \
        "zone \"corp.test\" { type primary; file \"$d/corp.zone\"; };"
    bg named -g -c "$d/named.conf" -u root
    ready 10.53.0.4 corp.test || return 1
    nsx dnsperf -s 10.53.0.2 -a 10.53.0.10 -d "$d/q" -l 30 -Q 100 -c 2 -t 3 >"$d/dnsperf.out" 2>&1 &
    local p=$!
    sleep 5
    nsx dnsperf -s 10.53.0.2 -a 10.53.9.9 -d "$d/q" -l 10 -Q 20 -c 1 -t 3 >"$d/dnsperf-out.out" 2>&1
    for i in 1 2 3 4 5; do
        nsx dig +tries=1 +time=2 -b 10.53.9.9 @10.53.0.4 "h$i.example.test" A >/dev/null 2>&1
        nsx dig +tries=1 +time=2 -b 10.53.9.9 @10.53.0.4 www.corp.test A >/dev/null 2>&1
    done
    wait "$p"
    expect open-resolver server=10.53.0.2 3 25
    expect open-resolver "summary~10.53.0.4 gives recursive service" 10 40
}

# Attack: a Kaminsky-style burst of 1,000 forged responses (source the upstream's address
# and port 53, random TXIDs and ports) toward the resolver while it resolves.
scen_poison_flood() {
    echo attack >"$d/kind"
    site_start || return 1
    nsx dnsperf -s 10.53.0.2 -a 10.53.0.10 -d "$d/q" -l 35 -Q 100 -c 2 -t 3 >"$d/dnsperf.out" 2>&1 &
    local p=$!
    sleep 15
    nsx python3 "$here/forge.py" 10.53.0.3 10.53.0.2 1000 5 >"$d/forge.out" 2>&1
    wait "$p"
    expect poison-flood victim=10.53.0.2 13 25
}

# Attack (14.2): reflection through the site's servers: 300 large-buffer ANY queries for
# example.test "from" 10.53.9.50 (spoofed) to NSD and BIND over 20 s, Unbound refusing;
# real servers' answers amplify only a few times, so the query shape must give it away.
# Internal clients meanwhile resolve as usual.
scen_reflection() {
    echo attack >"$d/kind"
    nsd_start
    unbound_start
    bind_primary_start
    capture_start
    ready 10.53.0.4 example.test || return 1
    queries "$d/q"
    nsx dnsperf -s 10.53.0.2 -a 10.53.0.10 -d "$d/q" -l 30 -Q 50 -c 2 -t 3 >"$d/dnsperf.out" 2>&1 &
    local p=$!
    sleep 3
    nsx python3 "$here/forge.py" --query 10.53.9.50 300 20 example.test ANY 10.53.0.3 10.53.0.4 \
        10.53.0.2 >"$d/forge.out" 2>&1
    wait "$p"
    expect amplification victim=10.53.9.50 0 90 # judged at the end of its window
}

# Policy finding (issue 15.3, BSI A4): the servers tell what they run to whoever asks
# CHAOS TXT version.bind / version.server: BIND and NSD to a client outside the site,
# Unbound to an internal one.
scen_version_disclosure() {
    echo attack >"$d/kind"
    site_start || return 1
    bind_primary_start
    ready 10.53.0.4 example.test || return 1
    for s in 10.53.0.3 10.53.0.4; do
        nsx dig +tries=1 +time=2 -b 10.53.9.9 @"$s" version.bind CH TXT >>"$d/dig.out" 2>&1
    done
    nsx dig +tries=1 +time=2 -b 10.53.0.10 @10.53.0.2 version.server CH TXT >>"$d/dig.out" 2>&1
    sleep 1
    expect version-disclosure server=10.53.0.3 0 30
    expect version-disclosure server=10.53.0.4 0 30
    expect version-disclosure server=10.53.0.2 0 30
}

# Attack: BIND 9 as secondary of example.test asks NSD, which allows no transfer
# (REFUSED): a failed zone transfer.
scen_xfr_refused() {
    echo attack >"$d/kind"
    nsd_start
    named_conf "    transfer-source 10.53.0.4;
    notify-source 10.53.0.4;
    query-source address 10.53.0.4;" \
        "zone \"example.test\" { type secondary; primaries { 10.53.0.3; }; file \"$d/secondary.zone\"; };"
    capture_start
    sleep 1
    bg named -g -c "$d/named.conf" -u root
    sleep 20
    expect xfr-failed zone=example.test. 0 25
}

# ---- run them ----
all=(clean_resolver refused_outside soa_monitor upstream_outage poison_flood reflection
    version_disclosure xfr_refused open_resolver)
IFS=, read -r -a chosen <<<"${SCEN:-$(
    IFS=,
    echo "${all[*]}"
)}"
for s in "${chosen[@]}"; do
    if [ -n "${SCEN_FROM:-}" ]; then # judge recorded scenarios (SCEN_KEEP's files)
        mkdir -p "$work/$s"
        cp "$SCEN_FROM/$s.pcap" "$work/$s/cap.pcap" && cp "$SCEN_FROM/$s.kind" "$work/$s/kind" &&
            touch "$work/$s/ok"
        cp "$SCEN_FROM/$s.expect" "$work/$s/expect" 2>/dev/null
        continue
    fi
    (
        source "$here/lib.sh"
        PIDS=()
        d="$work/$s"
        mkdir -p "$d"
        chmod 755 "$d"
        trap scen_cleanup EXIT
        scen_ns "${s//_/}" || exit 1
        T0=$(date +%s)
        export T0
        if "scen_$s"; then
            capture_stop
            touch "$d/ok"
        fi
    ) >"$work/$s.log" 2>&1 &
    # bounded: the longest scenario takes about 190 s
done
deadline=$(($(date +%s) + 300))
while [ -n "$(jobs -rp)" ] && [ "$(date +%s)" -lt "$deadline" ]; do sleep 1; done
for p in $(jobs -rp); do kill "$p" 2>/dev/null; done
wait 2>/dev/null

# ---- judge them ----
declare -A found expected falses unexplained
# every rule the binary has (a new rule joins the table by itself)
mapfile -t rules < <("$DNSVIGIL" rules | awk '/^[a-z][a-z0-9-]* /{print $1}')
for r in "${rules[@]}"; do found[$r]=0 expected[$r]=0 falses[$r]=0 unexplained[$r]=0; done
for s in "${chosen[@]}"; do
    d="$work/$s"
    if [ ! -e "$d/ok" ] || [ ! -s "$d/cap.pcap" ]; then
        fail "scen/$s" "did not run: $(tail -n 3 "$work/$s.log" "$d"/*.log 2>/dev/null | tr '\n' ' ' | cut -c1-400)"
        continue
    fi
    if [ "$(cat "$d/kdrops" 2>/dev/null || echo 0)" != 0 ]; then
        fail "scen/$s" "tcpdump lost $(cat "$d/kdrops") packets: the capture is not the traffic"
        continue
    fi
    if [ -n "${SCEN_KEEP:-}" ]; then
        mkdir -p "$SCEN_KEEP"
        cp "$d/cap.pcap" "$SCEN_KEEP/$s.pcap"
        cp "$d/kind" "$SCEN_KEEP/$s.kind"
        cp "$d/expect" "$SCEN_KEEP/$s.expect" 2>/dev/null
    fi
    "$DNSVIGIL" analyze --json --no-progress -c "$here/site.ini" -o "$d/out.json" --db "$d/s.db" \
        "$d/cap.pcap" 2>"$d/analyze.err" || {
        fail "scen/$s" "analyze failed: $(head -c 300 "$d/analyze.err")"
        continue
    }
    kind=$(cat "$d/kind")
    # Each alert: explained by which expectation (index) or none; each expectation: found.
    res=$(jq -c --rawfile exp <(cat "$d/expect" 2>/dev/null) '
        . as $root | (.time.first | sub("\\.[0-9]+Z$"; "Z") | fromdateiso8601) as $t0 |
        [$exp | split("\n")[] | select(length > 0) | split(" ") |
         {rule: .[0], field: (.[1:-2] | join(" ")), from: (.[-2] | tonumber), to: (.[-1] | tonumber)}] as $e |
        def t: (.first_seen | sub("\\.[0-9]+Z$"; "Z") | fromdateiso8601) - $t0;
        def match($x): .rule == $x.rule and t >= $x.from and t <= $x.to and
            (if ($x.field | startswith("summary~")) then (.summary | contains($x.field[8:]))
             else ($x.field | split("=")) as $kv | (.[$kv[0]] // "") == $kv[1] end);
        {expect: [$e[] as $x | {rule: $x.rule, what: "\($x.field) \($x.from)-\($x.to)s",
                                found: ([$root.alerts[] | select(match($x))] | length > 0)}],
         alerts: [.alerts[] | . as $a | {rule, t: t, summary,
                                        explained: ([$e[] | select(. as $x | $a | match($x))] | length > 0)}]}' \
        "$d/out.json") && [ -n "$res" ] || {
        fail "scen/$s" "could not judge the alerts (jq)"
        continue
    }
    while IFS=$'\t' read -r rule what ok; do
        expected[$rule]=$((${expected[$rule]:-0} + 1))
        if [ "$ok" = true ]; then
            found[$rule]=$((${found[$rule]:-0} + 1))
            pass "scen/$s/found $rule $what"
        else
            fail "scen/$s/found $rule $what" "not found; alerts: $(jq -c '[.alerts[] | "\(.rule) \(.t)s \(.summary)"]' <<<"$res" | cut -c1-600)"
        fi
    done < <(jq -r '.expect[] | [.rule, .what, .found] | @tsv' <<<"$res")
    bad=0
    while IFS=$'\t' read -r rule t summary; do
        bad=1
        if [ "$kind" = clean ]; then
            falses[$rule]=$((${falses[$rule]:-0} + 1))
            fail "scen/$s/false $rule" "at ${t}s: $summary"
        else
            unexplained[$rule]=$((${unexplained[$rule]:-0} + 1))
            fail "scen/$s/unexplained $rule" "at ${t}s: $summary"
        fi
    done < <(jq -r '.alerts[] | select(.explained | not) | [.rule, (.t | floor), .summary] | @tsv' <<<"$res")
    # The ISO report's A15 changes are the shifts error-ratio alerted on (the default
    # report period: the 24 hours up to the newest data).
    "$DNSVIGIL" report --db "$d/s.db" --format json >"$d/report.json" 2>/dev/null
    nrep=$(jq '.app36.error_ratio_changes | length' "$d/report.json")
    nrule=$(jq '[.alerts[] | select(.rule == "error-ratio")] | length' "$d/out.json")
    if [ -n "$nrep" ] && [ "$nrep" = "$nrule" ]; then pass "scen/$s/report-a15-changes ($nrep)"; else
        fail "scen/$s/report-a15-changes" "report lists '$nrep' changes, the rule raised $nrule alerts"; fi
    # ... and its configuration findings are the alerts that cite A4, A6 or A18.
    nrep=$(jq '.configuration_findings.findings | length' "$d/report.json")
    nrule=$(jq '[.alerts[] | select(.reference | test("\\.A(4|6|18)([^0-9]|$)"))] | length' "$d/out.json")
    if [ -n "$nrep" ] && [ "$nrep" = "$nrule" ]; then pass "scen/$s/report-config-findings ($nrep)"; else
        fail "scen/$s/report-config-findings" "report lists '$nrep' findings, the alerts cite A4/A6/A18 $nrule times"; fi
    [ "$bad" = 0 ] && pass "scen/$s/no-other-alerts ($kind, $(jq '.alerts | length' <<<"$res") alerts, $(jq .dns.queries "$d/out.json") queries)"
done
echo "  per rule: found/expected, false alerts (clean scenarios), unexplained (attack scenarios)"
for r in "${rules[@]}"; do
    printf '    %-18s %d/%d  false %d  unexplained %d\n' "$r" "${found[$r]}" "${expected[$r]}" "${falses[$r]}" "${unexplained[$r]}"
done
exit 0
