#!/bin/sh
# tests/debuginfod/run.sh: a stripped fixture symbolized through Debian's debuginfod server on
# 127.0.0.1 serving its debug file (DEBUGINFOD_URLS set), and nothing fetched without the
# variable.  TAP.  The stack case needs root (BPF).
SONDE=${SONDE:-$(cd "$(dirname "$0")/../.." && pwd)/sonde}
srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
n=0
failed=0
tap() {
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else
		echo "not ok $n - $2"; failed=$((failed + 1))
		[ -n "$3" ] && printf '%s\n' "$3" | sed 's/^/# /'
	fi
}
skip_all() { echo "1..0 # SKIP $1"; exit 0; }

command -v debuginfod >/dev/null || skip_all "the debuginfod server is not installed (scripts/setup installs it)"
command -v curl >/dev/null || skip_all "curl is not installed"

tmp=$(mktemp -d /tmp/sonde-dbgd.XXXXXX)
srv_pid=
cleanup() { [ -n "$srv_pid" ] && kill "$srv_pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
mkdir "$tmp/srv"
cc -g -O0 -fno-omit-frame-pointer -fno-inline -o "$tmp/target" \
	"$srcdir/tests/runtime/fixtures/uprobe_target.c" &&
	objcopy --only-keep-debug "$tmp/target" "$tmp/srv/target.debug" &&
	strip --strip-all "$tmp/target"
tap $? stripped_fixture_and_its_debug_file_build
bid=$(readelf -n "$tmp/target" | awk '/Build ID/ { print $3 }')
! readelf -S "$tmp/target" | grep -q -e '\.symtab' -e '\.gnu_debuglink' && [ -n "$bid" ]
tap $? fixture_has_a_build_id_and_no_symtab_nor_debuglink

# a free port, then the server indexing the debug file's directory
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
debuginfod -F -p "$port" -d "$tmp/db.sqlite" "$tmp/srv" >"$tmp/server.log" 2>&1 &
srv_pid=$!
code=
for i in $(seq 1 60); do
	code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/buildid/$bid/debuginfo")
	[ "$code" = 200 ] && break
	sleep 0.5
done
[ "$code" = 200 ]
tap $? server_serves_the_debug_file_by_build_id "$(tail -5 "$tmp/server.log")"

out=$(env -u DEBUGINFOD_URLS DEBUGINFOD_CACHE_PATH="$tmp/cache0" "$SONDE" -l "uprobe:$tmp/target:fixture_*" 2>&1)
[ -z "$out" ] && [ ! -e "$tmp/cache0" ]
tap $? without_debuginfod_urls_nothing_is_fetched "$out"

export DEBUGINFOD_URLS="http://127.0.0.1:$port" DEBUGINFOD_CACHE_PATH="$tmp/cache"
out=$("$SONDE" -l "uprobe:$tmp/target:fixture_*" 2>&1)
[ "$out" = "uprobe:$tmp/target:fixture_add
uprobe:$tmp/target:fixture_inner
uprobe:$tmp/target:fixture_outer
uprobe:$tmp/target:fixture_str" ]
tap $? list_shows_functions_from_the_debuginfod_file "$out"
[ -n "$(find "$tmp/cache" -name debuginfo -type f 2>/dev/null)" ]
tap $? the_fetched_file_is_in_the_library_cache

if [ "$(id -u)" = 0 ]; then
	out=$(timeout 30 "$SONDE" -e "uprobe:$tmp/target:fixture_add { @[ustack] = count(); }" \
		-c "$tmp/target 3" 2>&1)
	printf '%s\n' "$out" | grep -q '^    fixture_inner+[0-9]*$' &&
		printf '%s\n' "$out" | grep -q '^    fixture_outer+[0-9]*$' &&
		printf '%s\n' "$out" | grep -q '^    main+[0-9]*$'
	tap $? stripped_fixture_stacks_are_symbolized_through_debuginfod "$out"
else
	n=$((n + 1)); echo "ok $n - stripped_fixture_stacks_are_symbolized_through_debuginfod # SKIP needs root"
fi
echo "1..$n"
[ "$failed" -eq 0 ]
