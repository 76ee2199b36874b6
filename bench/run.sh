#!/bin/sh
# bench/run.sh - sonde beside bpftrace in one run: start-up time and peak memory for the same
# programs, and the attach/detach cost of a wildcard uprobe over libc.
#
#   bench/run.sh [SONDE] [RUNS]      (root; bpftrace 0.17 from Debian for the comparison)
#
# Prints one line per (program, tool): mean wall seconds over RUNS and max RSS in MiB.
# The full set of issue-13 figures (medians of interleaved runs, kernel ns per event, output
# delivery, wildcard uprobes) and docs/PERFORMANCE.md come from bench/bench.py.
set -u
SONDE=${1:-$(dirname "$0")/../sonde}
RUNS=${2:-10}
BPFTRACE=$(command -v bpftrace || true)
TIMEFMT='%e %M'

measure() {	# tool, program... -> "mean_s max_rss_mib"
	tool=$1; shift
	total=0; rss=0; i=0
	while [ "$i" -lt "$RUNS" ]; do
		/usr/bin/time -o "$tmp" -f "$TIMEFMT" "$tool" "$@" >/dev/null 2>&1
		out=$(tail -1 "$tmp")
		t=${out% *}; r=${out#* }
		total=$(echo "$total + $t" | bc -l)
		[ "$r" -gt "$rss" ] && rss=$r
		i=$((i + 1))
	done
	printf '%.3f %.1f' "$(echo "$total / $RUNS" | bc -l)" "$(echo "$rss / 1024" | bc -l)"
}

row() {	# name, program
	name=$1; prog=$2
	s=$(measure "$SONDE" -e "$prog")
	if [ -n "$BPFTRACE" ]; then
		b=$(measure "$BPFTRACE" -e "$prog")
	else
		b="- -"
	fi
	printf '%-28s sonde %6s s %7s MiB    bpftrace %6s s %7s MiB\n' "$name" \
		"${s% *}" "${s#* }" "${b% *}" "${b#* }"
}

[ "$(id -u)" = 0 ] || { echo "bench/run.sh: needs root (BPF)" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "bench/run.sh: needs /usr/bin/time (Debian package 'time')" >&2; exit 1; }
command -v bc >/dev/null || { echo "bench/run.sh: needs bc" >&2; exit 1; }

tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
echo "runs per row: $RUNS"
row "BEGIN exit" 'BEGIN { exit(); }'
row "printf + map" 'BEGIN { @x[1] = count(); printf("%d\n", 1); exit(); }'
row "tracepoint + exit" 'tracepoint:syscalls:sys_enter_getppid { exit(); } BEGIN { exit(); }'
row "uprobe libc:getpid" 'uprobe:libc:getpid { @ = count(); } BEGIN { exit(); }'
row "uprobe libc:str* (wildcard)" 'uprobe:libc:str* { @ = count(); } BEGIN { exit(); }'
