#!/bin/bash
# bench/bt17.sh — bpftrace 0.17's own runtime test suite, run against
# bpftrace 0.17 and against sonde in one run, on this machine.
#
#   bench/bt17.sh [--filter 'GLOB'] [--only sonde|bpftrace]
#
# The suite is not part of this tree: it is fetched once from Debian's
# package archive (the source package of the bpftrace that scripts/setup
# installs), its test programs are built as bpftrace's CMakeLists builds
# them (-g -O0 -no-pie), and bpftrace's own runner (tests/runtime/engine)
# runs each case through a directory whose `bpftrace` is the tool under
# test.  The score is the share of the cases bpftrace passes that sonde
# passes too.  Results go to $BT17_DIR/{bpftrace,sonde}.log and a summary to
# stdout.  Root only; about 20 minutes for both tools on 2 cores.
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
SONDE=${SONDE:-$here/sonde}
BT17_DIR=${BT17_DIR:-/var/tmp/sonde-bt17}
version=0.17.0
tarball=bpftrace_${version}.orig.tar.gz
url=http://deb.debian.org/debian/pool/main/b/bpftrace/$tarball
filter='*'
only=

while [ $# -gt 0 ]; do
	case $1 in
	--filter) filter=$2; shift 2 ;;
	--only) only=$2; shift 2 ;;
	*) echo "usage: $0 [--filter GLOB] [--only sonde|bpftrace]" >&2; exit 1 ;;
	esac
done

[ "$(id -u)" = 0 ] || { echo "$0: must run as root" >&2; exit 1; }
[ -x "$SONDE" ] || { echo "$0: $SONDE is not built (scripts/build)" >&2; exit 1; }
command -v bpftrace >/dev/null || { echo "$0: bpftrace is not installed (scripts/setup)" >&2; exit 1; }

mkdir -p "$BT17_DIR" || exit 1
cd "$BT17_DIR" || exit 1
if [ ! -d bpftrace-$version ]; then
	if [ ! -f $tarball ]; then
		curl -sSf -o $tarball.part "$url" && mv $tarball.part $tarball ||
			{ echo "$0: cannot fetch $url" >&2; exit 1; }
	fi
	tar xzf $tarball || exit 1
fi

src=$BT17_DIR/bpftrace-$version/tests
build=$BT17_DIR/build
if [ ! -f "$build/.built" ]; then
	rm -rf "$build"
	mkdir -p "$build/testprogs" "$build/testlibs" "$build/runtime/engine" || exit 1
	sdt=
	[ -f /usr/include/sys/sdt.h ] && sdt=-DHAVE_SYSTEMTAP_SYS_SDT_H
	for c in "$src"/testlibs/*.c; do
		n=$(basename "$c" .c)
		gcc -g -O0 -fPIC -shared $sdt -o "$build/testlibs/lib$n.so" "$c" ||
			{ echo "$0: cannot build testlib $n" >&2; exit 1; }
		chmod -x "$build/testlibs/lib$n.so"
	done
	for c in "$src"/testprogs/*.c; do
		n=$(basename "$c" .c)
		extra=
		[ "$n" = usdt_lib ] && extra="-fPIC -I$src/testlibs -L$build/testlibs -lusdt_tp -Wl,-rpath,$build/testlibs"
		gcc -g -O0 -no-pie $sdt -o "$build/testprogs/$n" "$c" $extra ||
			{ echo "$0: cannot build testprog $n" >&2; exit 1; }
	done
	for f in "$src"/runtime/*; do
		[ -f "$f" ] && cp "$f" "$build/runtime/"
	done
	cp -r "$src/runtime/scripts" "$src/runtime/outputs" "$build/runtime/"
	cp "$src"/runtime/engine/*.py "$build/runtime/engine/"
	sed -i 's/@LIBBCC_BPF_CONTAINS_RUNTIME@/0/' "$build/runtime/engine/cmake_vars.py"
	touch "$build/.built"
fi

# One directory per tool, each holding a `bpftrace` that is that tool.
mkdir -p "$BT17_DIR/bin-bpftrace" "$BT17_DIR/bin-sonde"
ln -sf "$(command -v bpftrace)" "$BT17_DIR/bin-bpftrace/bpftrace"
ln -sf "$SONDE" "$BT17_DIR/bin-sonde/bpftrace"

run() {
	local tool=$1
	(cd "$build" && BPFTRACE_RUNTIME_TEST_EXECUTABLE=$BT17_DIR/bin-$tool \
		timeout 3600 python3 -W ignore runtime/engine/main.py --filter "$filter") \
		> "$BT17_DIR/$tool.log" 2>&1
	grep -E '^\[       OK \] ' "$BT17_DIR/$tool.log" | sed 's/^\[       OK \] //' | sort -u > "$BT17_DIR/$tool.pass"
}

for tool in bpftrace sonde; do
	[ -z "$only" ] || [ "$only" = "$tool" ] || continue
	echo "running bpftrace 0.17's runtime suite against $tool ..." >&2
	run $tool
done

if [ -f "$BT17_DIR/bpftrace.pass" ] && [ -f "$BT17_DIR/sonde.pass" ]; then
	base=$(wc -l < "$BT17_DIR/bpftrace.pass")
	both=$(comm -12 "$BT17_DIR/bpftrace.pass" "$BT17_DIR/sonde.pass" | wc -l)
	comm -23 "$BT17_DIR/bpftrace.pass" "$BT17_DIR/sonde.pass" > "$BT17_DIR/sonde.missing"
	comm -13 "$BT17_DIR/bpftrace.pass" "$BT17_DIR/sonde.pass" > "$BT17_DIR/sonde.extra"
	echo "bpftrace 0.17 passes $base cases"
	echo "sonde passes $both of them ($(awk -v a="$both" -v b="$base" 'BEGIN { if (b) printf "%.1f", 100 * a / b }')%)," \
		"and $(wc -l < "$BT17_DIR/sonde.extra") that bpftrace fails"
	echo "cases sonde misses: $BT17_DIR/sonde.missing; logs: $BT17_DIR/{bpftrace,sonde}.log"
fi
