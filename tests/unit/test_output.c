/*
 * test_output.c - map printing, messages and JSON, compared byte for byte with what
 * bpftrace 0.17 printed.  The expected strings below were captured from bpftrace itself
 * (BEGIN-only scripts such as `@a[1] = count(); @h = hist(5); ... exit();`, their `-f json`
 * twins, and `profile:hz:99 { @[kstack(3)] = count(); ... }` for stacks); each test builds
 * the same map contents by hand as a struct map_snapshot and renders it.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/output.h"
#include "common/util.h"
#include "tests/unit/tap.h"

/* Expected output, captured from bpftrace 0.17. */
static const char T_count[] =
	"@a[1]: 1\n"
	"@a[2]: 2\n";
static const char J_count[] =
	"{\"type\": \"map\", \"data\": {\"@a\": {\"1\": 1, \"2\": 2}}}\n";
static const char T_hist_nokey[] =
	"@h: \n"
	"[4, 8)                 1 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|\n"
	"[8, 16)                0 |                                                    |\n"
	"[16, 32)               0 |                                                    |\n"
	"[32, 64)               0 |                                                    |\n"
	"[64, 128)              1 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|\n"
	"\n";
static const char J_hist_nokey[] =
	"{\"type\": \"hist\", \"data\": {\"@h\": [{\"min\": 4, \"max\": 7, \"count\": 1}, {\"min\": 8, \"max\": 15, \"count\": 0}, {\"min\": 16, \"max\": 31, \"count\": 0}, {\"min\": 32, \"max\": 63, \"count\": 0}, {\"min\": 64, \"max\": 127, \"count\": 1}]}}\n";
static const char T_multikey[] =
	"@k[a, 2]: 3\n";
static const char J_multikey[] =
	"{\"type\": \"map\", \"data\": {\"@k\": {\"a,2\": 3}}}\n";
static const char T_lhist_nokey[] =
	"@l: \n"
	"[0, 10)                1 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|\n"
	"\n";
static const char J_lhist_nokey[] =
	"{\"type\": \"hist\", \"data\": {\"@l\": [{\"min\": 0, \"max\": 9, \"count\": 1}]}}\n";
static const char T_stats_nokey[] =
	"@s: count 1, average 10, total 10\n"
	"\n";
static const char J_stats_nokey[] =
	"{\"type\": \"stats\", \"data\": {\"@s\": {\"count\": 1, \"average\": 10, \"total\": 10}}}\n";
static const char T_tuple_nokey[] =
	"@t: (1, x)\n";
static const char J_tuple_nokey[] =
	"{\"type\": \"map\", \"data\": {\"@t\": [1,\"x\"]}}\n";
static const char T_avg_nokey[] =
	"@v: 7\n"
	"\n";
static const char J_avg_nokey[] =
	"{\"type\": \"stats\", \"data\": {\"@v\": 7}}\n";
static const char T_hist_keyed[] =
	"@h[1]: \n"
	"[2, 4)                 1 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|\n"
	"\n"
	"@h[2]: \n"
	"[0]                    1 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|\n"
	"[1]                    0 |                                                    |\n"
	"[2, 4)                 0 |                                                    |\n"
	"[4, 8)                 0 |                                                    |\n"
	"[8, 16)                0 |                                                    |\n"
	"[16, 32)               0 |                                                    |\n"
	"[32, 64)               0 |                                                    |\n"
	"[64, 128)              0 |                                                    |\n"
	"[128, 256)             0 |                                                    |\n"
	"[256, 512)             0 |                                                    |\n"
	"[512, 1K)              1 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|\n"
	"\n";
static const char J_hist_keyed[] =
	"{\"type\": \"hist\", \"data\": {\"@h\": {\"1\": [{\"min\": 2, \"max\": 3, \"count\": 1}], \"2\": [{\"min\": 0, \"max\": 0, \"count\": 1}, {\"min\": 1, \"max\": 1, \"count\": 0}, {\"min\": 2, \"max\": 3, \"count\": 0}, {\"min\": 4, \"max\": 7, \"count\": 0}, {\"min\": 8, \"max\": 15, \"count\": 0}, {\"min\": 16, \"max\": 31, \"count\": 0}, {\"min\": 32, \"max\": 63, \"count\": 0}, {\"min\": 64, \"max\": 127, \"count\": 0}, {\"min\": 128, \"max\": 255, \"count\": 0}, {\"min\": 256, \"max\": 511, \"count\": 0}, {\"min\": 512, \"max\": 1023, \"count\": 1}]}}}\n";
static const char T_lhist_keyed[] =
	"@l[a]: \n"
	"(..., 0)               1 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|\n"
	"\n"
	"@l[b]: \n"
	"[100, ...)             1 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|\n"
	"\n";
static const char J_lhist_keyed[] =
	"{\"type\": \"hist\", \"data\": {\"@l\": {\"a\": [{\"max\": -1, \"count\": 1}], \"b\": [{\"min\": 100, \"count\": 1}]}}}\n";
static const char T_stats_keyed[] =
	"@s[1]: count 1, average 5, total 5\n"
	"@s[2]: count 2, average 48, total 97\n"
	"\n";
static const char J_stats_keyed[] =
	"{\"type\": \"stats\", \"data\": {\"@s\": {\"1\": {\"count\": 1, \"average\": 5, \"total\": 5}, \"2\": {\"count\": 2, \"average\": 48, \"total\": 97}}}}\n";
static const char T_avg_keyed[] =
	"@v[2]: -2\n"
	"@v[1]: 7\n"
	"\n";
static const char J_avg_keyed[] =
	"{\"type\": \"stats\", \"data\": {\"@v\": {\"2\": -2, \"1\": 7}}}\n";
static const char T_str_by_int_key[] =
	"@m[1]: b\n"
	"@m[5]: c\n"
	"@m[-7]: d\n"
	"@m[-1]: a\n";
static const char J_str_by_int_key[] =
	"{\"type\": \"map\", \"data\": {\"@m\": {\"1\": \"b\", \"5\": \"c\", \"-7\": \"d\", \"-1\": \"a\"}}}\n";
static const char T_tuple_by_str_key[] =
	"@n[a]: (3, 4)\n"
	"@n[ab]: (0, 0)\n"
	"@n[b]: (1, 2)\n";
static const char J_tuple_by_str_key[] =
	"{\"type\": \"map\", \"data\": {\"@n\": {\"a\": [3,4], \"ab\": [0,0], \"b\": [1,2]}}}\n";
static const char T_str_by_multikey[] =
	"@o[a, 5]: q\n"
	"@o[a, -1]: s\n"
	"@o[x, 1]: r\n"
	"@o[x, 2]: p\n";
static const char J_str_by_multikey[] =
	"{\"type\": \"map\", \"data\": {\"@o\": {\"a,5\": \"q\", \"a,-1\": \"s\", \"x,1\": \"r\", \"x,2\": \"p\"}}}\n";
static const char T_int_values[] =
	"@i[2]: -3\n"
	"@i[3]: 2\n"
	"@i[1]: 5\n";
static const char J_int_values[] =
	"{\"type\": \"map\", \"data\": {\"@i\": {\"2\": -3, \"3\": 2, \"1\": 5}}}\n";
static const char T_max_values[] =
	"@ma[1]: 5\n"
	"@ma[3]: 9\n";
static const char J_max_values[] =
	"{\"type\": \"map\", \"data\": {\"@ma\": {\"1\": 5, \"3\": 9}}}\n";
static const char T_min_values[] =
	"@mi[2]: -3\n"
	"@mi[3]: 2\n"
	"@mi[1]: 5\n";
static const char J_min_values[] =
	"{\"type\": \"map\", \"data\": {\"@mi\": {\"2\": -3, \"3\": 2, \"1\": 5}}}\n";
static const char T_sum_values[] =
	"@su[2]: -3\n"
	"@su[3]: 2\n"
	"@su[1]: 5\n";
static const char J_sum_values[] =
	"{\"type\": \"map\", \"data\": {\"@su\": {\"2\": -3, \"3\": 2, \"1\": 5}}}\n";
static const char T_sum_top2_div10[] =
	"@a[1]: 10\n"
	"@a[2]: 25\n";
static const char J_sum_top2_div10[] =
	"{\"type\": \"map\", \"data\": {\"@a\": {\"1\": 10, \"2\": 25}}}\n";
static const char T_sum_div10[] =
	"@a[3]: -3\n"
	"@a[4]: 1\n"
	"@a[1]: 10\n"
	"@a[2]: 25\n";
static const char J_sum_div10[] =
	"{\"type\": \"map\", \"data\": {\"@a\": {\"3\": -3, \"4\": 1, \"1\": 10, \"2\": 25}}}\n";
static const char T_sum_top3[] =
	"@a[4]: 17\n"
	"@a[1]: 100\n"
	"@a[2]: 250\n";
static const char J_sum_top3[] =
	"{\"type\": \"map\", \"data\": {\"@a\": {\"4\": 17, \"1\": 100, \"2\": 250}}}\n";
static const char T_sum_all[] =
	"@a[3]: -35\n"
	"@a[4]: 17\n"
	"@a[1]: 100\n"
	"@a[2]: 250\n";
static const char J_sum_all[] =
	"{\"type\": \"map\", \"data\": {\"@a\": {\"3\": -35, \"4\": 17, \"1\": 100, \"2\": 250}}}\n";
static const char T_hist_top2_div2[] =
	"@h[2]: \n"
	"[4, 8)                 1 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|\n"
	"\n"
	"@h[3]: \n"
	"[1]                    1 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|\n"
	"\n";
static const char J_hist_top2_div2[] =
	"{\"type\": \"hist\", \"data\": {\"@h\": {\"2\": [{\"min\": 4, \"max\": 7, \"count\": 1}], \"3\": [{\"min\": 1, \"max\": 1, \"count\": 1}]}}}\n";
static const char T_avg_top1_div10[] =
	"@v[1]: 10\n"
	"\n";
static const char J_avg_top1_div10[] =
	"{\"type\": \"stats\", \"data\": {\"@v\": {\"1\": 10}}}\n";
static const char T_stats_top_div_ignored[] =
	"@s[2]: count 1, average 50, total 50\n"
	"@s[1]: count 1, average 100, total 100\n"
	"\n";
static const char J_stats_top_div_ignored[] =
	"{\"type\": \"stats\", \"data\": {\"@s\": {\"2\": {\"count\": 1, \"average\": 50, \"total\": 50}, \"1\": {\"count\": 1, \"average\": 100, \"total\": 100}}}}\n";
static const char T_lhist_top1_div_ignored[] =
	"@l[2]: \n"
	"[5, 6)                 2 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|\n"
	"\n";
static const char J_lhist_top1_div_ignored[] =
	"{\"type\": \"hist\", \"data\": {\"@l\": {\"2\": [{\"min\": 5, \"max\": 5, \"count\": 2}]}}}\n";
static const char T_str_with_quotes[] =
	"@a[q\"x]: v\"1\n";
static const char J_str_with_quotes[] =
	"{\"type\": \"map\", \"data\": {\"@a\": {\"q\\\"x\": \"v\\\"1\"}}}\n";
static const char T_negative_key[] =
	"@e[-5]: 1\n";
static const char J_negative_key[] =
	"{\"type\": \"map\", \"data\": {\"@e\": {\"-5\": 1}}}\n";
static const char T_hist_ties_by_key[] =
	"@h[a]: \n"
	"[8, 16)                1 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|\n"
	"\n"
	"@h[b]: \n"
	"[4, 8)                 1 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|\n"
	"\n"
	"@h[c]: \n"
	"[2, 4)                 2 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|\n"
	"\n";
static const char J_hist_ties_by_key[] =
	"{\"type\": \"hist\", \"data\": {\"@h\": {\"a\": [{\"min\": 8, \"max\": 15, \"count\": 1}], \"b\": [{\"min\": 4, \"max\": 7, \"count\": 1}], \"c\": [{\"min\": 2, \"max\": 3, \"count\": 2}]}}}\n";
static const char T_nested_tuple[] =
	"@n: (1, (2, b), c)\n";
static const char J_nested_tuple[] =
	"{\"type\": \"map\", \"data\": {\"@n\": [1,[2,\"b\"],\"c\"]}}\n";
static const char T_stats_multikey[] =
	"@s[1, x]: count 1, average 4, total 4\n"
	"\n";
static const char J_stats_multikey[] =
	"{\"type\": \"stats\", \"data\": {\"@s\": {\"1,x\": {\"count\": 1, \"average\": 4, \"total\": 4}}}}\n";
static const char T_avg_multikey[] =
	"@v[1, 2]: 3\n"
	"\n";
static const char J_avg_multikey[] =
	"{\"type\": \"stats\", \"data\": {\"@v\": {\"1,2\": 3}}}\n";
static const char T_int_nokey[] =
	"@z: 5\n";
static const char J_int_nokey[] =
	"{\"type\": \"map\", \"data\": {\"@z\": 5}}\n";
static const char T_count_nokey[] =
	"@c: 1\n";
static const char J_count_nokey[] =
	"{\"type\": \"map\", \"data\": {\"@c\": 1}}\n";
static const char T_stack_keys[] =
	"@[\n"
	"    damon_pa_batch_lock+39\n"
	"    damon_pa_check_accesses+414\n"
	"    kdamond_fn+1715\n"
	"]: 1\n"
	"@[]: 1\n"
	"@[\n"
	"    pv_native_safe_halt+11\n"
	"    default_idle+5\n"
	"    default_enter_idle+27\n"
	"]: 98\n";
static const char T_ustack_multikey[] =
	"@u[\n"
	"    0x7ff09f857b51\n"
	"    0x7ff09f81e9ec\n"
	", 5]: 1\n"
	"@u[, 5]: 99\n";
static const char T_stack_values[] =
	"@v[0]: \n"
	"        pv_native_safe_halt+11\n"
	"        default_idle+5\n"
	"@v[1]: \n"
	"        damon_pa_batch_lock+39\n"
	"        damon_pa_check_accesses+414\n"
	"\n";
static const char T_buf_value[] =
	"@b: ab\\x01\\xff\\x0a\"\\ z\n";
static const char J_buf_value[] =
	"{\"type\": \"map\", \"data\": {\"@b\": \"ab\\\\x01\\\\xff\\\\x0a\\\"\\\\ z\"}}\n";
static const char T_buf_key[] =
	"@c[ab\\x01]: 1\n";
static const char J_buf_key[] =
	"{\"type\": \"map\", \"data\": {\"@c\": {\"ab\\\\x01\": 1}}}\n";
static const char T_printf_utf8[] =
	"\xc3""\xa9"" \xc3""\xbc""\n";
/* bpftrace 0.17 writes "\\uffffffc3..." here, which jq reads back as other text: UTF-8 passes */
static const char J_printf_utf8[] =
	"{\"type\": \"printf\", \"data\": \"\xc3""\xa9"" \xc3""\xbc""\\n\"}\n";
/* bytes that are no UTF-8 (a lone continuation, a truncated sequence, an overlong form) */
static const char J_printf_bad_utf8[] =
	"{\"type\": \"printf\", \"data\": \"\\u0080 \\u00c3 \\u00c0\\u00af \\u00ff\\n\"}\n";
static const char T_printf_ctrl[] =
	"tab\there \"q\" back\\ \x01"" end\n";
static const char J_printf_ctrl[] =
	"{\"type\": \"printf\", \"data\": \"tab\\there \\\"q\\\" back\\\\ \\u0001 end\\n\"}\n";
static const char T_uint_key_prints_signed[] =
	"@a[-1]: 1\n"
	"@a[3]: 2\n";
static const char J_uint_key_prints_signed[] =
	"{\"type\": \"map\", \"data\": {\"@a\": {\"-1\": 1, \"3\": 2}}}\n";
static const char T_u32_key[] =
	"@b[4294967295]: 5\n";
static const char J_u32_key[] =
	"{\"type\": \"map\", \"data\": {\"@b\": {\"4294967295\": 5}}}\n";
static const char T_int8_and_str_key_u64_value[] =
	"@c[-3, x]: 18446744073709551615\n";
static const char J_int8_and_str_key_u64_value[] =
	"{\"type\": \"map\", \"data\": {\"@c\": {\"-3,x\": 18446744073709551615}}}\n";
static const char T_utf8_tab_key[] =
	"@e[\xc3""\xa9""\t]: 1\n";
static const char J_utf8_tab_key[] =
	"{\"type\": \"map\", \"data\": {\"@e\": {\"\xc3""\xa9""\\t\": 1}}}\n";

/* --- building snapshots by hand --- */

static struct val I(int64_t i)
{
	return val_int(i);
}

static struct val U(uint64_t u)
{
	return val_uint(u);
}

static struct val S(const char *s)
{
	return val_str(s);
}

static struct val stack(const char *frames)
{
	struct val v = val_str(frames);

	v.form = FORM_STACK;
	return v;
}

/* A tuple of n values (a key: n == 0 for "@x", the key elements otherwise). */
static struct val T(size_t n, ...)
{
	struct val t = val_tuple(n);
	va_list ap;
	size_t i;

	va_start(ap, n);
	for (i = 0; i < n; i++)
		t.tuple.elems[i] = va_arg(ap, struct val);
	va_end(ap);
	return t;
}

static struct map_snapshot *snap(const char *name, enum mapv_kind kind)
{
	struct map_snapshot *m = xcalloc(1, sizeof(*m));

	m->name = name;
	m->kind = kind;
	return m;
}

static struct map_entry *add(struct map_snapshot *m, struct val key, struct val value)
{
	struct map_entry *e;

	m->entries = xrealloc(m->entries, (m->n + 1) * sizeof(*m->entries));
	e = &m->entries[m->n++];
	memset(e, 0, sizeof(*e));
	e->key = key;
	e->value = value;
	return e;
}

static void add_stats(struct map_snapshot *m, struct val key, uint64_t count, int64_t total)
{
	struct map_entry *e = add(m, key, val_int(count ? total / (int64_t)count : 0));

	e->count = count;
	e->total = total;
}

/* Buckets given as (index, count) pairs, terminated by index -1. */
static void add_hist(struct map_snapshot *m, struct val key, size_t nbuckets, ...)
{
	struct map_entry *e = add(m, key, (struct val){ 0 });
	va_list ap;
	int i;

	e->buckets = xcalloc(nbuckets, sizeof(uint64_t));
	e->nbuckets = nbuckets;
	va_start(ap, nbuckets);
	while ((i = va_arg(ap, int)) >= 0)
		e->buckets[i] = va_arg(ap, uint64_t);
	va_end(ap);
}

static void lhist_bounds(struct map_snapshot *m, int64_t min, int64_t max, int64_t step)
{
	m->lhist_min = min;
	m->lhist_max = max;
	m->lhist_step = step;
}

static void snap_free(struct map_snapshot *m)
{
	size_t i;

	for (i = 0; i < m->n; i++) {
		val_free(&m->entries[i].key);
		val_free(&m->entries[i].value);
		free(m->entries[i].buckets);
	}
	free(m->entries);
	free(m);
}

/* --- rendering into memory --- */

struct sink {
	FILE *f;
	char *buf;
	size_t len;
	struct output *o;
};

static void sink_open(struct sink *s, enum output_format fmt)
{
	s->buf = NULL;
	s->len = 0;
	s->f = open_memstream(&s->buf, &s->len);
	s->o = output_new(s->f, fmt);
}

/* Close the stream and return what was written (caller frees). */
static char *sink_close(struct sink *s)
{
	output_flush(s->o);
	output_free(s->o);
	fclose(s->f);
	return s->buf;
}

static char *render(enum output_format fmt, const struct map_snapshot *m, uint64_t top,
		    uint64_t div)
{
	struct sink s;

	sink_open(&s, fmt);
	output_map(s.o, m, top, div);
	return sink_close(&s);
}

static void check_map(const struct map_snapshot *m, uint64_t top, uint64_t div, const char *text,
		      const char *json, const char *name)
{
	char label[200], *got;

	if (text) {
		got = render(OUTPUT_TEXT, m, top, div);
		snprintf(label, sizeof(label), "%s (text)", name);
		is_str(got, text, label);
		free(got);
	}
	if (!json)
		return;
	got = render(OUTPUT_JSON, m, top, div);
	snprintf(label, sizeof(label), "%s (json)", name);
	is_str(got, json, label);
	free(got);
}

/* --- the maps of `bpftrace -e 'BEGIN { @a[1] = count(); ... }'` --- */

static void test_basic_kinds(void)
{
	struct map_snapshot *m;

	/* given out of order: count maps sort by value */
	m = snap("@a", MAPV_COUNT);
	add(m, T(1, I(2)), U(2));
	add(m, T(1, I(1)), U(1));
	check_map(m, 0, 0, T_count, J_count, "count_map_sorted_by_value");
	snap_free(m);

	m = snap("@h", MAPV_HIST);
	add_hist(m, T(0), 65, 4, (uint64_t)1, 8, (uint64_t)1, -1);
	check_map(m, 0, 0, T_hist_nokey, J_hist_nokey, "hist_without_key");
	snap_free(m);

	m = snap("@k", MAPV_PLAIN);
	add(m, T(2, S("a"), I(2)), I(3));
	check_map(m, 0, 0, T_multikey, J_multikey, "two_keys_joined_by_comma_space_and_comma_in_json");
	snap_free(m);

	m = snap("@l", MAPV_LHIST);
	lhist_bounds(m, 0, 100, 10);
	add_hist(m, T(0), 12, 1, (uint64_t)1, -1);
	check_map(m, 0, 0, T_lhist_nokey, J_lhist_nokey, "lhist_without_key");
	snap_free(m);

	m = snap("@s", MAPV_STATS);
	add_stats(m, T(0), 1, 10);
	check_map(m, 0, 0, T_stats_nokey, J_stats_nokey, "stats_without_key_ends_with_blank_line");
	snap_free(m);

	m = snap("@t", MAPV_PLAIN);
	add(m, T(0), T(2, I(1), S("x")));
	check_map(m, 0, 0, T_tuple_nokey, J_tuple_nokey, "tuple_value_with_unquoted_string");
	snap_free(m);

	m = snap("@v", MAPV_AVG);
	add_stats(m, T(0), 1, 7);
	check_map(m, 0, 0, T_avg_nokey, J_avg_nokey, "avg_without_key_is_a_stats_message_in_json");
	snap_free(m);

	m = snap("@z", MAPV_PLAIN);
	add(m, T(0), I(5));
	check_map(m, 0, 0, T_int_nokey, J_int_nokey, "int_without_key");
	snap_free(m);

	m = snap("@c", MAPV_COUNT);
	add(m, T(0), U(1));
	check_map(m, 0, 0, T_count_nokey, J_count_nokey, "count_without_key");
	snap_free(m);
}

static void test_keyed_aggregations(void)
{
	struct map_snapshot *m;

	m = snap("@h", MAPV_HIST);
	add_hist(m, T(1, I(2)), 65, 11, (uint64_t)1, 1, (uint64_t)1, -1);
	add_hist(m, T(1, I(1)), 65, 3, (uint64_t)1, -1);
	check_map(m, 0, 0, T_hist_keyed, J_hist_keyed, "hist_keys_sorted_by_total_count");
	snap_free(m);

	/* equal totals: key order, whatever order they come in */
	m = snap("@l", MAPV_LHIST);
	lhist_bounds(m, 0, 100, 10);
	add_hist(m, T(1, S("b")), 12, 11, (uint64_t)1, -1);
	add_hist(m, T(1, S("a")), 12, 0, (uint64_t)1, -1);
	check_map(m, 0, 0, T_lhist_keyed, J_lhist_keyed, "lhist_below_min_and_above_max_ties_by_key");
	snap_free(m);

	m = snap("@h", MAPV_HIST);
	add_hist(m, T(1, S("c")), 65, 3, (uint64_t)2, -1);
	add_hist(m, T(1, S("b")), 65, 4, (uint64_t)1, -1);
	add_hist(m, T(1, S("a")), 65, 5, (uint64_t)1, -1);
	check_map(m, 0, 0, T_hist_ties_by_key, J_hist_ties_by_key, "hist_equal_totals_in_key_order");
	snap_free(m);

	m = snap("@s", MAPV_STATS);
	add_stats(m, T(1, I(2)), 2, 97);
	add_stats(m, T(1, I(1)), 1, 5);
	check_map(m, 0, 0, T_stats_keyed, J_stats_keyed, "stats_keys_sorted_by_average");
	snap_free(m);

	/* avg(3) + avg(-8): -5 / 2 truncates to -2 */
	m = snap("@v", MAPV_AVG);
	add_stats(m, T(1, I(1)), 1, 7);
	add_stats(m, T(1, I(2)), 2, -5);
	check_map(m, 0, 0, T_avg_keyed, J_avg_keyed, "avg_negative_average_sorts_first");
	snap_free(m);

	m = snap("@s", MAPV_STATS);
	add_stats(m, T(2, I(1), S("x")), 1, 4);
	check_map(m, 0, 0, T_stats_multikey, J_stats_multikey, "stats_with_two_keys");
	snap_free(m);

	m = snap("@v", MAPV_AVG);
	add_stats(m, T(2, I(1), I(2)), 1, 3);
	check_map(m, 0, 0, T_avg_multikey, J_avg_multikey, "avg_with_two_keys");
	snap_free(m);
}

static void test_sorting(void)
{
	struct map_snapshot *m;

	/* non-integer values sort by key, integers as unsigned: negative keys last */
	m = snap("@m", MAPV_PLAIN);
	add(m, T(1, I(-1)), S("a"));
	add(m, T(1, I(1)), S("b"));
	add(m, T(1, I(5)), S("c"));
	add(m, T(1, I(-7)), S("d"));
	check_map(m, 0, 0, T_str_by_int_key, J_str_by_int_key, "string_values_sorted_by_unsigned_int_key");
	snap_free(m);

	m = snap("@n", MAPV_PLAIN);
	add(m, T(1, S("b")), T(2, I(1), I(2)));
	add(m, T(1, S("a")), T(2, I(3), I(4)));
	add(m, T(1, S("ab")), T(2, I(0), I(0)));
	check_map(m, 0, 0, T_tuple_by_str_key, J_tuple_by_str_key, "tuple_values_sorted_by_string_key");
	snap_free(m);

	m = snap("@o", MAPV_PLAIN);
	add(m, T(2, S("x"), I(2)), S("p"));
	add(m, T(2, S("a"), I(5)), S("q"));
	add(m, T(2, S("x"), I(1)), S("r"));
	add(m, T(2, S("a"), I(-1)), S("s"));
	check_map(m, 0, 0, T_str_by_multikey, J_str_by_multikey, "two_keys_sorted_first_key_first");
	snap_free(m);

	m = snap("@i", MAPV_PLAIN);
	add(m, T(1, I(1)), I(5));
	add(m, T(1, I(2)), I(-3));
	add(m, T(1, I(3)), I(2));
	check_map(m, 0, 0, T_int_values, J_int_values, "int_values_sorted_signed_by_value");
	snap_free(m);

	m = snap("@ma", MAPV_MAX);
	add(m, T(1, I(3)), I(9));
	add(m, T(1, I(1)), I(5));
	check_map(m, 0, 0, T_max_values, J_max_values, "max_values_sorted_by_value");
	snap_free(m);

	m = snap("@mi", MAPV_MIN);
	add(m, T(1, I(1)), I(5));
	add(m, T(1, I(2)), I(-3));
	add(m, T(1, I(3)), I(2));
	check_map(m, 0, 0, T_min_values, J_min_values, "min_values_sorted_by_value");
	snap_free(m);

	m = snap("@su", MAPV_SUM);
	add(m, T(1, I(1)), I(5));
	add(m, T(1, I(2)), I(-3));
	add(m, T(1, I(3)), I(2));
	check_map(m, 0, 0, T_sum_values, J_sum_values, "sum_values_sorted_signed_by_value");
	snap_free(m);

	/* equal counts keep the caller's order (bpftrace: kernel iteration order) */
	m = snap("@c", MAPV_COUNT);
	add(m, T(1, S("z")), U(1));
	add(m, T(1, S("y")), U(1));
	add(m, T(1, S("x")), U(1));
	check_map(m, 0, 0, "@c[z]: 1\n@c[y]: 1\n@c[x]: 1\n",
		  "{\"type\": \"map\", \"data\": {\"@c\": {\"z\": 1, \"y\": 1, \"x\": 1}}}\n",
		  "equal_counts_keep_the_given_order");
	snap_free(m);

	m = snap("@c", MAPV_COUNT);
	add(m, T(1, I(1)), U(UINT64_MAX));
	add(m, T(1, I(2)), U(3));
	check_map(m, 0, 0, "@c[2]: 3\n@c[1]: 18446744073709551615\n", NULL,
		  "unsigned_counts_compare_unsigned");
	snap_free(m);

	/* keys are 64-bit in bpftrace and print signed */
	m = snap("@a", MAPV_PLAIN);
	add(m, T(1, U(3)), I(2));
	add(m, T(1, U(UINT64_MAX)), I(1));
	check_map(m, 0, 0, T_uint_key_prints_signed, J_uint_key_prints_signed,
		  "u64_key_prints_signed");
	snap_free(m);

	m = snap("@b", MAPV_PLAIN);
	add(m, T(1, U(4294967295u)), I(5));
	check_map(m, 0, 0, T_u32_key, J_u32_key, "u32_key_zero_extended");
	snap_free(m);

	m = snap("@c", MAPV_PLAIN);
	add(m, T(2, I(-3), S("x")), U(UINT64_MAX));
	check_map(m, 0, 0, T_int8_and_str_key_u64_value, J_int8_and_str_key_u64_value,
		  "negative_small_int_key_and_u64_value");
	snap_free(m);

	m = snap("@e", MAPV_PLAIN);
	add(m, T(1, S("\xc3\xa9\t")), I(1));
	check_map(m, 0, 0, T_utf8_tab_key, J_utf8_tab_key, "json_key_escapes_tab_keeps_utf8");
	snap_free(m);

	m = snap("@e", MAPV_PLAIN);
	add(m, T(1, I(-5)), I(1));
	check_map(m, 0, 0, T_negative_key, J_negative_key, "negative_int_key");
	snap_free(m);
}

static struct map_snapshot *sum_map(void)
{
	struct map_snapshot *m = snap("@a", MAPV_SUM);

	add(m, T(1, I(1)), I(100));
	add(m, T(1, I(2)), I(250));
	add(m, T(1, I(3)), I(-35));
	add(m, T(1, I(4)), I(17));
	return m;
}

static void test_top_div(void)
{
	struct map_snapshot *m;

	m = sum_map();
	check_map(m, 2, 10, T_sum_top2_div10, J_sum_top2_div10, "print_top_2_div_10");
	check_map(m, 0, 10, T_sum_div10, J_sum_div10, "print_div_10_truncates_toward_zero");
	check_map(m, 3, 0, T_sum_top3, J_sum_top3, "print_top_3_keeps_largest");
	check_map(m, 9, 1, T_sum_all, J_sum_all, "top_above_size_prints_all");
	snap_free(m);

	m = snap("@h", MAPV_HIST);
	add_hist(m, T(1, I(1)), 65, 3, (uint64_t)1, -1);
	add_hist(m, T(1, I(2)), 65, 4, (uint64_t)2, -1);
	add_hist(m, T(1, I(3)), 65, 2, (uint64_t)3, -1);
	check_map(m, 2, 2, T_hist_top2_div2, J_hist_top2_div2, "hist_top_2_div_2");
	snap_free(m);

	m = snap("@v", MAPV_AVG);
	add_stats(m, T(1, I(1)), 1, 100);
	add_stats(m, T(1, I(2)), 1, 50);
	check_map(m, 1, 10, T_avg_top1_div10, J_avg_top1_div10, "avg_top_1_div_10");
	snap_free(m);

	m = snap("@s", MAPV_STATS);
	add_stats(m, T(1, I(1)), 1, 100);
	add_stats(m, T(1, I(2)), 1, 50);
	check_map(m, 1, 10, T_stats_top_div_ignored, J_stats_top_div_ignored,
		  "stats_ignore_top_and_div");
	snap_free(m);

	m = snap("@l", MAPV_LHIST);
	lhist_bounds(m, 0, 10, 1);
	add_hist(m, T(1, I(1)), 12, 6, (uint64_t)1, -1);
	add_hist(m, T(1, I(2)), 12, 6, (uint64_t)2, -1);
	check_map(m, 1, 2, T_lhist_top1_div_ignored, J_lhist_top1_div_ignored,
		  "lhist_top_1_ignores_div");
	snap_free(m);

	m = snap("@t", MAPV_PLAIN);
	add(m, T(0), T(2, I(100), S("x")));
	check_map(m, 0, 10, "@t: (10, x)\n", "{\"type\": \"map\", \"data\": {\"@t\": [10,\"x\"]}}\n",
		  "div_applies_inside_tuples");
	snap_free(m);
}

static void test_values(void)
{
	struct map_snapshot *m;
	struct val v;

	m = snap("@a", MAPV_PLAIN);
	add(m, T(1, S("q\"x")), S("v\"1"));
	check_map(m, 0, 0, T_str_with_quotes, J_str_with_quotes, "quotes_raw_in_text_escaped_in_json");
	snap_free(m);

	m = snap("@n", MAPV_PLAIN);
	add(m, T(0), T(3, I(1), T(2, I(2), S("b")), S("c")));
	check_map(m, 0, 0, T_nested_tuple, J_nested_tuple, "nested_tuple");
	snap_free(m);

	/* kstack(3) keys: frames indented by 4, closing bracket on its own line */
	m = snap("@", MAPV_COUNT);
	add(m, T(1, stack("damon_pa_batch_lock+39\ndamon_pa_check_accesses+414\nkdamond_fn+1715\n")),
	    U(1));
	add(m, T(1, stack("")), U(1));
	add(m, T(1, stack("pv_native_safe_halt+11\ndefault_idle+5\ndefault_enter_idle+27")), U(98));
	check_map(m, 0, 0, T_stack_keys, NULL, "stack_keys_one_frame_per_line");
	snap_free(m);

	m = snap("@", MAPV_COUNT);
	add(m, T(1, stack("pv_native_safe_halt+11\ndefault_idle+5\n")), U(99));
	check_map(m, 0, 0, NULL, "{\"type\": \"map\", \"data\": {\"@\": {\"\\n    pv_native_safe_halt+11\\n    default_idle+5\\n\": 99}}}\n",
		  "stack_key_in_json_keeps_newlines_and_indent");
	snap_free(m);

	m = snap("@u", MAPV_COUNT);
	add(m, T(2, stack("0x7ff09f857b51\n0x7ff09f81e9ec\n"), I(5)), U(1));
	add(m, T(2, stack(""), I(5)), U(99));
	check_map(m, 0, 0, T_ustack_multikey,
		  "{\"type\": \"map\", \"data\": {\"@u\": {\"\\n    0x7ff09f857b51\\n    0x7ff09f81e9ec\\n,5\": 1, \",5\": 99}}}\n",
		  "stack_and_int_keys");
	snap_free(m);

	/* stack values: indented by 8, entries not separated */
	m = snap("@v", MAPV_PLAIN);
	add(m, T(1, I(1)), stack("damon_pa_batch_lock+39\ndamon_pa_check_accesses+414\n"));
	add(m, T(1, I(0)), stack("pv_native_safe_halt+11\ndefault_idle+5\n"));
	check_map(m, 0, 0, T_stack_values, NULL, "stack_values_indented_by_8");
	snap_free(m);

	m = snap("@v", MAPV_PLAIN);
	add(m, T(1, I(0)), stack("pv_native_safe_halt+11\ndefault_idle+5\n"));
	check_map(m, 0, 0, NULL, "{\"type\": \"map\", \"data\": {\"@v\": {\"0\": \"\\n        pv_native_safe_halt+11\\n        default_idle+5\\n\"}}}\n",
		  "stack_value_in_json");
	snap_free(m);

	/* ntop() values: bpftrace 0.17 does not separate the entries */
	m = snap("@x", MAPV_PLAIN);
	v = S("127.0.0.2");
	v.form = FORM_SYM;
	add(m, T(1, I(2)), v);
	v = S("127.0.0.1");
	v.form = FORM_SYM;
	add(m, T(1, I(1)), v);
	check_map(m, 0, 0, "@x[1]: 127.0.0.1@x[2]: 127.0.0.2\n",
		  "{\"type\": \"map\", \"data\": {\"@x\": {\"1\": \"127.0.0.1\", \"2\": \"127.0.0.2\"}}}\n",
		  "inet_values_not_separated_in_text");
	snap_free(m);

	m = snap("@b", MAPV_PLAIN);
	add(m, T(0), val_buf("ab\x01\xff\n\"\\ z", 9));
	check_map(m, 0, 0, T_buf_value, J_buf_value, "buffer_value_escaped_like_r");
	snap_free(m);

	m = snap("@c", MAPV_PLAIN);
	add(m, T(1, val_buf("ab\x01", 3)), I(1));
	check_map(m, 0, 0, T_buf_key, J_buf_key, "buffer_key_escaped_like_r");
	snap_free(m);
}

static void test_empty_maps(void)
{
	static const enum mapv_kind kinds[] = { MAPV_PLAIN, MAPV_COUNT, MAPV_HIST, MAPV_LHIST };
	struct map_snapshot *m;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(kinds); i++) {
		m = snap("@e", kinds[i]);
		check_map(m, 0, 0, "\n", "", "empty_map_prints_a_blank_line_and_no_json");
		snap_free(m);
	}
	m = snap("@s", MAPV_STATS);
	check_map(m, 0, 0, "\n\n", "", "empty_stats_map_prints_two_blank_lines");
	snap_free(m);
	m = snap("@v", MAPV_AVG);
	check_map(m, 0, 0, "\n\n", "", "empty_avg_map_prints_two_blank_lines");
	snap_free(m);
}

static void test_messages(void)
{
	struct sink s;
	struct val v;
	char *got;

	sink_open(&s, OUTPUT_TEXT);
	ok(output_format(s.o) == OUTPUT_TEXT && output_file(s.o) == s.f,
	   "output_format_and_file_report_what_was_given");
	output_attached(s.o, 1);
	output_attached(s.o, 2);
	output_printf(s.o, "x\n");
	output_text(s.o, "no newline");
	output_message(s.o, "time", "12:00:00\n");
	output_exit_maps_begin(s.o);
	output_lost(s.o, 3);
	v = val_int(5);
	output_value(s.o, &v);
	v = T(2, I(1), S("a"));
	output_value(s.o, &v);
	val_free(&v);
	got = sink_close(&s);
	is_str(got, "Attaching 1 probe...\nAttaching 2 probes...\nx\nno newline12:00:00\n\n\n"
	       "Lost 3 events\n5\n(1, a)\n", "text_messages");
	free(got);

	sink_open(&s, OUTPUT_JSON);
	ok(output_format(s.o) == OUTPUT_JSON, "output_format_json");
	output_attached(s.o, 1);
	output_printf(s.o, "x\n");
	output_message(s.o, "time", "2026\n");
	output_message(s.o, "cat", "hello\n");
	output_message(s.o, "syscall", "sys\n");
	output_exit_maps_begin(s.o);
	output_lost(s.o, 3);
	v = val_int(5);
	output_value(s.o, &v);
	v = T(2, I(1), S("a"));
	output_value(s.o, &v);
	val_free(&v);
	v = S("s");
	output_value(s.o, &v);
	val_free(&v);
	got = sink_close(&s);
	is_str(got,
	       "{\"type\": \"attached_probes\", \"data\": {\"probes\": 1}}\n"
	       "{\"type\": \"printf\", \"data\": \"x\\n\"}\n"
	       "{\"type\": \"time\", \"data\": \"2026\\n\"}\n"
	       "{\"type\": \"cat\", \"data\": \"hello\\n\"}\n"
	       "{\"type\": \"syscall\", \"data\": \"sys\\n\"}\n"
	       "\n\n"
	       "{\"type\": \"lost_events\", \"data\": {\"events\": 3}}\n"
	       "{\"type\": \"value\", \"data\": 5}\n"
	       "{\"type\": \"value\", \"data\": [1,\"a\"]}\n"
	       "{\"type\": \"value\", \"data\": \"s\"}\n", "json_messages");
	free(got);

	sink_open(&s, OUTPUT_JSON);
	output_printf(s.o, "\xc3\xa9 \xc3\xbc\n");
	output_printf(s.o, "tab\there \"q\" back\\ \x01 end\n");
	got = sink_close(&s);
	ok(got && strlen(got) > strlen(J_printf_utf8) &&
	   !strncmp(got, J_printf_utf8, strlen(J_printf_utf8)) &&
	   !strcmp(got + strlen(J_printf_utf8), J_printf_ctrl),
	   "json_printf_escapes_control_bytes_and_passes_utf8");
	free(got);

	sink_open(&s, OUTPUT_JSON);
	output_printf(s.o, "\x80 \xc3 \xc0\xaf \xff\n");
	got = sink_close(&s);
	is_str(got, J_printf_bad_utf8, "json_printf_writes_bytes_that_are_not_utf8_as_u00xx");
	free(got);

	sink_open(&s, OUTPUT_TEXT);
	output_printf(s.o, "\xc3\xa9 \xc3\xbc\n");
	output_printf(s.o, "tab\there \"q\" back\\ \x01 end\n");
	got = sink_close(&s);
	ok(got && !strncmp(got, T_printf_utf8, strlen(T_printf_utf8)) &&
	   !strcmp(got + strlen(T_printf_utf8), T_printf_ctrl), "text_printf_is_raw");
	free(got);
}

int main(void)
{
	test_basic_kinds();
	test_keyed_aggregations();
	test_sorting();
	test_top_div();
	test_values();
	test_empty_maps();
	test_messages();
	return done_testing();
}
