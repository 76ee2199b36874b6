/*
 * test_format.c - printf formats: parsing (what counts as a conversion, bpftrace's error
 * wording) and rendering compared with what bpftrace 0.17 printed for the same printf()
 * calls (BEGIN-only scripts run as root, stdout captured).
 */
#include <errno.h>
#include <stdlib.h>

#include "runtime/format.h"
#include "tests/unit/tap.h"

struct arg {
	enum val_kind kind;
	int64_t i;
	uint64_t u;
	const char *s;
	size_t len;
};

#define I(x) { VAL_INT, (x), 0, NULL, 0 }
#define U(x) { VAL_UINT, 0, (x), NULL, 0 }
#define S(x) { VAL_STR, 0, 0, (x), 0 }
#define B(x, n) { VAL_BUF, 0, 0, (x), (n) }
#define NONE { VAL_NONE, 0, 0, NULL, 0 }

struct render_case {
	const char *name;
	const char *fmt;
	struct arg args[10];
	size_t nargs;
	const char *want;
};

static const struct render_case bpftrace_cases[] = {
	{ "signed_unsigned_hex_octal_of_negative_use_32_bits", "d[%d] u[%u] x[%x] X[%X] o[%o]\n", { I(-42), I(-42), I(-42), I(-42), I(-42) }, 5,
	  "d[-42] u[4294967254] x[ffffffd6] X[FFFFFFD6] o[37777777726]\n" },
	{ "no_length_modifier_truncates_u64_max_to_32_bits", "u64max[%u] d[%d] x[%x]\n", { U(UINT64_MAX), U(UINT64_MAX), U(UINT64_MAX) }, 3,
	  "u64max[4294967295] d[-1] x[ffffffff]\n" },
	{ "width_left_align_and_zero_pad", "w[%5d] l[%-5d] z[%05d]\n", { I(42), I(42), I(42) }, 3,
	  "w[   42] l[42   ] z[00042]\n" },
	{ "precision_and_negative_padding", "prec[%.3d] wp[%8.3d] neg0[%05d] negl[%-6d]\n", { I(7), I(7), I(-7), I(-7) }, 4,
	  "prec[007] wp[     007] neg0[-0007] negl[-7    ]\n" },
	{ "length_modifiers_hh_h_truncate_l_ll_j_z_t_keep_64_bits", "hh[%hhd] h[%hd] l[%ld] ll[%lld] j[%jd] z[%zd] t[%td] hhu[%hhu] hx[%hx]\n", { I(300), I(70000), I(300), I(300), I(300), I(300), I(300), I(300), I(70000) }, 9,
	  "hh[44] h[4464] l[300] ll[300] j[300] z[300] t[300] hhu[44] hx[1170]\n" },
	{ "long_conversions_print_full_u64", "lu[%lu] llx[%llx] zu[%zu]\n", { U(UINT64_MAX), U(UINT64_MAX), U(UINT64_MAX) }, 3,
	  "lu[18446744073709551615] llx[ffffffffffffffff] zu[18446744073709551615]\n" },
	{ "char_with_width_and_left_align", "c[%c] c2[%3c] c3[%-3c]\n", { I(65), I(66), I(67) }, 3,
	  "c[A] c2[  B] c3[C  ]\n" },
	{ "string_width_precision_left_align", "s[%s] s2[%10s] s3[%-10s] s4[%.2s] s5[%5.1s]\n", { S("hello"), S("hi"), S("hi"), S("hello"), S("hello") }, 5,
	  "s[hello] s2[        hi] s3[hi        ] s4[he] s5[    h]\n" },
	{ "pointer_hex_nil_for_zero_64_bit_negative_and_width", "p[%p] p0[%p] pn[%p] pw[%20p]\n", { I(0xffff1234), I(0), I(-42), I(16) }, 4,
	  "p[0xffff1234] p0[(nil)] pn[0xffffffffffffffd6] pw[                0x10]\n" },
	{ "double_percent_without_conversions_stays_double", "a%%b\n", { NONE }, 0,
	  "a%%b\n" },
	{ "double_percent_after_last_conversion_stays_double", "[%d%%]\n", { I(5) }, 1,
	  "[5%%]\n" },
	{ "double_percent_before_a_conversion_becomes_single", "%%[%d]\n", { I(5) }, 1,
	  "%[5]\n" },
	{ "unknown_conversions_are_plain_text", "lone % here %y\n", { NONE }, 0,
	  "lone % here %y\n" },
	{ "buffer_r_rx_rh", "r[%r] rx[%rx] rh[%rh]\n", { B("ab\x01\xff\n\"\\ z", 9), B("ab\x01\xff\n\"\\ z", 9), B("ab\x01\xff\n\"\\ z", 9) }, 3,
	  "r[ab\\x01\\xff\\x0a\"\\ z] rx[\\x61\\x62\\x01\\xff\\x0a\\x22\\x5c\\x20\\x7a] rh[61 62 01 ff 0a 22 5c 20 7a]\n" },
	{ "buffer_with_width_is_printed_literally", "w[%10r] l[%-6r]\n", { B("ab", 2), B("ab", 2) }, 2,
	  "w[%10r] l[%-6r]\n" },
};

/* Conversions bpftrace 0.17 lacks (C semantics), and corner cases. */
static const struct render_case c_cases[] = {
	{ "plus_flag", "[%+d] [%+d]", { I(5), I(-5) }, 2, "[+5] [-5]" },
	{ "space_is_text_as_in_bpftrace", "50% done %d", { I(5) }, 1, "50% done 5" },
	{ "alternate_hex_and_octal", "[%#x] [%#o] [%#X]", { I(255), I(8), I(255) }, 3,
	  "[0xff] [010] [0XFF]" },
	{ "i_is_d", "[%i] [%li]", { I(-3), I(-5000000000) }, 2, "[-3] [-5000000000]" },
	{ "flags_combined_with_width_and_length", "[%-+8lld]", { I(42) }, 1, "[+42     ]" },
	{ "hh_of_negative_and_h_unsigned", "[%hhd] [%hu]", { I(-129), I(-1) }, 2, "[127] [65535]" },
	{ "char_uses_low_byte", "[%c]", { I(0x141) }, 1, "[A]" },
	{ "string_arg_given_as_buffer_stops_at_nul", "[%s]", { B("ab\0cd", 5) }, 1, "[ab]" },
	{ "r_of_plain_string", "[%r]", { S("a\tb") }, 1, "[a\\x09b]" },
	{ "missing_argument_renders_zero", "[%d]", { NONE }, 0, "[0]" },
	{ "text_only", "plain text\n", { NONE }, 0, "plain text\n" },
	/* bpftrace 0.17: printf("[%c]\n", 0) -> "[]", printf("a%cb%dc\n", 0, 5) -> "ab5c" */
	{ "char_zero_ends_its_part_as_in_bpftrace", "[%c]\n", { I(0) }, 1, "[]\n" },
	{ "char_zero_cuts_only_its_own_part", "a%cb%dc\n", { I(0), I(5) }, 2, "ab5c\n" },
	{ "empty_string", "%s|%d\n", { S(""), I(3) }, 2, "|3\n" },
};

static void run_cases(const struct render_case *cases, size_t n)
{
	struct val args[10];
	struct strbuf sb;
	size_t i, j;

	for (i = 0; i < n; i++) {
		const struct render_case *c = &cases[i];

		for (j = 0; j < c->nargs; j++) {
			const struct arg *a = &c->args[j];

			switch (a->kind) {
			case VAL_INT:
				args[j] = val_int(a->i);
				break;
			case VAL_UINT:
				args[j] = val_uint(a->u);
				break;
			case VAL_STR:
				args[j] = val_str(a->s);
				break;
			default:
				args[j] = val_buf(a->s, a->len);
				break;
			}
		}
		sb_init(&sb);
		fmt_render(&sb, c->fmt, args, c->nargs);
		is_str(sb.buf ? sb.buf : "", c->want, c->name);
		sb_free(&sb);
		for (j = 0; j < c->nargs; j++)
			val_free(&args[j]);
	}
}

static void check_parse(const char *fmt, const char *convs, const char *name)
{
	struct fmt_spec *specs;
	size_t n, i;
	char *err, got[32];
	int r;

	r = fmt_parse(fmt, &specs, &n, &err);
	for (i = 0; r == 0 && i < n && i < sizeof(got) - 1; i++)
		got[i] = specs[i].buf_mode ? specs[i].buf_mode : specs[i].conv;
	got[r == 0 ? i : 0] = '\0';
	is_str(r == 0 ? got : err, convs, name);
	free(specs);
	free(err);
}

int main(void)
{
	struct fmt_spec *specs;
	size_t n;
	char *err;
	int r;

	run_cases(bpftrace_cases, ARRAY_SIZE(bpftrace_cases));
	run_cases(c_cases, ARRAY_SIZE(c_cases));

	check_parse("%d %i %u %x %X %o %p %c %s", "diuxXopcs", "parse_every_conversion");
	check_parse("%%d %% %5%", "", "parse_percent_percent_is_not_a_conversion");
	check_parse("%-+#08.3lld|%hhu|%hx|%jd|%zu|%td|%lx", "duxdudx",
		    "parse_flags_width_precision_and_lengths");
	check_parse("%r %rx %rh %-4r", "rxhr", "parse_buffer_modes");
	check_parse("100% sure %y %", "", "parse_unknown_and_trailing_percent_are_text");
	check_parse("50% done, %d", "d", "parse_space_after_percent_is_text");
	check_parse("%d %ls", "printf: Unknown format string token: %ls",
		    "parse_length_on_string_is_an_error");
	check_parse("%hhc", "printf: Unknown format string token: %hhc",
		    "parse_length_on_char_is_an_error");

	r = fmt_parse("ab%-5dcd%sef%rx", &specs, &n, &err);
	ok(r == 0 && n == 3 && specs[0].start == 2 && specs[0].end == 6 && specs[0].arg == FMT_ARG_INT &&
	   specs[1].start == 8 && specs[1].end == 10 && specs[1].arg == FMT_ARG_STR &&
	   specs[2].start == 12 && specs[2].end == 15 && specs[2].arg == FMT_ARG_BUF &&
	   specs[2].buf_mode == 'x', "parse_reports_byte_ranges_and_argument_kinds");
	free(specs);

	r = fmt_parse("%ls", &specs, &n, &err);
	ok(r == -EINVAL && specs == NULL && n == 0, "parse_error_returns_einval_and_no_specs");
	free(err);
	return done_testing();
}
