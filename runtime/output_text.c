/*
 * output_text.c - bpftrace's human-readable layout.
 *
 * A map is its entries joined by newlines and one more newline at the end, so an empty map
 * prints an empty line; avg/stats maps end with a second newline, hist/lhist entries carry
 * their own trailing row newline.  Maps whose values are of FORM_SYM or FORM_STACK (stacks,
 * ksym/usym/ntop text) are joined with nothing at all (bpftrace 0.17 does that; stack text
 * ends with a newline).
 */
#include "output_impl.h"

#include <inttypes.h>

#include "format.h"
#include "hist.h"

static void put_value(struct strbuf *sb, const struct val *v, uint64_t div)
{
	size_t i;

	switch (v->kind) {
	case VAL_INT:
	case VAL_UINT:
		output_put_int(sb, v, div);
		break;
	case VAL_STR:
		if (v->form == FORM_STACK)
			output_put_stack(sb, v->s, 8);
		else
			sb_puts(sb, v->s);
		break;
	case VAL_BUF:
		fmt_buf(sb, v->buf.data, v->buf.len, 0);
		break;
	case VAL_TUPLE:
		sb_putc(sb, '(');
		for (i = 0; i < v->tuple.n; i++) {
			if (i)
				sb_puts(sb, ", ");
			put_value(sb, &v->tuple.elems[i], div);
		}
		sb_putc(sb, ')');
		break;
	case VAL_RECORD:
		/* bpftrace 0.17: "{ .m = 2, .n = 3 }" */
		sb_puts(sb, "{ ");
		for (i = 0; i < v->tuple.n; i++) {
			const char *name = v->rec->fields[i].name;

			if (i)
				sb_puts(sb, ", ");
			sb_printf(sb, ".%s = ", name ? name : "");
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

static void put_key(struct strbuf *sb, const char *name, const struct val *key)
{
	size_t i;

	sb_puts(sb, name);
	if (key->kind == VAL_NONE || (key->kind == VAL_TUPLE && key->tuple.n == 0))
		return;
	sb_putc(sb, '[');
	if (key->kind != VAL_TUPLE) {
		output_put_key_elem(sb, key);
	} else {
		for (i = 0; i < key->tuple.n; i++) {
			if (i)
				sb_puts(sb, ", ");
			output_put_key_elem(sb, &key->tuple.elems[i]);
		}
	}
	sb_putc(sb, ']');
}

static void text_map(struct output *o, const struct map_snapshot *m, const size_t *idx, size_t n,
		     uint64_t div)
{
	const char *delim = "\n";
	struct strbuf sb;
	size_t j;

	if (m->n && m->kind == MAPV_PLAIN && m->entries[0].value.kind == VAL_STR &&
	    m->entries[0].value.form != FORM_TEXT)
		delim = "";
	sb_init(&sb);
	for (j = 0; j < n; j++) {
		const struct map_entry *e = &m->entries[idx[j]];

		if (j)
			sb_puts(&sb, delim);
		put_key(&sb, m->name, &e->key);
		sb_puts(&sb, ": ");
		switch (m->kind) {
		case MAPV_HIST:
			sb_putc(&sb, '\n');
			hist_log2_text(&sb, e->buckets, e->nbuckets, div);
			break;
		case MAPV_LHIST:
			sb_putc(&sb, '\n');
			hist_lin_text(&sb, e->buckets, e->nbuckets, m->lhist_min, m->lhist_max,
				      m->lhist_step);
			break;
		case MAPV_AVG:
			sb_printf(&sb, "%" PRId64, output_average(e) / (int64_t)div);
			break;
		case MAPV_STATS:
			sb_printf(&sb, "count %" PRIu64 ", average %" PRId64 ", total %" PRId64,
				  e->count, output_average(e), e->total);
			break;
		default:
			put_value(&sb, &e->value, div);
			break;
		}
	}
	sb_putc(&sb, '\n');
	if (m->kind == MAPV_AVG || m->kind == MAPV_STATS)
		sb_putc(&sb, '\n');
	fwrite(sb.buf ? sb.buf : "", 1, sb.len, o->f);
	sb_free(&sb);
}

static void text_attached(struct output *o, unsigned nprobes)
{
	fprintf(o->f, "Attaching %u probe%s...\n", nprobes, nprobes == 1 ? "" : "s");
}

static void text_message(struct output *o, const char *type, const char *text)
{
	(void)type;
	fputs(text, o->f);
}

static void text_value(struct output *o, const struct val *v)
{
	struct strbuf sb;

	sb_init(&sb);
	put_value(&sb, v, 1);
	sb_putc(&sb, '\n');
	fwrite(sb.buf, 1, sb.len, o->f);
	sb_free(&sb);
}

static void text_lost(struct output *o, uint64_t nevents)
{
	fprintf(o->f, "Lost %" PRIu64 " events\n", nevents);
}

static void text_helper_error(struct output *o, const char *helper, int64_t ret, int line,
			      int col, const char *text)
{
	fputs(text, o->f);
}

static void text_exit_maps_begin(struct output *o)
{
	fputs("\n\n", o->f);
}

const struct output_ops output_text_ops = {
	.attached = text_attached,
	.message = text_message,
	.value = text_value,
	.map = text_map,
	.lost = text_lost,
	.helper_error = text_helper_error,
	.exit_maps_begin = text_exit_maps_begin,
};
