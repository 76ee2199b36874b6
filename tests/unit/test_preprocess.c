/* test_preprocess.c - the script preprocessor: headers, macros, blanking, errors. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cdecl.h"
#include "diag.h"
#include "preprocess.h"
#include "tap.h"
#include "types.h"
#include "util.h"

static char tmpdir[] = "/tmp/sonde-pp-XXXXXX";

/* stderr into a file, to check diagnostics byte for byte */
static int saved_stderr = -1;
static char errpath[256];

static void capture_start(void)
{
	int fd;

	fflush(stderr);
	snprintf(errpath, sizeof(errpath), "%s/stderr", tmpdir);
	fd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	saved_stderr = dup(2);
	dup2(fd, 2);
	close(fd);
}

static char *capture_end(void)
{
	struct strbuf sb;
	char buf[4096];
	size_t n;
	FILE *f;

	fflush(stderr);
	dup2(saved_stderr, 2);
	close(saved_stderr);
	sb_init(&sb);
	f = fopen(errpath, "r");
	while (f && (n = fread(buf, 1, sizeof(buf), f)) > 0)
		sb_putn(&sb, buf, n);
	if (f)
		fclose(f);
	return sb_steal(&sb);
}

/* Preprocess src as "stdin" with a fresh state; returns the blanked text or NULL. */
static char *pp(const char *src, const struct pp_options *opts)
{
	char *out = NULL;

	pp_cleanup();
	diag_reset();
	diag_set_source("stdin", src);
	if (preprocess(src, opts, &out))
		return NULL;
	return out;
}

/* The error text preprocess prints for src (and that it fails). */
static char *pp_error(const char *src)
{
	char *out = NULL, *err;
	int rc;

	pp_cleanup();
	diag_reset();
	diag_set_source("stdin", src);
	capture_start();
	rc = preprocess(src, NULL, &out);
	err = capture_end();
	if (rc == 0) {
		free(out);
		free(err);
		return xstrdup("(no error)");
	}
	return err;
}

static int64_t intval(const char *name)
{
	const struct pp_macro *m;

	if (pp_lookup(name, &m) || m->kind != PP_INT)
		return -999999;
	return m->value;
}

static void write_file(const char *name, const char *text)
{
	char *path = xasprintf("%s/%s", tmpdir, name);
	FILE *f = fopen(path, "w");

	fputs(text, f);
	fclose(f);
	free(path);
}

static int count_lines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static const char envoy[] =
	"#!/usr/local/bin/bpftrace\n"
	"\n"
	"#include <linux/in.h>\n"
	"#include <linux/in6.h>\n"
	"\n"
	"BEGIN\n"
	"{\n"
	"       @fam2str[AF_UNSPEC] = \"AF_UNSPEC\";\n"
	"       @fam2str[AF_INET6] = \"AF_INET6\";\n"
	"}\n";

static void test_envoy_headers(void)
{
	char *out;

	if (access("/usr/include/linux/in.h", R_OK)) {
		skip("linux-libc-dev is not installed", "envoy_headers_are_read_when_present");
		return;
	}
	out = pp(envoy, NULL);
	ok(out != NULL, "envoy_script_with_system_headers_preprocesses");
	is_int(intval("AF_INET"), 2, "af_inet_is_2_with_linux_in_h");
	is_int(intval("AF_INET6"), 10, "af_inet6_is_10_with_linux_in_h");
	is_int(intval("AF_UNIX"), 1, "af_unix_is_1_with_linux_in_h");
	is_int(intval("AF_UNSPEC"), 0, "af_unspec_is_0_with_linux_in_h");
	/* Only the header defines these: proof that it was read, conditionals and all. */
	is_int(intval("IPPROTO_MAX"), 263, "header_enum_constant_with_implicit_value_is_collected");
	is_int(intval("IN_CLASSA_HOST"), 0xffffff, "header_macro_over_another_macro_evaluates");
	is_int(intval("IPV6_FL_S_ANY"), 255, "linux_in6_h_macros_are_collected");
	is_int(intval("IPPROTO_TCP"), 6, "self_referencing_macro_falls_through_to_enum");
	is_int(intval("INADDR_LOOPBACK"), 0x7f000001, "inaddr_loopback_from_header");
	is_int(count_lines(out), count_lines(envoy), "envoy_output_keeps_line_count");
	ok(out && strstr(out, "\nBEGIN\n{\n       @fam2str[AF_UNSPEC]") != NULL,
	   "envoy_probe_text_is_untouched");
	{
		/* the first four lines, blanked character for character */
		char *want = xstrndup(envoy, (size_t)(strstr(envoy, "\n\nBEGIN") - envoy));
		char *p;

		for (p = want; *p; p++)
			if (*p != '\n')
				*p = ' ';
		ok(out && strncmp(out, want, strlen(want)) == 0 && out[strlen(want)] == '\n',
		   "envoy_shebang_and_includes_become_spaces");
		free(want);
	}
	free(out);
}

static void test_missing_headers(void)
{
	/* a kernel header may be missing (no kernel headers on the machine: BTF stands in) */
	const char *src = "#include <net/no-such-headerab.h>\n#include <linux/nope.h>\nBEGIN { }\n";
	const char *dirs[] = { tmpdir };
	struct pp_options opts = { .include_dirs = dirs, .ninclude_dirs = 1 };
	char *out, *err;

	pp_cleanup();
	diag_reset();
	diag_set_source("stdin", src);
	capture_start();
	out = NULL;
	ok(preprocess(src, &opts, &out) == 0, "missing_header_is_not_an_error");
	err = capture_end();
	is_str(err, "", "missing_header_prints_nothing_without_verbose");
	is_int(intval("AF_INET"), 2, "af_inet_is_2_without_headers");
	is_int(intval("AF_INET6"), 10, "af_inet6_is_10_without_headers");
	is_int(intval("AF_UNIX"), 1, "af_unix_is_1_without_headers");
	is_int(intval("AF_UNSPEC"), 0, "af_unspec_is_0_without_headers");
	is_str(out, "                                 \n                       \nBEGIN { }\n",
	       "missing_include_lines_are_blanked");
	free(out);
	free(err);

	/* the script's own header ("...") may not */
	src = "#include \"nope.h\"\nBEGIN { }\n";
	pp_cleanup();
	diag_reset();
	diag_set_source("stdin", src);
	capture_start();
	out = NULL;
	ok(preprocess(src, &opts, &out) != 0, "missing_local_header_is_an_error");
	err = capture_end();
	is_str(err, "stdin:1:1-9: ERROR: 'nope.h' file not found\n#include \"nope.h\"\n~~~~~~~~\n",
	       "missing_local_header_is_reported_at_its_line");
	free(out);
	free(err);
}

static void test_defines(void)
{
	const struct pp_macro *m;
	char *out;
	const char *src =
		"#define X (1 << 4 | 2)\n"
		"#define NAME \"abc\" \"def\"\n"
		"#define CH 'A'\n"
		"#define NL '\\n'\n"
		"#define ALLONES ~0U\n"
		"#define MINUS1 (-1)\n"
		"#define BYTE ((unsigned char)0x1ff)\n"
		"#define A B + 1\n"
		"#define B 2\n"
		"#define HEXL 0x10UL\n"
		"#define TERN (X > 10 ? 100 : 200)\n"
		"#define FAM AF_INET6\n"
		"#define EMPTY\n"
		"  #  define SPACED 5\n"
		"#define LONG (1 + \\\n"
		"              2)\n"
		"BEGIN { @ = X; }\n";

	out = pp(src, NULL);
	ok(out != NULL, "script_defines_preprocess");
	is_int(intval("X"), 18, "define_with_shift_and_or_expression");
	ok(pp_lookup("NAME", &m) == 0 && m->kind == PP_STR, "string_macro_is_a_string");
	is_str(m && m->kind == PP_STR ? m->str : NULL, "abcdef", "adjacent_string_literals_concatenate");
	is_int(intval("CH"), 65, "char_literal_macro");
	is_int(intval("NL"), 10, "escaped_char_literal_macro");
	is_int(intval("ALLONES"), 4294967295LL, "unsigned_int_complement_is_32_bits");
	is_int(intval("MINUS1"), -1, "negative_macro");
	is_int(intval("BYTE"), 255, "cast_to_unsigned_char_truncates");
	is_int(intval("A"), 3, "macro_uses_a_later_macro");
	is_int(intval("HEXL"), 16, "ul_suffix");
	is_int(intval("TERN"), 100, "ternary_over_macros");
	is_int(intval("FAM"), 10, "macro_over_a_builtin_constant");
	ok(pp_lookup("EMPTY", &m) == -ENOENT, "empty_macro_is_not_a_constant");
	is_int(intval("SPACED"), 5, "directive_with_spaces_around_hash");
	is_int(intval("LONG"), 3, "continued_define_line");
	ok(pp_lookup("NO_SUCH_THING", &m) == -ENOENT, "unknown_name_is_enoent");
	is_int(count_lines(out), count_lines(src), "defines_keep_line_count");
	ok(out && strstr(out, "\n                \nBEGIN { @ = X; }\n") != NULL,
	   "continued_lines_are_blanked_and_probe_keeps_its_column");
	free(out);
}

static void test_shebang_and_locations(void)
{
	const char *src = "#!/usr/bin/env sonde\n#define N 1\nstruct S { int x; }\n  BEGIN { @[N] = 1; } // #define not-a-directive\n";
	char *out = pp(src, NULL);

	is_str(out, "                    \n           \n                   \n  BEGIN { @[N] = 1; } // #define not-a-directive\n",
	       "shebang_defines_and_structs_blank_to_spaces_in_place");
	free(out);
}

static void test_conditionals(void)
{
	const char *src =
		"#define ONE 1\n"
		"#ifdef ONE\n"
		"#define YES 1\n"
		"#else\n"
		"#define NO 1\n"
		"#endif\n"
		"#if ONE > 1\n"
		"BEGIN { hidden }\n"
		"#elif defined(ONE) && !defined(TWO)\n"
		"#define ELIF 1\n"
		"#endif\n"
		"#ifndef ONE\n"
		"#foo this unknown directive is in a skipped region\n"
		"#endif\n"
		"BEGIN { }\n";
	char *out = pp(src, NULL);

	ok(out != NULL, "script_conditionals_preprocess");
	is_int(intval("YES"), 1, "ifdef_true_branch_taken");
	is_int(intval("NO"), -999999, "else_branch_of_true_ifdef_skipped");
	is_int(intval("ELIF"), 1, "elif_with_defined_taken");
	ok(out && !strstr(out, "hidden"), "skipped_region_text_is_blanked");
	ok(out && strstr(out, "\nBEGIN { }\n"), "probe_after_conditionals_kept");
	free(out);
	out = pp("#ifdef BPFTRACE_HAVE_BTF\n#define BTF 1\n#endif\n", NULL);
	is_int(intval("BTF"), access("/sys/kernel/btf/vmlinux", R_OK) == 0 ? 1 : -999999,
	       "bpftrace_have_btf_defined_exactly_when_the_kernel_has_btf");
	free(out);
}

static void test_user_headers(void)
{
	const char *dirs[] = { tmpdir };
	char *inc = xasprintf("%s/forced.h", tmpdir);
	const char *incs[] = { inc };
	struct pp_options opts = { .include_dirs = dirs, .ninclude_dirs = 1,
				   .include_files = incs, .ninclude_files = 1 };
	char *out, *err;
	const char *src = "#include <a.h>\n#define FROM_A 99\nBEGIN { }\n";

	write_file("a.h", "#ifndef A_H\n#define A_H\n#define FROM_A 7\n#include \"sub/b.h\"\n"
			  "#if FROM_B > 1 && __x86_64__\n#define COND_OK 1\n#else\n#define COND_BAD 1\n#endif\n"
			  "#if FN(1)\n#define FN_TRUE 1\n#endif\n#if UNKNOWNF(1)\n#define UF 1\n#endif\n#include <a.h>\n"
			  "typedef enum color { /* comment */ E0, E1 = FROM_B << 2,\n"
			  "#define E1 E1\n  E2, E3 = sizeof(int), E4, E5 = NOT_KNOWN, E6 } color_t;\n"
			  "#weird directive\n#error this header wants something\n"
			  "#define STR_H \"hello\\tworld\"\n#define FUNC(x) ((x) + 1)\n#define USEFUNC FUNC(1)\n"
			  "#define CAT(a, b) a ## b\n#define BIGC CAT(0x10, UL)\n#define STR(x) #x\n"
			  "#define SV STR(hello)\n#define FIRST(a, ...) a\n#define VA FIRST(7, 8, 9)\n"
			  "#define REC FUNC(FUNC(1))\n#define f(x) f(x)\n#define USEF f(1)\n"
			  "#define ARGS FUNC(1, 2)\n#define NOARGS FUNC\n"
			  "#define TYPE unsigned long\n#endif\n");
	{
		char *sub = xasprintf("%s/sub", tmpdir);

		mkdir(sub, 0700);
		free(sub);
	}
	write_file("sub/b.h", "#define FROM_B 2 /* a\n multi-line comment */\n#define FN(x) x\n"
			      "#define CONT \\\n  (FROM_B \\\n * 3)\n");
	write_file("forced.h", "#define FORCED 11\n");
	pp_cleanup();
	diag_reset();
	diag_set_source("stdin", src);
	capture_start();
	out = NULL;
	ok(preprocess(src, &opts, &out) == 0, "user_header_with_odd_directives_preprocesses");
	err = capture_end();
	is_str(err, "", "header_errors_and_unknown_directives_are_ignored");
	is_int(intval("FROM_A"), 99, "script_define_wins_over_header");
	is_int(intval("FROM_B"), 2, "quoted_include_relative_to_including_file");
	is_int(intval("CONT"), 6, "continued_define_in_header");
	is_int(intval("COND_OK"), 1, "header_if_over_macros_and_predefined");
	is_int(intval("COND_BAD"), -999999, "header_else_skipped");
	is_int(intval("FN_TRUE"), 1, "function_like_macro_call_in_if");
	is_int(intval("UF"), -999999, "unknown_function_call_in_if_is_false");
	is_int(intval("E0"), 0, "header_enum_first_is_zero");
	is_int(intval("E1"), 8, "header_enum_value_over_macro");
	is_int(intval("E2"), 9, "header_enum_implicit_value");
	is_int(intval("E3"), 4, "header_enum_value_with_sizeof");
	is_int(intval("E4"), 5, "header_enum_implicit_after_sizeof");
	is_int(intval("E5"), -999999, "header_enum_value_over_unknown_name_is_unknown");
	is_int(intval("E6"), -999999, "header_enum_after_unknown_is_unknown");
	ok(intval("STR_H") == -999999, "string_macro_is_not_an_int");
	{
		const struct pp_macro *m = NULL;

		pp_lookup("STR_H", &m);
		is_str(m && m->kind == PP_STR ? m->str : NULL, "hello\tworld", "header_string_macro");
	}
	is_int(intval("USEFUNC"), 2, "macro_calling_function_like_macro");
	is_int(intval("BIGC"), 16, "token_pasting_in_function_like_macro");
	{
		const struct pp_macro *m = NULL;

		pp_lookup("SV", &m);
		is_str(m && m->kind == PP_STR ? m->str : NULL, "hello", "stringizing_in_function_like_macro");
	}
	is_int(intval("VA"), 7, "variadic_function_like_macro");
	is_int(intval("REC"), 3, "nested_function_like_calls");
	is_int(intval("USEF"), -999999, "self_referencing_function_like_macro_stops");
	is_int(intval("ARGS"), -999999, "too_many_arguments_is_not_constant");
	is_int(intval("NOARGS"), -999999, "function_like_name_alone_is_not_constant");
	is_int(intval("FUNC"), -999999, "function_like_macro_itself_is_not_a_constant");
	is_int(intval("TYPE"), -999999, "type_macro_is_skipped");
	is_int(intval("FORCED"), 11, "include_option_file_is_read");
	free(out);
	free(err);
	free(inc);
}

static void test_errors(void)
{
	static const struct {
		const char *src, *want, *name;
	} cases[] = {
		{ "#define\nBEGIN { }\n",
		  "stdin:1:1-8: ERROR: macro names must be identifiers\n#define\n~~~~~~~\n",
		  "define_without_name_is_located" },
		{ "#define 1X 2\n",
		  "stdin:1:9-11: ERROR: macro names must be identifiers\n#define 1X 2\n        ~~\n",
		  "define_with_bad_name_is_located" },
		{ "#define A-1\n",
		  "stdin:1:10-11: ERROR: missing whitespace after the macro name\n#define A-1\n         ~\n",
		  "define_without_space_after_name" },
		{ "#define F(x) (x + 1)\n",
		  "stdin:1:9-10: ERROR: function-like macros are not supported: 'F'\n#define F(x) (x + 1)\n        ~\n",
		  "function_like_define_in_script" },
		{ "BEGIN { }\n#define V comm\n",
		  "stdin:2:11-15: ERROR: the value of macro 'V' is not an integer, string or character constant\n#define V comm\n          ~~~~\n",
		  "non_constant_define_in_script" },
		{ "  #foo bar\n",
		  "stdin:1:3-7: ERROR: invalid preprocessing directive #foo\n  #foo bar\n  ~~~~\n",
		  "unknown_directive_is_located" },
		{ "#endif\n",
		  "stdin:1:1-7: ERROR: #endif without #if\n#endif\n~~~~~~\n",
		  "endif_without_if" },
		{ "#ifdef X\nBEGIN { }\n",
		  "stdin:1:1-7: ERROR: unterminated conditional directive\n#ifdef X\n~~~~~~\n",
		  "unterminated_ifdef" },
		{ "#include foo\n",
		  "stdin:1:1-9: ERROR: #include expects \"FILENAME\" or <FILENAME>\n#include foo\n~~~~~~~~\n",
		  "include_without_name" },
		{ "#error stop here\n",
		  "stdin:1:1-7: ERROR: #error stop here\n#error stop here\n~~~~~~\n",
		  "error_directive_in_script" },
		{ "struct Foo { int x;\n",
		  "stdin:1:1-7: ERROR: unterminated struct definition\nstruct Foo { int x;\n~~~~~~\n",
		  "unterminated_struct" },
		/* the last member's ';' may be left out, as bpftrace allows; not an inner one */
		{ "struct Foo {\n  int x\n  int y;\n}\nBEGIN { }\n",
		  "stdin:3:3-6: ERROR: expected ';' before 'int'\n  int y;\n  ~~~\n",
		  "missing_member_semicolon" },
		{ "struct Foo { foo_t x; }\n",
		  "stdin:1:14-19: ERROR: unknown type name 'foo_t'\nstruct Foo { foo_t x; }\n             ~~~~~\n",
		  "unknown_type_name" },
		{ "#define N 4\nstruct Foo { char c[N + q]; }\n",
		  "stdin:2:21-26: ERROR: not an integer constant expression: 'N + q'\nstruct Foo { char c[N + q]; }\n                    ~~~~~\n",
		  "bad_array_size" },
		{ "enum E { A, B, A }\n",
		  "stdin:1:16-17: ERROR: redefinition of enumerator 'A'\nenum E { A, B, A }\n               ~\n",
		  "duplicate_enumerator" },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		char *err = pp_error(cases[i].src);

		is_str(err, cases[i].want, cases[i].name);
		free(err);
	}
}

static void test_kconsts(void)
{
	static const struct {
		const char *name;
		int64_t value;
	} sys[] = {
		{ "AF_UNSPEC", AF_UNSPEC }, { "AF_UNIX", AF_UNIX }, { "AF_LOCAL", AF_LOCAL },
		{ "AF_INET", AF_INET }, { "AF_INET6", AF_INET6 }, { "AF_NETLINK", AF_NETLINK },
		{ "AF_PACKET", AF_PACKET }, { "AF_VSOCK", AF_VSOCK }, { "AF_XDP", AF_XDP },
		{ "PF_INET", PF_INET }, { "SOCK_STREAM", SOCK_STREAM }, { "SOCK_DGRAM", SOCK_DGRAM },
		{ "SOCK_NONBLOCK", SOCK_NONBLOCK }, { "SOCK_CLOEXEC", SOCK_CLOEXEC },
		{ "SOL_SOCKET", SOL_SOCKET }, { "SOL_TCP", SOL_TCP }, { "SOL_IP", SOL_IP },
		{ "SOL_IPV6", SOL_IPV6 }, { "SO_REUSEADDR", SO_REUSEADDR },
		{ "SO_KEEPALIVE", SO_KEEPALIVE }, { "SO_REUSEPORT", SO_REUSEPORT },
		{ "SO_RCVBUF", SO_RCVBUF }, { "SO_SNDBUF", SO_SNDBUF }, { "SO_LINGER", SO_LINGER },
		{ "SO_RCVTIMEO", SO_RCVTIMEO }, { "SO_TIMESTAMP", SO_TIMESTAMP },
		{ "TCP_NODELAY", TCP_NODELAY }, { "TCP_KEEPIDLE", TCP_KEEPIDLE },
		{ "TCP_KEEPINTVL", TCP_KEEPINTVL }, { "TCP_KEEPCNT", TCP_KEEPCNT },
		{ "TCP_CONGESTION", TCP_CONGESTION }, { "TCP_ESTABLISHED", TCP_ESTABLISHED },
		{ "TCP_LISTEN", TCP_LISTEN }, { "TCP_CLOSING", TCP_CLOSING },
		{ "IPPROTO_TCP", IPPROTO_TCP }, { "IPPROTO_UDP", IPPROTO_UDP },
		{ "IPPROTO_IPV6", IPPROTO_IPV6 }, { "IPPROTO_RAW", IPPROTO_RAW },
		{ "INADDR_ANY", INADDR_ANY }, { "INADDR_LOOPBACK", INADDR_LOOPBACK },
		{ "INADDR_BROADCAST", INADDR_BROADCAST },
		{ "O_RDONLY", O_RDONLY }, { "O_WRONLY", O_WRONLY }, { "O_RDWR", O_RDWR },
		{ "O_CREAT", O_CREAT }, { "O_EXCL", O_EXCL }, { "O_TRUNC", O_TRUNC },
		{ "O_APPEND", O_APPEND }, { "O_NONBLOCK", O_NONBLOCK }, { "O_CLOEXEC", O_CLOEXEC },
		{ "O_DIRECTORY", O_DIRECTORY }, { "O_NOFOLLOW", O_NOFOLLOW }, { "O_PATH", O_PATH },
		{ "O_TMPFILE", O_TMPFILE }, { "O_SYNC", O_SYNC }, { "O_DIRECT", O_DIRECT },
		{ "SIGINT", SIGINT }, { "SIGKILL", SIGKILL }, { "SIGTERM", SIGTERM },
		{ "SIGUSR1", SIGUSR1 }, { "SIGCHLD", SIGCHLD }, { "SIGSYS", SIGSYS },
		{ "EPERM", EPERM }, { "ENOENT", ENOENT }, { "EAGAIN", EAGAIN },
		{ "EWOULDBLOCK", EWOULDBLOCK }, { "ECONNREFUSED", ECONNREFUSED },
		{ "ECONNRESET", ECONNRESET }, { "EINPROGRESS", EINPROGRESS },
		{ "ETIMEDOUT", ETIMEDOUT }, { "EADDRINUSE", EADDRINUSE },
		{ "MSG_PEEK", MSG_PEEK }, { "MSG_DONTWAIT", MSG_DONTWAIT },
		{ "MSG_NOSIGNAL", MSG_NOSIGNAL }, { "SHUT_RDWR", SHUT_RDWR },
	};
	bool sorted = true, all = true;
	size_t i;
	int64_t v;

	for (i = 1; i < kconst_count(); i++)
		if (strcmp(kconst_name(i - 1), kconst_name(i)) >= 0)
			sorted = false;
	ok(sorted, "kconst_table_is_sorted_without_duplicates");
	for (i = 0; i < ARRAY_SIZE(sys); i++) {
		if (kconst_lookup(sys[i].name, &v) || v != sys[i].value) {
			printf("# %s: table has %lld, system headers %lld\n", sys[i].name,
			       kconst_lookup(sys[i].name, &v) ? -1LL : (long long)v,
			       (long long)sys[i].value);
			all = false;
		}
	}
	ok(all, "kconst_values_match_this_machines_headers");
	ok(kconst_lookup("O_LARGEFILE", &v) == 0 && v == 0100000, "o_largefile_is_the_kernel_value");
	ok(kconst_lookup("NOT_A_CONSTANT", &v) == -ENOENT, "kconst_unknown_is_enoent");
}

static void test_pp_eval(void)
{
	int64_t v = 0;

	pp_cleanup();
	ok(pp_eval("(1 << 31)", &v) == 0 && v == INT32_MIN, "int_shift_into_sign_bit_is_negative");
	ok(pp_eval("1UL << 63 >> 63", &v) == 0 && v == 1, "unsigned_long_shift");
	ok(pp_eval("-1 / 2", &v) == 0 && v == 0, "signed_division_truncates");
	ok(pp_eval("0xffffffff + 1", &v) == 0 && v == 0, "unsigned_int_wraps");
	ok(pp_eval("07 + 0b11", &v) == 0 && v == 10, "octal_and_binary_literals");
	ok(pp_eval("(unsigned short)-1", &v) == 0 && v == 65535, "cast_to_unsigned_short");
	ok(pp_eval("(__u32)-1", &v) == 0 && v == 4294967295LL, "cast_to_kernel_typedef");
	ok(pp_eval("SO_REUSEPORT | 0", &v) == 0 && v == 15, "builtin_constant_in_expression");
	ok(pp_eval("1 / 0", &v) == -EINVAL, "division_by_zero_is_not_constant");
	ok(pp_eval("1 +", &v) == -EINVAL, "truncated_expression_is_not_constant");
	ok(pp_eval("\"s\"", &v) == -EINVAL, "string_is_not_an_integer");
	ok(pp_eval("sizeof(unsigned long) * 2", &v) == 0 && v == 16, "sizeof_type_in_expression");
	ok(pp_eval("sizeof(struct no_such_struct)", &v) == -EINVAL, "sizeof_incomplete_struct_fails");
}

static void test_script_enums_and_sizeof(void)
{
	const struct pp_macro *m;
	struct record *r;
	int64_t v = 0;
	char *out = pp("#define VIA_ENUM (TCP_LISTEN + 1)\nenum { TCP_LISTEN = 99 };\n"
		       "struct S { long a; char buf[sizeof(long) * 2]; int tail; };\nBEGIN { }\n", NULL);

	ok(out != NULL, "script_with_sizeof_in_struct_preprocesses");
	ok(pp_lookup("TCP_LISTEN", &m) == 0 && m->value == 99,
	   "script_enum_constant_wins_over_builtin");
	ok(pp_lookup("TCP_CLOSE", &m) == 0 && m->value == 7, "builtin_still_found_after_script_enum");
	is_int(intval("VIA_ENUM"), 100, "script_define_over_script_enum_constant");
	ok(cdecl_find_record("S", false, &r) == 0 && r->size == 32, "sizeof_in_array_size");
	ok(pp_eval("sizeof(struct S)", &v) == 0 && v == 32, "sizeof_script_struct");
	free(out);
}

int main(void)
{
	char *cmd;

	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	test_envoy_headers();
	test_missing_headers();
	test_defines();
	test_shebang_and_locations();
	test_conditionals();
	test_user_headers();
	test_errors();
	test_kconsts();
	test_pp_eval();
	test_script_enums_and_sizeof();
	pp_cleanup();
	types_free_all();
	cmd = xasprintf("rm -rf '%s'", tmpdir);
	if (system(cmd))
		printf("# could not remove %s\n", tmpdir);
	free(cmd);
	return done_testing();
}
