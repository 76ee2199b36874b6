/*
 * output.c - the output front: one interface, a text and a JSON backend (output_impl.h).
 *
 * The backends only lay out; deciding which map entries are printed and in what order is
 * done once here, as bpftrace 0.17 does it:
 *   - count/sum/min/max maps and maps of integers: by value, ascending.  bpftrace sorts the
 *     entries in the kernel's iteration order with std::sort, so ties have no order of their
 *     own; we keep the caller's order for them (a stable sort).
 *   - other plain maps: by key, first key element first, integers compared as unsigned
 *     (negative keys come last) and strings bytewise; other key kinds are not compared.
 *   - hist/lhist by total count, avg/stats by average; bpftrace collects these in a std::map
 *     keyed by the raw key bytes first, so ties come in key-byte order (little-endian
 *     integers, NUL-padded strings).
 *   - print(@m, top): only the last `top` entries after sorting (not for stats).
 */
#include "output_impl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "format.h"

struct output *output_new(FILE *f, enum output_format fmt)
{
	struct output *o = xcalloc(1, sizeof(*o));

	o->f = f;
	o->fd = -1;
	o->fmt = fmt;
	o->ops = fmt == OUTPUT_JSON ? &output_json_ops : &output_text_ops;
	return o;
}

/* The stream's write: every byte, or the error kept for the report (errno is gone by then). */
static ssize_t fd_write(void *cookie, const char *buf, size_t size)
{
	struct output *o = cookie;
	size_t done = 0;

	while (done < size) {
		ssize_t n = write(o->fd, buf + done, size - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (!o->err)
				o->err = n < 0 ? errno : EIO;
			return -1;
		}
		done += (size_t)n;
	}
	return (ssize_t)size;
}

/* Large enough for a batch of events: one write(2) each. */
#define OUTPUT_BUFSIZE (1 << 18)

struct output *output_new_fd(int fd, enum output_format fmt, enum output_buffering b)
{
	cookie_io_functions_t io = { .write = fd_write };
	struct output *o = xcalloc(1, sizeof(*o));
	FILE *f;

	o->fd = fd;
	o->buffering = b;
	f = fopencookie(o, "w", io);
	if (!f) {
		fprintf(stderr, "out of memory\n");
		exit(1);
	}
	if (b == OUTPUT_BUF_NONE)
		setvbuf(f, NULL, _IONBF, 0);
	else
		setvbuf(f, NULL, _IOFBF, OUTPUT_BUFSIZE);
	o->f = f;
	o->fmt = fmt;
	o->ops = fmt == OUTPUT_JSON ? &output_json_ops : &output_text_ops;
	return o;
}

void output_free(struct output *o)
{
	if (o->fd >= 0 && o->f) {
		output_flush(o);
		fclose(o->f);
	}
	free(o);
}

int output_batch_end(struct output *o)
{
	if (o->buffering == OUTPUT_BUF_FULL)
		return o->err ? -o->err : 0;
	return output_flush(o);
}

enum output_format output_format(const struct output *o)
{
	return o->fmt;
}

FILE *output_file(const struct output *o)
{
	return o->f;
}

void output_attached(struct output *o, unsigned nprobes)
{
	o->ops->attached(o, nprobes);
}

void output_printf(struct output *o, const char *text)
{
	o->ops->message(o, "printf", text);
}

void output_text(struct output *o, const char *text)
{
	o->ops->message(o, "printf", text);
}

void output_message(struct output *o, const char *type, const char *text)
{
	o->ops->message(o, type, text);
}

void output_value(struct output *o, const struct val *v)
{
	o->ops->value(o, v);
}

void output_helper_error(struct output *o, const char *helper, int64_t ret, int line, int col,
			 const char *text)
{
	o->ops->helper_error(o, helper, ret, line, col, text);
}

void output_lost(struct output *o, uint64_t nevents)
{
	o->ops->lost(o, nevents);
}

void output_exit_maps_begin(struct output *o)
{
	o->ops->exit_maps_begin(o);
}

int output_flush(struct output *o)
{
	bool failed = fflush(o->f) != 0 || ferror(o->f);

	if (failed && !o->err)
		o->err = errno ? errno : EIO;
	clearerr(o->f);
	return o->err ? -o->err : 0;
}

int output_error(const struct output *o)
{
	return o->err;
}

int64_t output_average(const struct map_entry *e)
{
	return e->count ? e->total / (int64_t)e->count : 0;
}

void output_put_int(struct strbuf *sb, const struct val *v, uint64_t div)
{
	if (!div)
		div = 1;
	if (v->kind == VAL_INT)
		sb_printf(sb, "%lld", (long long)(v->i / (int64_t)div));
	else
		sb_printf(sb, "%llu", (unsigned long long)(v->u / div));
}

void output_put_stack(struct strbuf *sb, const char *frames, int indent)
{
	const char *p = frames, *nl;

	/* bpftrace prints nothing at all for a stack it could not look up */
	if (!*p)
		return;
	sb_putc(sb, '\n');
	while (*p) {
		nl = strchr(p, '\n');
		sb_printf(sb, "%*s", indent, "");
		if (!nl) {
			sb_puts(sb, p);
			sb_putc(sb, '\n');
			break;
		}
		sb_putn(sb, p, nl - p + 1);
		p = nl + 1;
	}
}

void output_put_key_elem(struct strbuf *sb, const struct val *k)
{
	size_t i;

	switch (k->kind) {
	case VAL_INT:
	case VAL_UINT:
		/* bpftrace reads integer keys as signed */
		sb_printf(sb, "%lld", (long long)k->i);
		break;
	case VAL_STR:
		if (k->form == FORM_STACK)
			output_put_stack(sb, k->s, 4);
		else
			sb_puts(sb, k->s);
		break;
	case VAL_BUF:
		fmt_buf(sb, k->buf.data, k->buf.len, 0);
		break;
	case VAL_TUPLE:
		sb_putc(sb, '(');
		for (i = 0; i < k->tuple.n; i++) {
			if (i)
				sb_puts(sb, ", ");
			output_put_key_elem(sb, &k->tuple.elems[i]);
		}
		sb_putc(sb, ')');
		break;
	case VAL_RECORD:
		/* in keys bpftrace 0.17 packs records and arrays: "{.m=4,.n=5}", "[1,2]" */
		sb_putc(sb, '{');
		for (i = 0; i < k->tuple.n; i++) {
			const char *name = k->rec->fields[i].name;

			if (i)
				sb_putc(sb, ',');
			sb_printf(sb, ".%s=", name ? name : "");
			output_put_key_elem(sb, &k->tuple.elems[i]);
		}
		sb_putc(sb, '}');
		break;
	case VAL_ARRAY:
		sb_putc(sb, '[');
		for (i = 0; i < k->tuple.n; i++) {
			if (i)
				sb_putc(sb, ',');
			output_put_key_elem(sb, &k->tuple.elems[i]);
		}
		sb_putc(sb, ']');
		break;
	default:
		break;
	}
}

/* --- sorting --- */

typedef int (*cmp_fn)(const struct map_snapshot *m, size_t a, size_t b);

static void merge_sort(const struct map_snapshot *m, size_t *idx, size_t *tmp, size_t n,
		       cmp_fn cmp)
{
	size_t mid = n / 2, i = 0, j, k = 0;

	if (n < 2)
		return;
	merge_sort(m, idx, tmp, mid, cmp);
	merge_sort(m, idx + mid, tmp, n - mid, cmp);
	j = mid;
	while (i < mid && j < n) {
		/* take from the right only when strictly smaller: stable */
		if (cmp(m, idx[j], idx[i]) < 0)
			tmp[k++] = idx[j++];
		else
			tmp[k++] = idx[i++];
	}
	while (i < mid)
		tmp[k++] = idx[i++];
	while (j < n)
		tmp[k++] = idx[j++];
	memcpy(idx, tmp, n * sizeof(*idx));
}

static const struct val *key_elem(const struct val *key, size_t i, size_t *n)
{
	if (key->kind == VAL_TUPLE) {
		*n = key->tuple.n;
		return i < key->tuple.n ? &key->tuple.elems[i] : NULL;
	}
	*n = key->kind == VAL_NONE ? 0 : 1;
	return i == 0 && *n ? key : NULL;
}

static int is_int(const struct val *v)
{
	return v->kind == VAL_INT || v->kind == VAL_UINT;
}

static int cmp_u64(uint64_t a, uint64_t b)
{
	return a < b ? -1 : a > b;
}

static int cmp_i64(int64_t a, int64_t b)
{
	return a < b ? -1 : a > b;
}

/* bpftrace's sort_by_key: integers unsigned, strings (and FORM_TEXT kinds) bytewise, others
 * equal. */
static int cmp_key_elem(const struct val *a, const struct val *b)
{
	if (is_int(a) && is_int(b))
		return cmp_u64(a->u, b->u);
	if (a->kind == VAL_STR && b->kind == VAL_STR && a->form == FORM_TEXT &&
	    b->form == FORM_TEXT)
		return strcmp(a->s, b->s);
	return 0;
}

/* The order of the raw key bytes: integers little-endian, strings NUL-padded. */
static int cmp_key_bytes_elem(const struct val *a, const struct val *b)
{
	int s, c;

	if (is_int(a) && is_int(b)) {
		for (s = 0; s < 64; s += 8) {
			c = cmp_u64((a->u >> s) & 0xff, (b->u >> s) & 0xff);
			if (c)
				return c;
		}
		return 0;
	}
	if (a->kind == VAL_STR && b->kind == VAL_STR)
		return strcmp(a->s, b->s);
	if (a->kind == VAL_BUF && b->kind == VAL_BUF) {
		c = memcmp(a->buf.data, b->buf.data, MIN(a->buf.len, b->buf.len));
		return c ? c : cmp_u64(a->buf.len, b->buf.len);
	}
	return 0;
}

static int cmp_keys_with(const struct val *ka, const struct val *kb,
			 int (*elem)(const struct val *, const struct val *))
{
	size_t na, nb, i;
	const struct val *a, *b;
	int c;

	key_elem(ka, 0, &na);
	key_elem(kb, 0, &nb);
	for (i = 0; i < na && i < nb; i++) {
		a = key_elem(ka, i, &na);
		b = key_elem(kb, i, &nb);
		c = elem(a, b);
		if (c)
			return c;
	}
	return 0;
}

static int cmp_by_key(const struct map_snapshot *m, size_t a, size_t b)
{
	return cmp_keys_with(&m->entries[a].key, &m->entries[b].key, cmp_key_elem);
}

static int cmp_by_key_bytes(const struct map_snapshot *m, size_t a, size_t b)
{
	return cmp_keys_with(&m->entries[a].key, &m->entries[b].key, cmp_key_bytes_elem);
}

static int cmp_by_value(const struct map_snapshot *m, size_t a, size_t b)
{
	const struct val *va = &m->entries[a].value, *vb = &m->entries[b].value;

	if (va->kind == VAL_UINT && vb->kind == VAL_UINT)
		return cmp_u64(va->u, vb->u);
	return cmp_i64(va->i, vb->i);
}

static int64_t bucket_total(const struct map_entry *e)
{
	int64_t sum = 0;
	size_t i;

	for (i = 0; i < e->nbuckets; i++)
		sum += (int64_t)e->buckets[i];
	return sum;
}

static int cmp_by_total(const struct map_snapshot *m, size_t a, size_t b)
{
	return cmp_i64(bucket_total(&m->entries[a]), bucket_total(&m->entries[b]));
}

static int cmp_by_average(const struct map_snapshot *m, size_t a, size_t b)
{
	return cmp_i64(output_average(&m->entries[a]), output_average(&m->entries[b]));
}

void output_map(struct output *o, const struct map_snapshot *m, uint64_t top, uint64_t div)
{
	size_t *idx = xcalloc(m->n, sizeof(*idx)), *tmp = xcalloc(m->n, sizeof(*tmp));
	size_t i, skip = 0;

	for (i = 0; i < m->n; i++)
		idx[i] = i;
	switch (m->kind) {
	case MAPV_HIST:
	case MAPV_LHIST:
		merge_sort(m, idx, tmp, m->n, cmp_by_key_bytes);
		merge_sort(m, idx, tmp, m->n, cmp_by_total);
		break;
	case MAPV_AVG:
	case MAPV_STATS:
		merge_sort(m, idx, tmp, m->n, cmp_by_key_bytes);
		merge_sort(m, idx, tmp, m->n, cmp_by_average);
		break;
	case MAPV_PLAIN:
		if (m->n && !is_int(&m->entries[0].value)) {
			merge_sort(m, idx, tmp, m->n, cmp_by_key);
			break;
		}
		/* integers sort by value */
		__attribute__((fallthrough));
	default:
		merge_sort(m, idx, tmp, m->n, cmp_by_value);
		break;
	}
	if (m->kind == MAPV_STATS)
		top = 0;
	if (top && m->n > top)
		skip = m->n - top;
	if (!div)
		div = 1;
	o->ops->map(o, m, idx + skip, m->n - skip, div);
	free(tmp);
	free(idx);
}
