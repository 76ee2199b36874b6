/* value.c - constructors, copy and release of decoded values (see value.h). */
#include "value.h"

#include <stdlib.h>
#include <string.h>

#include "common/util.h"

void val_free(struct val *v)
{
	size_t i;

	switch (v->kind) {
	case VAL_STR:
		free(v->s);
		break;
	case VAL_TUPLE:
	case VAL_RECORD:
	case VAL_ARRAY:
		for (i = 0; i < v->tuple.n; i++)
			val_free(&v->tuple.elems[i]);
		free(v->tuple.elems);
		break;
	case VAL_BUF:
		free(v->buf.data);
		break;
	default:
		break;
	}
	memset(v, 0, sizeof(*v));
}

struct val val_int(int64_t i)
{
	return (struct val){ .kind = VAL_INT, .i = i };
}

struct val val_uint(uint64_t u)
{
	return (struct val){ .kind = VAL_UINT, .u = u };
}

struct val val_str(const char *s)
{
	return val_str_own(xstrdup(s));
}

struct val val_str_own(char *s)
{
	return (struct val){ .kind = VAL_STR, .s = s };
}

struct val val_buf(const void *data, size_t len)
{
	struct val v = { .kind = VAL_BUF };

	v.buf.data = xmalloc(len);
	if (len)
		memcpy(v.buf.data, data, len);
	v.buf.len = len;
	return v;
}

struct val val_tuple(size_t n)
{
	struct val v = { .kind = VAL_TUPLE };

	v.tuple.elems = xcalloc(n, sizeof(struct val));
	v.tuple.n = n;
	return v;
}

struct val val_elems(enum val_kind kind, size_t n)
{
	struct val v = val_tuple(n);

	v.kind = kind;
	return v;
}

struct val val_copy(const struct val *v)
{
	struct val c = *v;
	size_t i;

	switch (v->kind) {
	case VAL_STR:
		c.s = xstrdup(v->s);
		break;
	case VAL_TUPLE:
	case VAL_RECORD:
	case VAL_ARRAY:
		c.tuple.elems = xcalloc(v->tuple.n, sizeof(struct val));
		for (i = 0; i < v->tuple.n; i++)
			c.tuple.elems[i] = val_copy(&v->tuple.elems[i]);
		break;
	case VAL_BUF:
		c.buf.data = xmalloc(v->buf.len);
		if (v->buf.len)
			memcpy(c.buf.data, v->buf.data, v->buf.len);
		break;
	default:
		break;
	}
	return c;
}
