#!/usr/bin/env bash
# Installs the Debian 12 packages dnsvigil needs to build and test (only those missing).
# Uses sudo when not run as root.
set -euo pipefail
pkgs=(build-essential pkg-config libpcap-dev libldns-dev libpsl-dev publicsuffix zlib1g-dev liblzma-dev liblz4-dev
    libzstd-dev libcmocka-dev libinih-dev libsqlite3-dev sqlite3 libncurses-dev
    clang libclang-rt-14-dev clang-format cppcheck
    tshark tcpdump nsd bind9 unbound dnsperf dnsutils jq gzip xz-utils lz4 zstd
    chromium imagemagick libcap-ng-dev tmux prometheus tcpreplay curl iproute2
    knot knot-module-dnstap)
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
    echo "install-deps: all ${#pkgs[@]} packages present"
    exit 0
fi
sudo=""
[ "$(id -u)" = 0 ] || sudo=sudo
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# tshark asks whether non-root users may capture; the default (no) is fine here.
echo "wireshark-common wireshark-common/install-setuid boolean false" | $sudo debconf-set-selections
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
