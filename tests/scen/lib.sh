# Scenario helpers (sourced by tests/scen/run.sh): a network namespace per scenario with
# the site's addresses on its loopback, real servers started inside it, tcpdump on its
# loopback, and the expectations a scenario carries.
#
# Addresses (all inside the scenario's namespace, nothing leaves it):
#   10.53.0.2  Unbound, the site's resolver (forwards everything to 10.53.0.3)
#   10.53.0.3  NSD, authoritative for example.test (the resolver's upstream)
#   10.53.0.4  BIND 9, secondary of example.test (or a second authoritative server)
#   10.53.0.5  Knot DNS, a third authoritative server of example.test
#   10.53.0.10 an internal client (dnsperf, dig)
#   10.53.0.11 a monitoring host (dig SOA)
#   10.53.9.9  a client outside the site's networks
#   10.53.9.50 the victim of a reflection attack (nothing listens: ICMP port unreachable)

# scen_ns NAME: creates the namespace (in $ns) and its addresses; scen_cleanup removes it.
scen_ns() {
    ns="dvscen-$1-$$"
    ip netns add "$ns" || return 1
    ip -n "$ns" link set lo up
    for a in 10.53.0.2 10.53.0.3 10.53.0.4 10.53.0.5 10.53.0.10 10.53.0.11 10.53.9.9 10.53.9.50; do
        ip -n "$ns" addr add "$a/32" dev lo
    done
}

# nsx CMD...: runs a command inside the scenario's namespace.
nsx() { ip netns exec "$ns" "$@"; }

# bg CMD...: starts a command in the namespace in the background, its PID in PIDS.
bg() {
    ip netns exec "$ns" "$@" &
    PIDS+=($!)
}

scen_cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; kill -CONT "$p" 2>/dev/null; done
    wait 2>/dev/null
    [ -n "${ns:-}" ] && ip netns del "$ns" 2>/dev/null
}

# zone FILE: the example.test zone (the resolver's names: 200 hosts, a TXT, the NS and MX).
zone() {
    {
        echo "\$ORIGIN example.test."
        echo "\$TTL 30"
        echo "@ IN SOA ns1 hostmaster 2026120201 3600 900 604800 30"
        echo "@ IN NS ns1"
        echo "@ IN MX 10 mail"
        echo "ns1 IN A 10.53.0.3"
        echo "mail IN A 192.0.2.25"
        echo "txt IN TXT \"v=spf1 -all\""
        echo "@ IN TXT \"v=spf1 mx a:mail.example.test include:_spf.example.net ~all\""
        echo "@ IN TXT \"google-site-verification=0123456789abcdefghijklmnopqrstuvwxyzABCDEF\""
        for i in $(seq 1 200); do
            echo "h$i IN A 192.0.2.$((i % 250 + 1))"
            echo "h$i IN AAAA 2001:db8::$i"
        done
    } >"$1"
}

# nsd_start [EXTRA]: NSD on 10.53.0.3#53 serving example.test from $d (EXTRA: lines for
# the zone clause).
nsd_start() {
    zone "$d/example.test.zone"
    cat >"$d/nsd.conf" <<CONF
server:
    ip-address: 10.53.0.3
    port: 53
    username: ""
    chroot: ""
    zonesdir: "$d"
    database: ""
    pidfile: "$d/nsd.pid"
    xfrdfile: "$d/xfrd.state"
    zonelistfile: "$d/zone.list"
    xfrdir: "$d"
    logfile: "$d/nsd.log"
    server-count: 1
remote-control:
    control-enable: no
zone:
    name: example.test
    zonefile: example.test.zone
${1:-}
CONF
    bg nsd -d -c "$d/nsd.conf"
    NSD_PID=${PIDS[-1]}
}

# named_conf EXTRA ZONE: BIND 9's configuration on 10.53.0.4#53 in $d/named.conf, no
# recursion, with EXTRA option lines and the ZONE clause.
named_conf() {
    cat >"$d/named.conf" <<CONF
options {
    directory "$d";
    listen-on port 53 { 10.53.0.4; };
    listen-on-v6 { none; };
    pid-file "$d/named.pid";
    recursion ${BIND_RECURSION:-no};
    dnssec-validation no;
$1
};
controls { };
$2
CONF
}

# bind_primary_start: BIND 9 on 10.53.0.4#53, a second authoritative server of
# example.test (no recursion, no transfers).
bind_primary_start() {
    zone "$d/bind.zone"
    named_conf "    allow-transfer { none; };" \
        "zone \"example.test\" { type primary; file \"$d/bind.zone\"; };"
    bg named -g -c "$d/named.conf" -u root
}

# knot_start: Knot DNS on 10.53.0.5#53, authoritative for example.test.
knot_start() {
    mkdir -p "$d/knot"
    zone "$d/knot/example.test.zone"
    cat >"$d/knot.conf" <<CONF
server:
    listen: 10.53.0.5@53
    rundir: $d/knot
    pidfile: $d/knot/knot.pid
log:
  - target: $d/knot/knot.log
    any: info
database:
    storage: $d/knot/db
template:
  - id: default
    storage: $d/knot
zone:
  - domain: example.test
    file: example.test.zone
CONF
    bg knotd -c "$d/knot.conf"
}

# unbound_start: Unbound on 10.53.0.2#53 for the site (10.53.0.0/24), refusing everyone
# else, forwarding everything to NSD.
unbound_start() {
    cat >"$d/unbound.conf" <<CONF
server:
    interface: 10.53.0.2
    outgoing-interface: 10.53.0.2
    port: 53
    username: ""
    chroot: ""
    directory: "$d"
    pidfile: "$d/unbound.pid"
    logfile: "$d/unbound.log"
    use-syslog: no
    do-daemonize: no
    num-threads: 1
    do-not-query-localhost: no
    module-config: "iterator"
    access-control: 0.0.0.0/0 refuse
    access-control: 10.53.0.0/24 allow
${UNBOUND_ACL:-}
    prefetch: no
    cache-max-ttl: 10
    cache-max-negative-ttl: 10
    local-zone: "test." nodefault
remote-control:
    control-enable: no
forward-zone:
    name: "."
    forward-addr: 10.53.0.3@53
CONF
    bg unbound -d -c "$d/unbound.conf"
}

# site_start: NSD and Unbound up, the capture running, the resolver answering, and the
# everyday query mix in $d/q (the start of most scenarios).
site_start() {
    nsd_start
    unbound_start
    capture_start
    ready 10.53.0.2 example.test || return 1
    queries "$d/q"
}

# capture_start: tcpdump on the namespace's loopback into $d/cap.pcap.
capture_start() {
    # A 128 MiB ring of 8 KiB frames (16,000 packets): a stalled server's backlog and the
    # resolver's burst of SERVFAILs must not overflow it (with -s 0 the default ring holds
    # about 8 frames). DNS messages here stay below 8 KiB.
    bg tcpdump -i lo -U --immediate-mode -n -s 8192 -B 131072 -w "$d/cap.pcap" "udp or tcp" 2>"$d/tcpdump.log"
    CAP_PID=${PIDS[-1]}
}

capture_stop() {
    sleep 0.5
    kill -INT "$CAP_PID" 2>/dev/null
    wait "$CAP_PID" 2>/dev/null
    # what the capture itself lost (the judge refuses a scenario whose capture lost packets)
    sed -n 's/^\([0-9]*\) packets\{0,1\} dropped by kernel.*/\1/p' "$d/tcpdump.log" >"$d/kdrops"
}

# ready SERVER NAME: waits at most 10 s for tcpdump and an answer from SERVER for NAME.
ready() {
    local i
    for i in $(seq 1 100); do
        if grep -q "listening on" "$d/tcpdump.log" 2>/dev/null &&
            nsx dig +tries=1 +time=1 -b 10.53.0.10 @"$1" "$2" SOA 2>/dev/null | grep -q "status: NOERROR"; then
            return 0
        fi
        sleep 0.1
    done
    return 1
}

# queries FILE: the resolver's everyday mix for dnsperf.
queries() {
    for i in $(seq 1 200); do
        echo "h$i.example.test A"
        echo "h$i.example.test AAAA"
        echo "nx$i.example.test A"
        [ $((i % 10)) = 0 ] && echo "example.test MX" && echo "txt.example.test TXT"
    done >"$1"
}

# since: seconds since the capture started (the expectations' clock).
since() { echo $(($(date +%s) - T0)); }

# expect RULE FIELD=VALUE FROM TO: an alert of RULE whose FIELD (a top-level alert field,
# or summary~TEXT for a part of the summary) matches, first seen FROM..TO seconds after
# the capture started.
expect() { echo "$*" >>"$d/expect"; }
