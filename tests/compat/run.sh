#!/bin/sh
# tests/compat/run.sh - the same BEGIN-only programs through sonde and bpftrace 0.17: stdout
# and exit status must be identical (TAP).  Skips when bpftrace is not installed or not root.
set -u
: "${SONDE:=$(dirname "$0")/../../sonde}"
: "${top_srcdir:=$(dirname "$0")/../..}"
BPFTRACE=${BPFTRACE:-$(command -v bpftrace || true)}
corpus="$top_srcdir/tests/compat/corpus.txt"
n=0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

grep -v '^#' "$corpus" | grep -v '^$' >"$work/programs"
total=$(wc -l <"$work/programs")
if [ "$(id -u)" != 0 ] || [ -z "$BPFTRACE" ]; then
	reason="bpftrace not installed"
	[ "$(id -u)" != 0 ] && reason="not root"
	i=0
	while [ "$i" -lt "$total" ]; do
		i=$((i + 1))
		echo "ok $i - compat program $i # SKIP $reason"
	done
	echo "1..$total"
	exit 0
fi

while IFS= read -r prog; do
	n=$((n + 1))
	timeout 20 "$SONDE" -e "$prog" >"$work/s.out" 2>/dev/null
	echo "exit $?" >>"$work/s.out"
	timeout 20 "$BPFTRACE" -e "$prog" >"$work/b.raw" 2>/dev/null
	echo "exit $?" >>"$work/b.raw"
	sed 's/bpftrace/sonde/g' "$work/b.raw" >"$work/b.out"
	if cmp -s "$work/s.out" "$work/b.out"; then
		printf 'ok %d - same output as bpftrace: %s\n' "$n" "$prog"
	else
		printf 'not ok %d - same output as bpftrace: %s\n' "$n" "$prog"
		diff "$work/b.out" "$work/s.out" | sed 's/^/# /' | head -20
	fi
done <"$work/programs"
echo "1..$n"
