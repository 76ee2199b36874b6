#!/bin/sh
# bench/watchpoint.sh - what a synchronous watchpoint costs the traced program, sonde beside
# bpftrace 0.17, in one run.
#
#   bench/watchpoint.sh [SONDE] [CALLS]        (root; bpftrace 0.17 from Debian for the comparison)
#
# watchpoint:FUNC+argN stops the process at every call of FUNC (SIGSTOP from the setup uprobe)
# until the tracer has read the address, tried the breakpoint and sent SIGCONT; asyncwatchpoint
# does not stop it.  The load calls f(p) CALLS times (default 2000) and prints the microseconds
# per call: on one object ("same": after the first call every report is a duplicate, so this is
# the stop/report/continue round trip alone) and on a new object each time ("new": each report
# also tries a breakpoint, refused with ENOSPC once the 4 debug registers are taken).  Rows: the
# load alone, then each tool with watchpoint and asyncwatchpoint.  Figures are medians of 3 runs.
set -u
SONDE=${1:-$(dirname "$0")/../sonde}
CALLS=${2:-2000}
BPFTRACE=$(command -v bpftrace || true)
[ "$(id -u)" = 0 ] || { echo "bench/watchpoint.sh: needs root (BPF)" >&2; exit 1; }
tmp=$(mktemp -d /tmp/sonde-bench.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

cat >"$tmp/load.c" <<'EOF'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
__attribute__((noinline)) void f(int *p) { (*p)++; }
static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}
int main(int argc, char **argv)
{
	int n = atoi(argv[2]), same = strcmp(argv[1], "same") == 0, *one = calloc(1, sizeof(int));
	double t0 = now_us();

	for (int i = 0; i < n; i++)
		f(same ? one : calloc(1, sizeof(int)));
	printf("load: %.2f us/call\n", (now_us() - t0) / n);
	return 0;
}
EOF
cc -O0 -g -o "$tmp/load" "$tmp/load.c" || exit 1

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# tool ("" for none), probe type, mode -> median us/call, or why it could not run
measure() {
	tool=$1; type=$2; mode=$3
	for run in 1 2 3; do
		if [ -z "$tool" ]; then
			"$tmp/load" "$mode" "$CALLS" >"$tmp/out" 2>&1
		else
			# the tool's own output to a file of its own: it would cut the load's line
			timeout 120 "$tool" -o "$tmp/tool.out" -e "$type:f+arg0:4:w { @ = count(); }" \
				-c "$tmp/load $mode $CALLS" >"$tmp/out" 2>&1
		fi
		sed -n 's/^load: \([0-9.]*\) us\/call$/\1/p' "$tmp/out"
	done | median
}

printf '%-34s %12s %12s\n' "load (calls of f(p): $CALLS)" "same object" "new objects"
printf '%-34s %12s %12s\n' "no tracer" "$(measure "" "" same)" "$(measure "" "" new)"
for tool in "$SONDE" $BPFTRACE; do
	name=$(basename "$tool")
	for type in watchpoint asyncwatchpoint; do
		s=$(measure "$tool" $type same)
		n=$(measure "$tool" $type new)
		printf '%-34s %12s %12s\n' "$name $type" "${s:-fails}" "${n:-fails}"
	done
done
echo "(microseconds per call, median of 3 runs; $(nproc) CPUs, $(uname -r))"
