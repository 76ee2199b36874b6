#!/bin/sh
# tests/layouts/run.sh - uprobes and USDT probes really fire, with the right arguments, return
# values and symbolized stacks, on every ELF layout sonde must handle: gcc PIE and non-PIE, clang
# linked with lld (.text's address differs from its file offset: where older tools put probes in
# the wrong place), a shared library, a stripped binary with a .gnu_debuglink debug file, C++
# names, and USDT probes with and without a semaphore (gcc and lld builds).  TAP.
set -u
: "${SONDE:=$(dirname "$0")/../../sonde}"
: "${top_srcdir:=$(dirname "$0")/../..}"
n=0
fail=0
work=$(mktemp -d)
pids=""
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); fail=1; echo "not ok $n - $1"; shift; for l in "$@"; do echo "# $l"; done; }
skip_all() {
	for t in $TESTS_PLANNED; do n=$((n + 1)); echo "ok $n - $t # SKIP $1"; done
	echo "1..$n"
	exit 0
}
check() {	# name, file, fixed-string pattern [min count]
	c=$(grep -cF -- "$3" "$2")
	if [ "$c" -ge "${4:-1}" ]; then ok "$1"; else not_ok "$1" "expected '$3' (x${4:-1}) in:" "$(head -20 "$2")"; fi
}

TESTS_PLANNED="lld_text_vaddr_differs_from_file_offset gcc_pie gcc_nopie lld stripped_debuglink cpp usdt_gcc usdt_lld"
[ "$(id -u)" = 0 ] || skip_all "not root"
command -v clang-16 >/dev/null && command -v ld.lld-16 >/dev/null || skip_all "clang-16/lld-16 missing"
# a fixture that does not build is a failure (every case), not a reason to skip
if ! sh "$top_srcdir/tests/fixtures/build.sh" "$work" lib c stripped cpp usdt >"$work/build.log" 2>&1; then
	sed 's/^/# /' "$work/build.log" | tail -20
	for t in $TESTS_PLANNED; do not_ok "$t" "fixtures did not build: $(tail -1 "$work/build.log")"; done
	echo "1..$n"
	exit 1
fi

# The layout that broke older tools: .text's address is not its file offset.
text=$(readelf -SW "$work/target_lld" | awk '$2 == ".text" { print $4, $5 }')
vaddr=$((0x${text% *})); off=$((0x${text#* }))
if [ "$vaddr" != "$off" ]; then
	ok "lld_text_vaddr_differs_from_file_offset (0x$(printf %x $vaddr) vs 0x$(printf %x $off))"
else
	not_ok "lld_text_vaddr_differs_from_file_offset" "both are $vaddr: the fixture no longer tests the layout"
fi

# One running process per layout; sonde attaches to it by path and -p.
trace_layout() {	# name, binary
	name=$1; bin=$2
	"$bin" run >"$work/$name.target" 2>&1 &
	tpid=$!
	pids="$pids $tpid"
	sleep 0.2
	timeout 20 "$SONDE" -p "$tpid" -e "
uprobe:$bin:fixture_work { @calls++; printf(\"arg0=%d\\n\", arg0); if (@calls == 3) { exit(); } }
uretprobe:$bin:fixture_work { printf(\"ret=%d\\n\", retval); }
uprobe:$work/libfix.so:libfix_add { printf(\"lib %d %d%s\\n\", arg0, arg1, ustack(3)); }
" >"$work/$name.out" 2>&1
	rc=$?
	kill "$tpid" 2>/dev/null
	if [ "$rc" -ne 0 ]; then
		not_ok "$name: sonde exits 0 (exit $rc)" "$(head -20 "$work/$name.out")"
		return
	fi
	check "$name: uprobe fires with arg0=2" "$work/$name.out" "arg0=2" 3
	check "$name: uretprobe returns 3" "$work/$name.out" "ret=3" 2
	check "$name: shared library probe with its arguments" "$work/$name.out" "lib 2 1" 2
	check "$name: library frame symbolized" "$work/$name.out" "libfix_add+0"
	check "$name: the direct caller at a function entry is symbolized (fixture_work, from the return address on top of the stack)" "$work/$name.out" "        fixture_work+"
}
trace_layout gcc_pie "$work/target_gcc_pie"
trace_layout gcc_nopie "$work/target_gcc_nopie"
trace_layout lld "$work/target_lld"
trace_layout stripped_debuglink "$work/target_link"

# C++: demangled names, one overload by its quoted signature, templates by wildcard.
timeout 20 "$SONDE" -c "$work/cpp a b" -e "
uprobe:$work/cpp:cpp:\"Ns::twice*\" { @t[func] = count(); }
uprobe:$work/cpp:\"Ns::Cls::f(int)\" { printf(\"f(int) %d\\n\", arg1); }
uprobe:$work/cpp:\"Ns::Cls::g(long)\" { printf(\"g %d\\n\", arg0); }
" >"$work/cpp.out" 2>&1
check "cpp: an overload by its quoted signature, with its argument" "$work/cpp.out" "f(int) 3"
check "cpp: a static member function" "$work/cpp.out" "g 3"
check "cpp: template instances by demangled wildcard (int)" "$work/cpp.out" "@t[int Ns::twice<int>(int)]: 1"
check "cpp: template instances by demangled wildcard (long)" "$work/cpp.out" "@t[long Ns::twice<long>(long)]: 1"

# USDT: arguments decoded from the note; the semaphore-guarded probe fires only when attached.
for u in usdt_gcc usdt_lld; do
	timeout 20 "$SONDE" -c "$work/$u a b" -e "
usdt:$work/$u:fixprov:plain { printf(\"plain %d %ld\\n\", arg0, arg1); }
usdt:$work/$u:fixprov:withsema { printf(\"sema %d\\n\", arg0); }
" >"$work/$u.out" 2>&1
	check "$u: plain probe arguments (int and long)" "$work/$u.out" "plain 9 25769803776"
	# lld packs every segment into one file page: the kernel raises the semaphore in the RELRO
	# mapping of that page, not the one the program reads, so only the gcc build can show it.
	[ "$u" = usdt_gcc ] &&
		check "$u: semaphore-guarded probe fires once attached" "$work/$u.out" "sema 3"
done

echo "1..$n"
exit 0
