# Shared by the test suites (sourced). Each suite records one line per case in $RESULTS:
# "PASS name" or "FAIL name". run_all.sh counts them.
: "${RESULTS:=/dev/null}"
: "${BUILD:=build}"
export TZ=UTC LC_ALL=C
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DNSVIGIL="$TOP/$BUILD/dnsvigil"

pass() { echo "PASS $1" >>"$RESULTS"; echo "  ok    $1"; }
fail() { echo "FAIL $1" >>"$RESULTS"; echo "  FAIL  $1${2:+: $2}"; }
skip() { echo "SKIP $1" >>"$RESULTS"; echo "  skip  $1${2:+: $2}"; }

# fixture_cases FN: for each case of tests/pcap/LIST, calls FN NAME EXPECT-FILE ARGS..., where
# ARGS are the case's options (@DIR@ replaced) followed by its capture files.
fixture_cases() {
    local fn=$1 dir="$TOP/tests/pcap" name caps expect opts p
    local -a files parts
    while read -r name caps expect opts; do
        case "$name" in "" | \#*) continue ;; esac
        files=()
        IFS=, read -ra parts <<<"$caps"
        for p in "${parts[@]}"; do files+=("$dir/$p"); done
        opts=${opts//@DIR@/$dir}
        # shellcheck disable=SC2086
        "$fn" "$name" "$dir/expect/$expect" $opts "${files[@]}"
    done <"$dir/LIST"
}

# ---- system tests: servers and captures on loopback --------------------------------------
# sys_need NAME CMD...: fails the test NAME (and returns 1) unless every command exists.
sys_need() {
    local name=$1 t
    shift
    for t in "$@"; do
        if ! command -v "$t" >/dev/null; then
            fail "$name" "$t is not installed (see tools/install-deps.sh)"
            return 1
        fi
    done
}

# sys_setup: a private directory in $tmp, background processes in SYS_PIDS stopped on exit.
sys_setup() {
    tmp=$(mktemp -d)
    chmod 755 "$tmp"
    SYS_PIDS=()
    trap 'for p in "${SYS_PIDS[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$tmp"' EXIT
}

# sys_capture_start FILTER: tcpdump on lo into $tmp/cap.pcap (immediate mode, so nothing is
# left in a buffer when it stops).
sys_capture_start() {
    tcpdump -i lo -U --immediate-mode -n -s 0 -w "$tmp/cap.pcap" "$1" 2>"$tmp/tcpdump.log" &
    SYS_CAP_PID=$!
    SYS_PIDS+=("$SYS_CAP_PID")
}

# sys_wait_ready PORT NAME [STATUS]: waits at most 10 s until tcpdump listens and a SOA
# query for NAME to 127.0.0.1#PORT is answered (with STATUS if given).
sys_wait_ready() {
    local port=$1 name=$2 status=${3:-} i
    for i in $(seq 1 100); do
        if grep -q "listening on" "$tmp/tcpdump.log" 2>/dev/null &&
            dig +tries=1 +time=1 @127.0.0.1 -p "$port" "$name" SOA 2>/dev/null |
            grep -q "status: ${status}"; then
            return 0
        fi
        sleep 0.1
    done
    return 1
}

# sys_capture_stop: lets the last packets land, then stops tcpdump.
sys_capture_stop() {
    sleep 0.5
    kill -INT "$SYS_CAP_PID" 2>/dev/null
    wait "$SYS_CAP_PID" 2>/dev/null
}

# sys_unbound_conf DIR PORT: the start of an Unbound configuration in DIR/unbound.conf, its
# server: clause listening on 127.0.0.1#PORT with everything (pid, log) under DIR; the caller
# appends its own server lines and clauses.
sys_unbound_conf() {
    cat >"$1/unbound.conf" <<CONF
server:
    interface: 127.0.0.1@$2
    port: $2
    username: ""
    chroot: ""
    directory: "$1"
    pidfile: "$1/unbound.pid"
    logfile: "$1/unbound.log"
    use-syslog: no
    do-not-query-localhost: no
    module-config: "iterator"
    access-control: 127.0.0.0/8 allow
CONF
}

# sys_unbound_forwarder DIR PORT UPSTREAM TTL: an Unbound on 127.0.0.1#PORT (configured in
# DIR) forwarding everything, root included, to 127.0.0.1#UPSTREAM, caching at most TTL s.
sys_unbound_forwarder() {
    sys_unbound_conf "$1" "$2"
    cat >>"$1/unbound.conf" <<CONF
    do-daemonize: no
    num-threads: 1
    prefetch: no
    cache-max-ttl: $4
    cache-max-negative-ttl: $4
    local-zone: "test." nodefault
remote-control:
    control-enable: no
forward-zone:
    name: "."
    forward-addr: 127.0.0.1@$3
CONF
}

# sys_nsd_start PORT: NSD on 127.0.0.1#PORT serving $tmp/example.test.zone (written by the
# caller), in the foreground of a background job, everything under $tmp.
sys_nsd_start() {
    cat >"$tmp/nsd.conf" <<CONF
server:
    ip-address: 127.0.0.1@$1
    port: $1
    username: ""
    chroot: ""
    zonesdir: "$tmp"
    database: ""
    pidfile: "$tmp/nsd.pid"
    xfrdfile: "$tmp/xfrd.state"
    zonelistfile: "$tmp/zone.list"
    xfrdir: "$tmp"
    logfile: "$tmp/nsd.log"
    server-count: 1
remote-control:
    control-enable: no
zone:
    name: example.test
    zonefile: example.test.zone
CONF
    nsd -d -c "$tmp/nsd.conf" 2>>"$tmp/nsd.log" &
    SYS_PIDS+=($!)
}
