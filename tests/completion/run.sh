#!/bin/bash
# tests/completion/run.sh: the bash completion (completion/sonde) sourced in bash and called as
# bash calls it, for options, option values, probe types, tracepoint categories and names and
# the functions of a binary after uprobe:BIN:; then make install / make uninstall put it in
# and take it out of $(datadir)/bash-completion/completions.  TAP.
srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
SONDE=${SONDE:-$srcdir/sonde}
n=0
failed=0

tap() {	# cond-status name [diag]
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
		failed=$((failed + 1))
		[ -n "$3" ] && printf '%s\n' "$3" | sed 's/^/# /'
	fi
}

# Complete LINE (cursor at its end) the way bash would: words split at blanks and at ':'
# (COMP_WORDBREAKS), then print COMPREPLY one per line.
complete_line() {
	bash -c '
		PATH=$(dirname "$2"):$PATH
		source "$1/completion/sonde"
		line=$3
		COMP_LINE=$line
		COMP_POINT=${#line}
		COMP_WORDS=()
		for w in $line; do
			while [[ $w == *:* ]]; do
				[[ -n ${w%%:*} ]] && COMP_WORDS+=("${w%%:*}")
				COMP_WORDS+=(":")
				w=${w#*:}
			done
			[[ -n $w ]] && COMP_WORDS+=("$w")
		done
		[[ $line == *" " || $line == *: ]] && COMP_WORDS+=("")
		COMP_WORDS[0]=$2
		COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
		_sonde
		printf "%s\n" "${COMPREPLY[@]}"
	' sh "$srcdir" "$SONDE" "$1"
}

has() {	# name line expected-candidate...
	name=$1 line=$2
	shift 2
	out=$(complete_line "$line" | sort)
	missing=0
	for want in "$@"; do
		printf '%s\n' "$out" | grep -qxF -- "$want" || missing=1
	done
	tap $missing "$name" "line: $line
got: $(printf '%s' "$out" | head -20 | tr '\n' ' ')
want: $*"
}

lacks() {	# name line unexpected-candidate
	out=$(complete_line "$2")
	printf '%s\n' "$out" | grep -qxF -- "$3"
	tap $((! $?)) "$1" "got: $(printf '%s' "$out" | head -20 | tr '\n' ' ')"
}

has completes_long_options "sonde --dr" --dry-run
has completes_options_by_prefix "sonde --fl" --flamegraph
has completes_format_values "sonde -f " json text
has completes_dump_stages "sonde -d " ast ir asm all
has completes_probe_types "sonde -l tr" tracepoint:
has completes_probe_types_uprobe "sonde -l u" uprobe: uretprobe: usdt:
lacks options_do_not_complete_as_probes "sonde --dr" tracepoint:

if [ -d /sys/kernel/tracing/events/syscalls ] || [ -d /sys/kernel/debug/tracing/events/syscalls ]; then
	# bash completes the part after the last ':' of the word
	has completes_tracepoint_categories "sonde -l tracepoint:sysc" syscalls:
	has completes_tracepoint_names "sonde -l tracepoint:syscalls:sys_enter_opena" sys_enter_openat sys_enter_openat2
	has completes_tracepoint_alias "sonde -l t:sched:sched_process_ex" sched_process_exit
else
	for t in completes_tracepoint_categories completes_tracepoint_names completes_tracepoint_alias; do
		n=$((n + 1)); echo "ok $n - $t # SKIP tracefs is not mounted"
	done
fi

tmp=$(mktemp -d /tmp/sonde-compl.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
cc -g -O0 -o "$tmp/target" "$srcdir/tests/runtime/fixtures/uprobe_target.c"
tap $? fixture_builds
if [ "$(id -u)" = 0 ] || "$SONDE" -l "uprobe:$tmp/target:*" >/dev/null 2>&1; then
	has completes_functions_of_a_binary "sonde -l uprobe:$tmp/target:fixture_" fixture_add fixture_inner fixture_outer fixture_str
	has completes_functions_for_uretprobe "sonde -e uretprobe:$tmp/target:fixture_o" fixture_outer
	lacks function_prefix_filters "sonde -l uprobe:$tmp/target:fixture_i" fixture_add
else
	for t in completes_functions_of_a_binary completes_functions_for_uretprobe function_prefix_filters; do
		n=$((n + 1)); echo "ok $n - $t # SKIP sonde -l cannot read the binary"
	done
fi
has completes_binary_path_after_uprobe "sonde -l uprobe:$tmp/tar" "$tmp/target"

if [ -n "$top_builddir" ] && [ -f "$top_builddir/Makefile" ]; then
	dest=$tmp/dest
	make -s -C "$top_builddir" install DESTDIR="$dest" >"$tmp/log" 2>&1
	f=$(find "$dest" -path '*/bash-completion/completions/sonde' -type f)
	[ -n "$f" ] && cmp -s "$f" "$srcdir/completion/sonde"
	tap $? make_install_puts_the_completion_in_bash_completion_dir "$(cat "$tmp/log") $f"
	make -s -C "$top_builddir" uninstall DESTDIR="$dest" >"$tmp/log" 2>&1
	[ -z "$(find "$dest" -name sonde -type f)" ]
	tap $? make_uninstall_removes_it "$(cat "$tmp/log")"
else
	for t in make_install_puts_the_completion_in_bash_completion_dir make_uninstall_removes_it; do
		n=$((n + 1)); echo "ok $n - $t # SKIP not run from make check"
	done
fi
echo "1..$n"
[ "$failed" -eq 0 ]
