#!/usr/bin/env bash
# The live view in a real terminal: tmux runs `dnsvigil watch -r poison.pcap --speed 0`
# (one query, 50 forged responses, 1 real one: a poison-flood alert) at 100x30, and the test
# reads the screen with `tmux capture-pane`: the totals, the alert in the alerts pane after
# pressing 5, the servers table after pressing 2, the help on '?', the alert's details on
# Enter, the view at 80x24, 'q' ending the process with status 0, and the process ending when
# its tmux session is killed (the terminal going away). Bounded: every wait
# polls at most 10 s.
source "$(dirname "$0")/../lib.sh"
sys_need watch/tui tmux || exit 0
tmp=$(mktemp -d)
chmod 755 "$tmp"
sock="$tmp/tmux.sock"
trap 'tmux -S "$sock" kill-server 2>/dev/null; rm -rf "$tmp"' EXIT
cp "$TOP/tests/pcap/poison.pcap" "$TOP/tests/pcap/rules.ini" "$tmp/"
chmod 644 "$tmp"/*
T() { tmux -S "$sock" "$@"; }
screen() { T capture-pane -p -t dv; }
# wait_for TEXT: polls the screen until TEXT shows (10 s at most).
wait_for() {
    for _ in $(seq 1 100); do
        screen | grep -qF -- "$1" && return 0
        sleep 0.1
    done
    return 1
}
check() { # check NAME TEXT
    if wait_for "$2"; then pass "watch/tui-$1"; else
        fail "watch/tui-$1" "'$2' not on screen: $(screen | head -12)"; fi
}

T new-session -d -s dv -x 100 -y 30 \
    "TERM=xterm-256color '$DNSVIGIL' watch -r '$tmp/poison.pcap' -c '$tmp/rules.ini' --speed 0 --no-syslog; echo \"EXIT=\$?\" >'$tmp/exit'; sleep 30"
check header "replay $tmp/poison.pcap"
check totals "Total queries 1  responses 51"
check finished "[input finished]"
check rcode "NOERROR 98.0% NXDOMAIN 2.0%"
check unsolicited "unsolicited 50"
# Figures as the JSON summary has them (latency 1.5 ms), rates from packet time: a finished
# replay shows its average, not 0.0/s.
check latency "Latency p50 1.5  p95 1.5  p99 1.5 ms"
if screen | grep -qE 'Queries +[0-9]*[1-9][0-9]*\.[0-9]/s +Responses +[0-9]*[1-9][0-9]*\.[0-9]/s avg'; then
    pass "watch/tui-replay-average-rates"
else
    fail "watch/tui-replay-average-rates" "$(screen | sed -n 2p)"
fi
# The most severe open alert is on the first screen whatever the pane, with its key, and
# with the engine's count (50), not the count of its first line (10).
check worst-alert-line "critical poison-flood 10.0.0.53 (50): 50 forged-looking responses"
T send-keys -t dv 5
check alerts-pane "poison-flood"
check alerts-open "5 Alerts (1 open)"
T send-keys -t dv Enter
check alert-details "Alert poison-flood (critical, open)"
check alert-evidence "evidence"
check alert-count "count       50"
T send-keys -t dv Escape
T send-keys -t dv 2
check servers-pane "count   share  Servers"
check servers-row "203.0.113.1"
T send-keys -t dv '?'
check help "dnsvigil live view - keys"
T send-keys -t dv x
T resize-window -t dv -x 80 -y 24 2>/dev/null || T resize-window -t dv -x 80 -y 24
check resize-80x24 "q quit  ? help"
check worst-alert-80x24 "critical poison-flood 10.0.0.53 (50)"
if screen | awk 'length > 80 { bad = 1 } END { exit bad }'; then pass "watch/tui-fits-80"; else
    fail "watch/tui-fits-80" "a line is wider than 80 columns"; fi
T send-keys -t dv q
for _ in $(seq 1 100); do [ -s "$tmp/exit" ] && break; sleep 0.1; done
if [ "$(cat "$tmp/exit" 2>/dev/null)" = "EXIT=0" ]; then pass "watch/tui-quit"; else
    fail "watch/tui-quit" "after q: '$(cat "$tmp/exit" 2>/dev/null)'"; fi

# The terminal goes away (as when an SSH session or tmux pane closes): watch, started from a
# shell inside tmux on a replay that would take 3 minutes, must end within 2 s of the
# session being killed, with the store flushed (the run is no longer 'running').
cp "$TOP/tests/sample.pcap" "$tmp/"
chmod 644 "$tmp/sample.pcap"
T new-session -d -s hup -x 100 -y 30 "sh -c 'echo \$\$ >\"$tmp/pid\"; TERM=xterm-256color exec \"$DNSVIGIL\" watch -r \"$tmp/sample.pcap\" --speed 1 --db \"$tmp/hup.db\" --no-syslog 2>\"$tmp/hup.err\"'"
for _ in $(seq 1 100); do
    [ -s "$tmp/pid" ] && T capture-pane -p -t hup | grep -q "replay" && break
    sleep 0.1
done
pid=$(cat "$tmp/pid" 2>/dev/null)
sleep 1
T kill-session -t hup
gone=""
for i in $(seq 1 20); do
    if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then gone=$i; break; fi
    sleep 0.1
done
if [ -n "$gone" ]; then pass "watch/tui-hangup-exits ($((gone * 100)) ms)"; else
    fail "watch/tui-hangup-exits" "pid ${pid:-?} still running 2 s after the session closed: $(ps -o pid,pcpu,stat,cmd -p "${pid:-0}" | tail -1)"
    kill "$pid" 2>/dev/null
fi
st=$(sqlite3 "$tmp/hup.db" "SELECT status FROM run" 2>&1)
if [ -n "$st" ] && [ "$st" != running ]; then pass "watch/tui-hangup-store-flushed ($st)"; else
    fail "watch/tui-hangup-store-flushed" "run status '$st'; stderr: $(head -c 300 "$tmp/hup.err")"; fi

# Every figure of the view equals the JSON summary of the same packets at the end of a
# replay (a capture with every transaction outcome and known latencies).
cp "$TOP/tests/pcap/flow.pcap" "$tmp/"
chmod 644 "$tmp/flow.pcap"
j=$("$DNSVIGIL" analyze --json --no-progress "$tmp/flow.pcap")
T new-session -d -s fig -x 100 -y 30 "TERM=xterm-256color '$DNSVIGIL' watch -r '$tmp/flow.pcap' --speed 0 --no-syslog; sleep 30"
fig() { T capture-pane -p -t fig; }
for _ in $(seq 1 100); do fig | grep -qF "[input finished]" && break; sleep 0.1; done
sleep 1.5 # the next publication after the end
want_lat=$(jq -r '.latency | "Latency p50 \(.p50 * 10 | round / 10 | tostring | if test("\\.") then . else . + ".0" end)  p95 \(.p95 * 10 | round / 10 | tostring | if test("\\.") then . else . + ".0" end)  p99 \(.p99 * 10 | round / 10 | tostring | if test("\\.") then . else . + ".0" end) ms"' <<<"$j")
want_out=$(jq -r '.transactions | "unanswered \(.unanswered + .evicted)  unsolicited \(.unsolicited)  dup \(.duplicate)"' <<<"$j")
want_tot=$(jq -r '"Total queries \(.dns.queries)  responses \(.dns.responses)"' <<<"$j")
miss=""
for want in "$want_lat" "$want_out" "$want_tot"; do
    fig | grep -qF -- "$want" || miss+="[$want] "
done
if [ -z "$miss" ]; then pass "watch/tui-figures-equal-json ($want_lat; $want_out)"; else
    fail "watch/tui-figures-equal-json" "not on screen: $miss; screen: $(fig | sed -n 2,6p | tr '\n' '|')"
fi
T kill-session -t fig
