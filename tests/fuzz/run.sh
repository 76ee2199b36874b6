#!/bin/sh
# tests/fuzz/run.sh [SECONDS]: build the libFuzzer harness (build.sh) and, as TAP,
#   - replay every input of tests/fuzz/regressions/ (one `ok` each: no crash, no leak),
#   - fuzz for SECONDS (default 60) from the seed corpus tests/fuzz/corpus/ (one `ok`: no crash;
#     leak detection is off here so that one known leak does not end the run at its first input
#     -- leaks are asserted by the replays, which run with LeakSanitizer on).
# Skips with the reason when clang-16 or libFuzzer is missing.  The build goes to
# $FUZZ_BUILD_DIR (default $top_builddir/tests/fuzz/build, else /tmp/sonde-fuzz-$USER).
# A crash leaves its input in the build dir's artifacts/ and prints the sanitizer report.
secs=${1:-60}
here=$(cd "$(dirname "$0")" && pwd)
if [ -n "${FUZZ_BUILD_DIR:-}" ]; then
	build=$FUZZ_BUILD_DIR
elif [ -n "${top_builddir:-}" ]; then
	build=$top_builddir/tests/fuzz/build
else
	build=/tmp/sonde-fuzz-$(id -u)
fi
regs=$(ls "$here"/regressions/ 2>/dev/null | wc -l)
echo "1..$((regs + 1))"

mkdir -p "$build"
"$here/build.sh" "$build" >"$build/build.log" 2>&1
rc=$?
if [ $rc -ne 0 ]; then
	if [ $rc -eq 77 ]; then
		reason=$(tail -1 "$build/build.log")
	else
		reason="harness failed to build (see $build/build.log)"
		sed 's/^/# /' "$build/build.log" | tail -20
	fi
	# a missing tool skips; a harness that does not build fails
	if [ $rc -eq 77 ]; then verdict="ok"; directive=" # SKIP $reason"; else verdict="not ok"; directive=" ($reason)"; fi
	n=0
	for f in "$here"/regressions/*; do
		[ -e "$f" ] || continue
		n=$((n + 1))
		echo "$verdict $n - replay $(basename "$f")$directive"
	done
	echo "$verdict $((n + 1)) - no crash in $secs s of fuzzing$directive"
	exit 0
fi

fuzzer=$build/fuzz_compile
n=0
for f in "$here"/regressions/*; do
	[ -e "$f" ] || continue
	n=$((n + 1))
	if out=$(timeout 15 "$fuzzer" -timeout=10 -runs=1 "$f" 2>&1); then
		echo "ok $n - replay $(basename "$f")"
	else
		echo "not ok $n - replay $(basename "$f")"
		echo "$out" | grep -E 'ERROR:|SUMMARY|^    #[0-9]+ .* in ' | grep -v 'fuzzer::\|libc_start\|_start ' |
			head -25 | sed 's/^/# /'
	fi
done

# fuzz in a scratch corpus so the seeds in the tree stay as written
work=$build/corpus
art=$build/artifacts
rm -rf "$work" "$art"
mkdir -p "$work" "$art"
log=$build/fuzz.log
ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
"$fuzzer" -max_total_time="$secs" -detect_leaks=0 -timeout=20 -rss_limit_mb=4096 -close_fd_mask=3 \
	-dict="$here/sonde.dict" -artifact_prefix="$art/" "$work" "$here/corpus" >"$log" 2>&1
rc=$?
n=$((n + 1))
if [ $rc -eq 0 ]; then
	echo "ok $n - no crash in $secs s of fuzzing ($(grep -c '' "$log") log lines, $(ls "$work" | wc -l) new inputs)"
else
	echo "not ok $n - no crash in $secs s of fuzzing (exit $rc)"
	grep -E 'ERROR:|SUMMARY|^    #[0-9]+ .* in ' "$log" | grep -v 'fuzzer::\|libc_start\|_start ' |
		head -25 | sed 's/^/# /'
	for f in "$art"/*; do
		[ -e "$f" ] && echo "# input: $f (base64 $(base64 -w0 "$f" | head -c 200))"
	done
fi
exit 0
