#!/bin/sh
# tests/reliability/run.sh: fault, leak and load tests of a running sonde, as TAP (root; skips
# otherwise).  The tests are in reliability.py (python3, stdlib only); SONDE names the binary.
here=$(cd "$(dirname "$0")" && pwd)
if ! command -v python3 >/dev/null 2>&1; then
	echo "1..1"
	echo "ok 1 - reliability tests # SKIP python3 not found"
	exit 0
fi
if [ -n "${top_builddir:-}" ] && [ -z "${RELIABILITY_BUILD_DIR:-}" ]; then
	RELIABILITY_BUILD_DIR=$top_builddir/tests/reliability/build
	export RELIABILITY_BUILD_DIR
fi
exec python3 "$here/reliability.py" "$@"
