/* types.c - construction, comparison and naming of sonde types. */
#include "types.h"

#include <stdlib.h>
#include <string.h>

/* Every type, record and name is one block in this list, freed together at exit. */
struct arena_block {
	struct arena_block *next;
	max_align_t data[];
};

static struct arena_block *arena;

void *types_alloc(size_t n)
{
	struct arena_block *b = xcalloc(1, sizeof(*b) + n);

	b->next = arena;
	arena = b;
	return b->data;
}

char *types_strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = types_alloc(n);

	memcpy(p, s, n);
	return p;
}

void types_free_all(void)
{
	while (arena) {
		struct arena_block *b = arena;

		arena = b->next;
		free(b);
	}
}

struct type *type_new(enum type_kind kind)
{
	struct type *t = types_alloc(sizeof(*t));

	t->kind = kind;
	return t;
}

struct type *type_void(void)
{
	return type_new(TYPE_VOID);
}

struct type *type_int(uint32_t size, bool is_signed)
{
	struct type *t = type_new(TYPE_INT);

	t->size = size;
	t->is_signed = is_signed;
	return t;
}

struct type *type_string(uint32_t size)
{
	struct type *t = type_new(TYPE_STRING);

	t->size = size;
	return t;
}

struct type *type_buffer(uint32_t size)
{
	struct type *t = type_new(TYPE_BUFFER);

	t->size = size;
	return t;
}

struct type *type_pointer(struct type *elem, enum addrspace as)
{
	struct type *t = type_new(TYPE_POINTER);

	t->size = 8;
	t->elem = elem;
	t->as = as;
	return t;
}

struct type *type_array(struct type *elem, uint32_t nelems)
{
	struct type *t = type_new(TYPE_ARRAY);

	t->elem = elem;
	t->nelems = nelems;
	t->size = elem->size * nelems;
	return t;
}

struct type *type_record(struct record *rec)
{
	struct type *t = type_new(TYPE_RECORD);

	t->rec = rec;
	t->size = rec->size;
	return t;
}

/* C's natural alignment of a value of type t as sonde lays it out */
static uint32_t type_align(const struct type *t)
{
	uint32_t a = 1, i;

	switch (t->kind) {
	case TYPE_INT:
		return t->size ? t->size : 1;
	case TYPE_STRING:
	case TYPE_BUFFER:
		return 1;
	case TYPE_ARRAY:
		return t->elem ? type_align(t->elem) : 1;
	case TYPE_RECORD:
		for (i = 0; t->rec && i < t->rec->nfields; i++)
			a = MAX(a, type_align(t->rec->fields[i].type));
		return a;
	case TYPE_TUPLE:
		for (i = 0; i < t->nfields; i++)
			a = MAX(a, type_align(t->fields[i]));
		return a;
	default:
		return 8;
	}
}

struct type *type_tuple(struct type **fields, uint32_t n)
{
	struct type *t = type_new(TYPE_TUPLE);
	uint32_t off = 0, maxalign = 1, i;

	t->nfields = n;
	t->fields = types_alloc(n * sizeof(*t->fields));
	t->offsets = types_alloc(n * sizeof(*t->offsets));
	/*
	 * Laid out like a C struct, as bpftrace 0.17 does: sizeof((int8, int16, int32)) is 8.
	 * Fields at offsets that are not multiples of 8 live in scratch memory, map values and
	 * ring buffer records, where the verifier allows misaligned access (never on the stack).
	 */
	for (i = 0; i < n; i++) {
		uint32_t a = type_align(fields[i]);

		off = ALIGN_UP(off, a);
		maxalign = MAX(maxalign, a);
		t->fields[i] = fields[i];
		t->offsets[i] = off;
		off += fields[i]->size;
	}
	t->size = ALIGN_UP(off, maxalign);
	return t;
}

struct type *type_simple(enum type_kind kind)
{
	struct type *t = type_new(kind);

	switch (kind) {
	case TYPE_AVG:
	case TYPE_STATS:
	case TYPE_MIN:
	case TYPE_MAX:
		t->size = 16;
		break;
	case TYPE_VOID:
	case TYPE_NONE:
		t->size = 0;
		break;
	default:
		t->size = 8;
		break;
	}
	return t;
}

struct type *type_with_as(const struct type *t, enum addrspace as)
{
	struct type *c = type_new(t->kind);

	*c = *t;
	c->as = as;
	return c;
}

struct record *record_new(const char *name, bool is_union)
{
	struct record *r = types_alloc(sizeof(*r));

	r->name = types_strdup(name ? name : "");
	r->is_union = is_union;
	return r;
}

struct field *record_add_field(struct record *rec, const char *name, uint32_t offset,
			       struct type *type)
{
	struct field *nf = types_alloc((rec->nfields + 1) * sizeof(*nf));

	if (rec->nfields)
		memcpy(nf, rec->fields, rec->nfields * sizeof(*nf));
	rec->fields = nf;
	nf = &rec->fields[rec->nfields++];
	nf->name = name ? types_strdup(name) : NULL;
	nf->offset = offset;
	nf->type = type;
	return nf;
}

const struct field *record_find_field(const struct record *rec, const char *name,
				      uint32_t *offset)
{
	uint32_t i;

	for (i = 0; i < rec->nfields; i++) {
		const struct field *f = &rec->fields[i];

		if (f->name && strcmp(f->name, name) == 0) {
			*offset = f->offset;
			return f;
		}
	}
	/* C11 anonymous members: search inside, adding their offset. */
	for (i = 0; i < rec->nfields; i++) {
		const struct field *f = &rec->fields[i], *inner;
		uint32_t off;

		if (f->name || f->type->kind != TYPE_RECORD)
			continue;
		inner = record_find_field(f->type->rec, name, &off);
		if (inner) {
			*offset = f->offset + off;
			return inner;
		}
	}
	return NULL;
}

bool type_is_int(const struct type *t)
{
	return t && t->kind == TYPE_INT;
}

bool type_is_aggregation(const struct type *t)
{
	return t && t->kind >= TYPE_COUNT && t->kind <= TYPE_LHIST;
}

bool type_is_aggregate(const struct type *t)
{
	if (t->vk)
		return !t->vk->scalar;
	switch (t->kind) {
	case TYPE_INT:
	case TYPE_POINTER:
	case TYPE_VOID:
	case TYPE_NONE:
		return false;
	default:
		return true;
	}
}

bool type_equal(const struct type *a, const struct type *b)
{
	uint32_t i;

	if (a == b)
		return true;
	if (!a || !b || a->kind != b->kind)
		return false;
	switch (a->kind) {
	case TYPE_INT:
		return a->size == b->size && a->is_signed == b->is_signed;
	case TYPE_STRING:
	case TYPE_BUFFER:
		return a->size == b->size;
	case TYPE_POINTER:
		return type_equal(a->elem, b->elem);
	case TYPE_ARRAY:
		return a->nelems == b->nelems && type_equal(a->elem, b->elem);
	case TYPE_RECORD:
		return a->rec == b->rec ||
		       (a->rec->is_union == b->rec->is_union && strcmp(a->rec->name, b->rec->name) == 0);
	case TYPE_TUPLE:
		if (a->nfields != b->nfields)
			return false;
		for (i = 0; i < a->nfields; i++)
			if (!type_equal(a->fields[i], b->fields[i]))
				return false;
		return true;
	default:
		return true;
	}
}

void type_format(const struct type *t, struct strbuf *sb)
{
	static const char *const simple[] = {
		[TYPE_NONE] = "none",		[TYPE_VOID] = "void",
		[TYPE_COUNT] = "count",		[TYPE_SUM] = "sum",
		[TYPE_MIN] = "min",		[TYPE_MAX] = "max",
		[TYPE_AVG] = "avg",		[TYPE_STATS] = "stats",
		[TYPE_HIST] = "hist",		[TYPE_LHIST] = "lhist",
	};
	const char *name;
	uint32_t i;

	if (!t) {
		sb_puts(sb, "none");
		return;
	}
	switch (t->kind) {
	case TYPE_INT:
		sb_printf(sb, "%sint%u", t->is_signed ? "" : "unsigned ", t->size * 8);
		break;
	case TYPE_STRING:
		sb_printf(sb, "string[%u]", t->size);
		break;
	case TYPE_BUFFER:
		sb_printf(sb, "buffer[%u]", t->size ? t->size - 1 : 0);
		break;
	case TYPE_POINTER:
		type_format(t->elem, sb);
		sb_puts(sb, t->elem && t->elem->kind == TYPE_POINTER ? "*" : " *");
		break;
	case TYPE_ARRAY:
		type_format(t->elem, sb);
		sb_printf(sb, "[%u]", t->nelems);
		break;
	case TYPE_RECORD:
		sb_printf(sb, "%s %s", t->rec->is_union ? "union" : "struct", t->rec->name);
		break;
	case TYPE_TUPLE:
		sb_putc(sb, '(');
		for (i = 0; i < t->nfields; i++) {
			if (i)
				sb_puts(sb, ", ");
			type_format(t->fields[i], sb);
		}
		sb_putc(sb, ')');
		break;
	default:
		name = t->vk ? t->vk->name : t->kind < ARRAY_SIZE(simple) ? simple[t->kind] : NULL;
		sb_puts(sb, name ? name : "?");
		break;
	}
}

/* Four rotating buffers, so one message can name several types. */
const char *type_name(const struct type *t)
{
	static char *bufs[4];
	static unsigned next;
	struct strbuf sb;
	char **slot = &bufs[next++ % 4];

	free(*slot);
	sb_init(&sb);
	type_format(t, &sb);
	*slot = sb_steal(&sb);
	return *slot;
}

const char *type_kind_word(const struct type *t)
{
	switch (t ? t->kind : TYPE_NONE) {
	case TYPE_INT:
	case TYPE_POINTER:
		return "integer";
	case TYPE_STRING:
		return "string";
	case TYPE_BUFFER:
		return "buffer";
	case TYPE_NONE:
		return "none";
	default:
		return type_name(t);
	}
}
