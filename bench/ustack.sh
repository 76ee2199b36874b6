#!/bin/sh
# bench/ustack.sh - the cost of user stacks, sonde's two modes beside bpftrace's ustack, in one run.
#
#   bench/ustack.sh [SONDE] [SECONDS]        (root; bpftrace 0.17 from Debian for the comparison)
#
# Load: a program built -O2 -fomit-frame-pointer (like distribution binaries) calling getppid()
# through three frames in a loop.  Each tool runs `@[ustack...] = count()` on
# tracepoint:syscalls:sys_enter_getppid for that process for SECONDS (default 3); the kernel's
# own accounting (kernel.bpf_stats_enabled: run_time_ns / run_cnt of the program) gives the ns
# per event, the frames printed say how deep each mode sees.  Then the printf path: every event
# printed with its stack (ustack(dwarf)), lines per second and events lost, which is the rate
# at which user space takes stacks and symbolizes them.  Figures are medians of 3 runs.
set -u
SONDE=${1:-$(dirname "$0")/../sonde}
SECS=${2:-3}
BPFTRACE=$(command -v bpftrace || true)
[ "$(id -u)" = 0 ] || { echo "bench/ustack.sh: needs root (BPF)" >&2; exit 1; }
tmp=$(mktemp -d /tmp/sonde-bench.XXXXXX)
trap 'kill $load 2>/dev/null; sysctl -q kernel.bpf_stats_enabled=0; rm -rf "$tmp"' EXIT

cat >"$tmp/load.c" <<'EOF'
#include <unistd.h>
__attribute__((noinline)) int level_c(int x) { return (int)getppid() + x; }
__attribute__((noinline)) int level_b(int x) { int r = level_c(x + 1); __asm__ volatile("" ::: "memory"); return r + 1; }
__attribute__((noinline)) int level_a(int x) { int r = level_b(x + 1); __asm__ volatile("" ::: "memory"); return r + 2; }
int main(void) { for (int i = 0;; i++) level_a(i); }
EOF
cc -O2 -fomit-frame-pointer -o "$tmp/load" "$tmp/load.c" || exit 1
"$tmp/load" &
load=$!
sysctl -q kernel.bpf_stats_enabled=1

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# one measurement: tool, program -> "ns_per_event frames"
measure() {
	tool=$1; prog=$2
	"$tool" -e "$prog" >"$tmp/out" 2>&1 &
	tp=$!
	sleep "$SECS"
	# the tracer's programs, by the prog_id of its file descriptors
	ids=$(cat /proc/"$tp"/fdinfo/* 2>/dev/null | sed -n 's/^prog_id:[[:space:]]*//p')
	stats=$(for id in $ids; do bpftool prog show id "$id" -j 2>/dev/null; echo; done | python3 -c '
import json, sys
for line in sys.stdin:
    line = line.strip()
    if not line:
        continue
    p = json.loads(line)
    if p.get("type") == "tracepoint" and p.get("run_cnt", 0):
        print("%.0f" % (p["run_time_ns"] / p["run_cnt"]))
        break')
	kill -INT "$tp"; wait "$tp" 2>/dev/null
	frames=$(awk '/^@\[/ { n = 0; next } /^\]:/ { print n; exit } { n++ }' "$tmp/out")
	echo "${stats:--} ${frames:-0}"
}

row() {	# label, tool, program
	label=$1; tool=$2; prog=$3
	ns=""; fr=0
	for r in 1 2 3; do
		m=$(measure "$tool" "$prog")
		ns="$ns ${m% *}"; fr=${m#* }
	done
	printf '%-44s %8s ns/event   %3s frames\n' "$label" \
		"$(echo "$ns" | tr ' ' '\n' | grep -v '^$' | median)" "$fr"
}

filter="tracepoint:syscalls:sys_enter_getppid /pid == $load/"
echo "== kernel cost per event (load: $tmp/load, -O2 -fomit-frame-pointer)"
row "sonde @[ustack] = count() (frame pointers)" "$SONDE" "$filter { @[ustack] = count(); }"
row "sonde @[ustack(dwarf)] = count()" "$SONDE" "$filter { @[ustack(dwarf)] = count(); }"
row "sonde @[comm] = count() (no stack)" "$SONDE" "$filter { @[comm] = count(); }"
if [ -n "$BPFTRACE" ]; then
	row "bpftrace @[ustack] = count()" "$BPFTRACE" "$filter { @[ustack] = count(); }"
fi
echo "   bytes per event: none for map keys (24-byte key; frames stored once per distinct stack);"
echo "   24 bytes in the event for printf(\"%s\", ustack): the walker copies no stack memory"
echo "   except once per new file, before its unwind table exists (16 KiB, page by page)"

echo "== printf with the stack symbolized, every event (${SECS}s)"
for r in 1 2 3; do
	timeout -s INT "$SECS" "$SONDE" -e "$filter { printf(\"%s\\n\", ustack(dwarf)); }" \
		>"$tmp/p.out" 2>&1
	stacks=$(grep -c '^        level_a+' "$tmp/p.out")
	lost=$(sed -n 's/^Lost \([0-9]*\) events.*/\1/p' "$tmp/p.out" | awk '{ s += $1 } END { print s + 0 }')
	echo "$((stacks / SECS)) $lost"
done | sort -n | awk '{ v[NR] = $0 } END { split(v[2], m, " ");
	printf "   %s stacks/s unwound and symbolized by user space (median of 3), %s events lost\n", m[1], m[2] }'
