/*
 * output_json.c - bpftrace's JSON output: one object per line.
 *
 * {"type": "map"|"hist"|"stats", "data": {"@m": ...}} with the entries of a keyed map as an
 * object whose keys are the key elements joined by "," ("a,2"); tuples are arrays written
 * without spaces; strings escaped as bpftrace escapes them, including its sign-extension
 * of bytes >= 0x80 ("\uffffffc3"), kept so that consumers see the same bytes.  Empty maps
 * print nothing.
 */
#include "output_impl.h"

#include <inttypes.h>
#include <string.h>

#include "format.h"
#include "hist.h"

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 if there is none. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t len, i;
	uint32_t cp;

	if (s[0] < 0xc2 || s[0] > 0xf4)
		return 0;
	len = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : 2;
	if (len > n)
		return 0;
	cp = s[0] & (0x7f >> len);
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	/* overlong forms, UTF-16 surrogates and code points past U+10FFFF are not UTF-8 */
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

static void put_escaped(struct strbuf *sb, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		signed char c = (signed char)s[i];

		/*
		 * JSON text is UTF-8: valid sequences pass through; a byte that is not part of
		 * one (binary data, a truncated str()) is written as \u00XX, its Latin-1 reading,
		 * so that jq and other strict parsers accept every line.
		 */
		if ((unsigned char)c >= 0x80) {
			size_t len = utf8_len((const unsigned char *)s + i, n - i);

			if (len) {
				sb_putn(sb, s + i, len);
				i += len - 1;
			} else {
				sb_printf(sb, "\\u%04x", (unsigned char)c);
			}
			continue;
		}

		switch (c) {
		case '"':
			sb_puts(sb, "\\\"");
			break;
		case '\\':
			sb_puts(sb, "\\\\");
			break;
		case '\n':
			sb_puts(sb, "\\n");
			break;
		case '\r':
			sb_puts(sb, "\\r");
			break;
		case '\t':
			sb_puts(sb, "\\t");
			break;
		default:
			if (c <= 0x1f)
				sb_printf(sb, "\\u%04x", (unsigned)(int)c);
			else
				sb_putc(sb, (char)c);
		}
	}
}

static void put_quoted(struct strbuf *sb, const char *s, size_t n)
{
	sb_putc(sb, '"');
	put_escaped(sb, s, n);
	sb_putc(sb, '"');
}

static void put_value(struct strbuf *sb, const struct val *v, uint64_t div)
{
	struct strbuf t;
	size_t i;

	switch (v->kind) {
	case VAL_INT:
	case VAL_UINT:
		output_put_int(sb, v, div);
		break;
	case VAL_STR:
		if (v->form != FORM_STACK) {
			put_quoted(sb, v->s, strlen(v->s));
			break;
		}
		sb_init(&t);
		output_put_stack(&t, v->s, 8);
		put_quoted(sb, t.buf ? t.buf : "", t.len);
		sb_free(&t);
		break;
	case VAL_BUF:
		sb_init(&t);
		fmt_buf(&t, v->buf.data, v->buf.len, 0);
		put_quoted(sb, t.buf ? t.buf : "", t.len);
		sb_free(&t);
		break;
	case VAL_TUPLE:
		sb_putc(sb, '[');
		for (i = 0; i < v->tuple.n; i++) {
			if (i)
				sb_putc(sb, ',');
			put_value(sb, &v->tuple.elems[i], div);
		}
		sb_putc(sb, ']');
		break;
	case VAL_RECORD:
		/* bpftrace 0.17: { "m": 2, "n": 3 } */
		sb_puts(sb, "{ ");
		for (i = 0; i < v->tuple.n; i++) {
			const char *name = v->rec->fields[i].name;

			if (i)
				sb_puts(sb, ", ");
			put_quoted(sb, name ? name : "", name ? strlen(name) : 0);
			sb_puts(sb, ": ");
			put_value(sb, &v->tuple.elems[i], div);
		}
		sb_puts(sb, " }");
		break;
	case VAL_ARRAY:
		sb_putc(sb, '[');
		for (i = 0; i < v->tuple.n; i++) {
			if (i)
				sb_putc(sb, ',');
			put_value(sb, &v->tuple.elems[i], div);
		}
		sb_putc(sb, ']');
		break;
	default:
		break;
	}
}

static int has_keys(const struct val *key)
{
	return !(key->kind == VAL_NONE || (key->kind == VAL_TUPLE && key->tuple.n == 0));
}

static void put_key(struct strbuf *sb, const struct val *key)
{
	struct strbuf t;
	size_t i;

	sb_init(&t);
	if (key->kind != VAL_TUPLE) {
		output_put_key_elem(&t, key);
	} else {
		for (i = 0; i < key->tuple.n; i++) {
			if (i)
				sb_putc(&t, ',');
			output_put_key_elem(&t, &key->tuple.elems[i]);
		}
	}
	put_quoted(sb, t.buf ? t.buf : "", t.len);
	sb_puts(sb, ": ");
	sb_free(&t);
}

static void json_map(struct output *o, const struct map_snapshot *m, const size_t *idx, size_t n,
		     uint64_t div)
{
	const char *type = "map";
	struct strbuf sb;
	int keyed;
	size_t j;

	if (!m->n)
		return;
	if (m->kind == MAPV_HIST || m->kind == MAPV_LHIST)
		type = "hist";
	else if (m->kind == MAPV_AVG || m->kind == MAPV_STATS)
		type = "stats";
	keyed = has_keys(&m->entries[0].key);
	sb_init(&sb);
	sb_printf(&sb, "{\"type\": \"%s\", \"data\": {", type);
	put_quoted(&sb, m->name, strlen(m->name));
	sb_puts(&sb, ": ");
	if (keyed)
		sb_putc(&sb, '{');
	for (j = 0; j < n; j++) {
		const struct map_entry *e = &m->entries[idx[j]];

		if (j)
			sb_puts(&sb, ", ");
		if (keyed)
			put_key(&sb, &e->key);
		switch (m->kind) {
		case MAPV_HIST:
			hist_log2_json(&sb, e->buckets, e->nbuckets, div);
			break;
		case MAPV_LHIST:
			hist_lin_json(&sb, e->buckets, e->nbuckets, m->lhist_min, m->lhist_max,
				      m->lhist_step);
			break;
		case MAPV_AVG:
			sb_printf(&sb, "%" PRId64, output_average(e) / (int64_t)div);
			break;
		case MAPV_STATS:
			sb_printf(&sb, "{\"count\": %" PRIu64 ", \"average\": %" PRId64
				  ", \"total\": %" PRId64 "}", e->count, output_average(e), e->total);
			break;
		default:
			put_value(&sb, &e->value, div);
			break;
		}
	}
	if (keyed)
		sb_putc(&sb, '}');
	sb_puts(&sb, "}}\n");
	fwrite(sb.buf, 1, sb.len, o->f);
	sb_free(&sb);
}

static void json_attached(struct output *o, unsigned nprobes)
{
	fprintf(o->f, "{\"type\": \"attached_probes\", \"data\": {\"probes\": %u}}\n", nprobes);
}

static void json_message(struct output *o, const char *type, const char *text)
{
	struct strbuf sb;

	sb_init(&sb);
	sb_printf(&sb, "{\"type\": \"%s\", \"data\": ", type);
	put_quoted(&sb, text, strlen(text));
	sb_puts(&sb, "}\n");
	fwrite(sb.buf, 1, sb.len, o->f);
	sb_free(&sb);
}

static void json_value(struct output *o, const struct val *v)
{
	struct strbuf sb;

	sb_init(&sb);
	sb_puts(&sb, "{\"type\": \"value\", \"data\": ");
	put_value(&sb, v, 1);
	sb_puts(&sb, "}\n");
	fwrite(sb.buf, 1, sb.len, o->f);
	sb_free(&sb);
}

static void json_lost(struct output *o, uint64_t nevents)
{
	fprintf(o->f, "{\"type\": \"lost_events\", \"data\": {\"events\": %" PRIu64 "}}\n",
		nevents);
}

static void json_helper_error(struct output *o, const char *helper, int64_t ret, int line,
			      int col, const char *text)
{
	fprintf(o->f, "{\"type\": \"helper_error\", \"helper\": \"%s\", \"retcode\": %" PRId64
		", \"line\": %d, \"col\": %d}\n", helper, ret, line, col);
}

static void json_exit_maps_begin(struct output *o)
{
	fputs("\n\n", o->f);
}

const struct output_ops output_json_ops = {
	.attached = json_attached,
	.message = json_message,
	.value = json_value,
	.map = json_map,
	.lost = json_lost,
	.helper_error = json_helper_error,
	.exit_maps_begin = json_exit_maps_begin,
};
