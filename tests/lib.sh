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
