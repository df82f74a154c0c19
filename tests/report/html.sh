#!/usr/bin/env bash
# The HTML report as a browser shows it: Debian's Chromium renders the report of the
# generated day capture headless. Checks: Chromium loads it without any console message
# (the page has no scripts, so any message is an error) and without network access; the
# DOM after layout holds the four charts with drawn elements; and the screenshot really shows
# them: pixels in the exact colours of the query bars, error bars, NOERROR share, EDNS error
# bars and alert markers (ImageMagick counts them). The screenshot is kept in $REPORT_SHOT
# if set.
source "$(dirname "$0")/../lib.sh"
if ! command -v chromium >/dev/null || ! command -v convert >/dev/null; then
    fail "report/html-chromium" "chromium or imagemagick missing (tools/install-deps.sh)"
    exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1
P="$TOP/tests/pcap"
"$TOP/$BUILD/tests/gen" day day.pcap 2>/dev/null
"$DNSVIGIL" analyze -q --no-progress --db r.db day.pcap >/dev/null
for f in xfr tcp_axfr edns_fail; do
    "$DNSVIGIL" analyze -q --no-progress -c "$P/rules.ini" --db r.db "$P/$f.pcap" >/dev/null
done
"$DNSVIGIL" report --db r.db --from 2026-11-23T00:00:00Z --to 2026-11-24T00:00:00Z \
    --now 2026-11-24T06:00:00Z --format html -o report.html

chrome() {
    # A private profile; no network: the file must not need any.
    timeout 90 chromium --headless --no-sandbox --disable-gpu --hide-scrollbars \
        --user-data-dir="$tmp/profile" --no-first-run --disable-extensions \
        --proxy-server=127.0.0.1:9 --enable-logging=stderr --v=0 "$@" \
        "file://$tmp/report.html"
}
chrome --dump-dom >dom.html 2>dom.err
rc=$?
if [ $rc -ne 0 ]; then
    fail "report/html-chromium-load" "chromium exit $rc: $(tail -3 dom.err)"
    exit 0
fi
pass "report/html-chromium-load"
msgs=$(grep -E 'CONSOLE|Failed to load|Uncaught' dom.err)
if [ -z "$msgs" ]; then pass "report/html-no-console-errors"; else
    fail "report/html-no-console-errors" "$msgs"; fi
n_svg=$(grep -o '<svg' dom.html | wc -l)
n_q=$(grep -o '<rect class="q"' dom.html | wc -l)
n_e=$(grep -o '<rect class="e"' dom.html | wc -l)
n_rc=$(grep -o '<rect class="rc"' dom.html | wc -l)
n_x=$(grep -o '<rect class="x"' dom.html | wc -l)
n_ratio=$(grep -oE '<path class="ratio"[^>]* d="M[0-9]' dom.html | wc -l)
n_alert=$(grep -o '<g class="alert"' dom.html | wc -l)
if [ "$n_svg" -eq 4 ] && [ "$n_q" -ge 40 ] && [ "$n_e" -ge 40 ] && [ "$n_rc" -ge 3 ] &&
    [ "$n_x" -ge 1 ] && [ "$n_ratio" -eq 1 ] && [ "$n_alert" -ge 1 ]; then
    pass "report/html-charts-in-dom"
else
    fail "report/html-charts-in-dom" "svg $n_svg, query bars $n_q, error bars $n_e, rcode parts $n_rc, edns bars $n_x, ratio path $n_ratio, alert markers $n_alert"
fi

chrome --window-size=900,2600 --screenshot="$tmp/shot.png" >/dev/null 2>shot.err
if [ ! -s shot.png ]; then
    fail "report/html-screenshot" "no screenshot: $(tail -3 shot.err)"
    exit 0
fi
[ -n "${REPORT_SHOT:-}" ] && cp shot.png "$REPORT_SHOT"
bad=""
# colour, what it is, pixels at least
while read -r colour what min; do
    n=$(convert shot.png -alpha off -fill black +opaque "$colour" -fill white -opaque "$colour" \
        -format '%[fx:round(mean*w*h)]' info:)
    [ "$n" -ge "$min" ] || bad+="$what ($colour) $n pixels < $min; "
done <<'LIST'
#6baed6 query-bars 5000
#d62728 error-bars-and-ratio 2000
#2ca02c noerror-share 2000
#9467bd edns-error-bars 200
#ff7f0e alert-markers 100
LIST
if [ -z "$bad" ]; then pass "report/html-screenshot-shows-charts"; else
    fail "report/html-screenshot-shows-charts" "$bad"; fi
