#!/bin/sh
# tests/fuzz/build.sh OUTDIR: build the libFuzzer harness (tests/fuzz/fuzz_compile.c) with every
# compiler and runtime source of the tree except src/main.c, and the grammar generated here with
# flex and bison, using clang-16 -fsanitize=fuzzer,address,undefined.  Produces OUTDIR/fuzz_compile.
# Exit 77 when a tool is missing (clang-16, libFuzzer, flex, bison, llvm-config-16).
set -eu

out=${1:?usage: build.sh OUTDIR}
src=$(cd "$(dirname "$0")/../.." && pwd)
CC=${FUZZ_CC:-clang-16}
LLVM_CONFIG=${LLVM_CONFIG:-llvm-config-16}

for tool in "$CC" flex bison "$LLVM_CONFIG" pkg-config; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "build.sh: $tool not found" >&2
		exit 77
	fi
done
mkdir -p "$out/grammar" "$out/obj"
out=$(cd "$out" && pwd)
if ! echo 'int LLVMFuzzerTestOneInput(const char *d, long n) { return 0; }' |
	"$CC" -x c -fsanitize=fuzzer -o "$out/probe-libfuzzer" - >/dev/null 2>&1; then
	echo "build.sh: $CC cannot link -fsanitize=fuzzer (libFuzzer missing)" >&2
	exit 77
fi
rm -f "$out/probe-libfuzzer"

# config.h: the configured one when building from a build tree, else the few macros sonde uses
if [ -n "${top_builddir:-}" ] && [ -f "$top_builddir/config.h" ]; then
	cp "$top_builddir/config.h" "$out/config.h"
else
	version=$(sed -n 's/^AC_INIT(\[sonde\], \[\([^]]*\)\].*/\1/p' "$src/configure.ac")
	cat >"$out/config.h" <<CONF
#define PACKAGE "sonde"
#define PACKAGE_NAME "sonde"
#define PACKAGE_VERSION "${version:-0}"
#define PACKAGE_STRING "sonde ${version:-0}"
#define VERSION "${version:-0}"
#define HAVE_LIBDW 1
CONF
fi

# the grammar, as automake generates it (bison -y -d, flex -o)
bison -y -d -Wno-yacc -o "$out/grammar/parser.c" "$src/grammar/parser.y"
flex -o "$out/grammar/lexer.c" "$src/grammar/lexer.l"

cflags="-std=gnu11 -g -O1 -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer
	-fno-sanitize-recover=undefined -w -include $out/config.h -I$out -I$src -I$src/common -I$src/src -I$out/grammar
	-I$src/grammar -D_GNU_SOURCE -DSONDE_DATADIR=\"/usr/share/sonde\"
	$(pkg-config --cflags libbpf libelf libdw) -I$($LLVM_CONFIG --includedir)"

# syscall_name()'s table, generated from the UAPI header as src/compiler.am does (found through -I$out)
mkdir -p "$out/src/builtins"
echo '#include <asm/unistd.h>' | "$CC" -E -dM -x c - |
	sed -n 's/^#define __NR_\([a-z0-9_]*\) \([0-9][0-9]*\)$/{ \2, "\1" },/p' | sort -n -k2 >"$out/src/builtins/syscalls.inc"

# the stack walker's bitcode, embedded as the build does (runtime/unwind.am)
mkdir -p "$out/bpf"
"$CC" -target bpf -O2 -g -w -I/usr/include/$(gcc -print-multiarch) $(pkg-config --cflags libbpf) \
	-I"$src/bpf" -emit-llvm -c "$src/bpf/ustack.bpf.c" -o "$out/bpf/ustack.bc"
(cd "$out" && "$CC" -c "$src/src/codegen/ustack_bc.S" -o "$out/obj/ustack_bc.o")

sources=$(cd "$src" && ls common/*.c src/*.c src/*/*.c runtime/*.c | grep -v '^src/main\.c$')
objs=
pids=
jobs=${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 2)}
n=0
for f in $sources "$out/grammar/parser.c" "$out/grammar/lexer.c" "$src/tests/fuzz/fuzz_compile.c"; do
	case $f in /*) path=$f ;; *) path=$src/$f ;; esac
	o=$out/obj/$(echo "$f" | sed 's|^/.*/||; s|/|_|g; s|\.c$|.o|')
	objs="$objs $o"
	if [ ! -f "$o" ] || [ "$path" -nt "$o" ] || [ "$out/config.h" -nt "$o" ] ||
	   [ -n "$(find "$src/common" "$src/src" "$src/runtime" "$out/grammar" -name '*.h' -newer "$o" 2>/dev/null | head -1)" ]; then
		# shellcheck disable=SC2086
		"$CC" $cflags -c "$path" -o "$o" &
		pids="$pids $!"
		n=$((n + 1))
		if [ "$n" -ge "$jobs" ]; then
			for p in $pids; do wait "$p"; done
			pids=
			n=0
		fi
	fi
done
for p in $pids; do wait "$p"; done

# shellcheck disable=SC2086
"$CC" -fsanitize=fuzzer,address,undefined -o "$out/fuzz_compile" $objs "$out/obj/ustack_bc.o" \
	$(pkg-config --libs libbpf libelf libdw) $($LLVM_CONFIG --ldflags) $($LLVM_CONFIG --libs) \
	$(grep -q 'define HAVE_LIBDEBUGINFOD 1' "$out/config.h" && pkg-config --libs libdebuginfod) \
	-lz -lstdc++ -lm
echo "built $out/fuzz_compile"
