/*
 * infer.c - the types of maps and variables.  A map is global: its key and value types come
 * from every access in every probe, so the first walk only infers them (quietly) and the
 * second checks each access against them.  Strings merge to the largest size seen.
 */
#include "sema_impl.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

/* Same kind of value: ints with ints, strings with strings of any size, equal tuples. */
bool sema_compatible(const struct type *a, const struct type *b)
{
	uint32_t i;

	if (a->kind != b->kind)
		return (a->kind == TYPE_INT && b->kind == TYPE_POINTER) ||
		       (a->kind == TYPE_POINTER && b->kind == TYPE_INT);
	if (a->kind == TYPE_TUPLE) {
		if (a->nfields != b->nfields)
			return false;
		for (i = 0; i < a->nfields; i++)
			if (!sema_compatible(a->fields[i], b->fields[i]))
				return false;
	}
	return true;
}

/* Grow strings (and strings inside tuples) of a to hold b's. */
struct type *sema_merge_types(struct type *a, struct type *b)
{
	uint32_t i;

	if (a->kind == TYPE_STRING && b->kind == TYPE_STRING)
		return b->size > a->size ? b : a;
	if (a->kind == TYPE_TUPLE && b->kind == TYPE_TUPLE && a->nfields == b->nfields) {
		struct type **f = xcalloc(a->nfields, sizeof(*f));
		struct type *r;
		bool changed = false;

		for (i = 0; i < a->nfields; i++) {
			struct type *fa = a->fields[i], *fb = b->fields[i];

			/* tuple ints keep their sizes: the wider of the two holds both */
			if (fa->kind == TYPE_INT && fb->kind == TYPE_INT &&
			    (fb->size > fa->size || (fb->is_signed && !fa->is_signed)))
				f[i] = type_int(MAX(fa->size, fb->size), fa->is_signed || fb->is_signed);
			else
				f[i] = sema_merge_types(fa, fb);
			changed |= f[i] != a->fields[i];
		}
		r = changed ? type_tuple(f, a->nfields) : a;
		free(f);
		return r;
	}
	return a;
}
struct var_info *sema_var_find(struct sema *se, const char *name)
{
	struct var_info *v;

	for (v = se->vars; v; v = v->next)
		if (strcmp(v->name, name) == 0)
			return v;
	return NULL;
}

struct var_info *sema_var_define(struct sema *se, const char *name, struct type *t)
{
	struct var_info *v = types_alloc(sizeof(*v));

	v->name = types_strdup(name);
	v->type = t;
	v->next = se->vars;
	se->vars = v;
	return v;
}

/* How bpftrace names a key part in messages: integers are 64-bit unsigned keys. */
static struct type *key_display(struct type *t)
{
	return t->kind == TYPE_INT ? type_int(8, false) : t;
}

static void key_list(struct strbuf *sb, struct type **parts, uint32_t n)
{
	uint32_t i;

	sb_putc(sb, '[');
	for (i = 0; i < n; i++) {
		if (i)
			sb_puts(sb, ", ");
		type_format(key_display(parts[i]), sb);
	}
	sb_putc(sb, ']');
}

/*
 * @m[($a, $b)]: a tuple key is the multi-key @m[$a, $b] (bpftrace 0.18+ made multi-keys
 * tuples; sonde keeps 0.17's printing of them).  The tuple's elements become the key list;
 * codegen stores the tuple value as the key.
 */
static bool map_tuple_key(struct sema *se, struct node *m)
{
	struct node *tup = m->args, *elems = tup->args;
	bool ok;

	if (!elems->next) {
		sema_error(se, &tup->loc, "a tuple map key needs at least two elements");
		return false;
	}
	m->args = elems;
	ok = sema_map_keys(se, m);
	m->args = tup;
	if (ok) {
		tup->type = m->map->key;
		tup->ival = 1;	/* codegen: the key is this tuple, laid out as the map's key */
	}
	return ok;
}

/* Type the keys of a map access and check them against the map's key. */
bool sema_map_keys(struct sema *se, struct node *m)
{
	struct map_info *mi = m->map;
	uint32_t n = (uint32_t)ast_list_len(m->args), i;
	struct type **parts, **raw;
	struct node *k;
	bool ok = true;

	if (n == 0) {
		if (mi->nkeys && mi->key) {
			sema_error(se, &m->loc, "%s used as a map without an explicit key (scalar map), "
				   "previously used with an explicit key (non-scalar map)", mi->name);
			return false;
		}
		return true;
	}
	if (n == 1 && m->args->kind == N_TUPLE)
		return map_tuple_key(se, m);
	parts = xcalloc(n, sizeof(*parts));
	raw = xcalloc(n, sizeof(*raw));
	for (i = 0, k = m->args; k; k = k->next, i++) {
		struct type *t = sema_expr(se, k);

		if (!t) {
			ok = false;
			continue;
		}
		if (t->kind == TYPE_TUPLE) {
			sema_error(se, &m->loc, "tuple cannot be used as a map key. Try a multi-key "
				   "associative array instead (eg `@map[$1, $2] = ...)`.");
			ok = false;
			continue;
		}
		if (type_is_aggregation(t) || t->kind == TYPE_VOID ||
		    (t->kind == TYPE_RECORD && !sema_resolve_type(t)->rec->complete)) {
			sema_error(se, &k->loc, "%s cannot be used as a map key", type_name(t));
			ok = false;
			continue;
		}
		raw[i] = t;
		parts[i] = sema_storage_type(se, t);
		/* a string key is as wide as the widest string it is given (merge_types), not
		 * strlen: @[comm] hashes and copies 16 bytes, as in bpftrace.  Whole words, so
		 * that a hist bucket or the next key part after it stays aligned. */
		if (t->kind == TYPE_STRING)
			parts[i] = t->size % 8 ? type_string(ALIGN_UP(t->size, 8)) : t;
	}
	if (!ok)
		goto out;
	if (!mi->key_parts) {
		mi->nkeys = n;
		mi->key_parts = types_alloc(n * sizeof(*parts));
		memcpy(mi->key_parts, parts, n * sizeof(*parts));
		mi->key_shown = types_alloc(n * sizeof(*raw));
		memcpy(mi->key_shown, raw, n * sizeof(*raw));
	} else {
		bool same = mi->nkeys == n;

		for (i = 0; same && i < n; i++)
			same = sema_compatible(mi->key_parts[i], parts[i]);
		if (!same) {
			struct strbuf want, got;

			sb_init(&want);
			sb_init(&got);
			key_list(&want, mi->key_shown, mi->nkeys);
			key_list(&got, raw, n);
			sema_error(se, &m->loc, "Argument mismatch for %s: trying to access with "
				   "arguments: %s when map expects arguments: %s", mi->name, got.buf,
				   want.buf);
			sb_free(&want);
			sb_free(&got);
			ok = false;
		} else {
			for (i = 0; i < n; i++)
				mi->key_parts[i] = sema_merge_types(mi->key_parts[i], parts[i]);
		}
	}
	if (ok)
		mi->key = n == 1 ? mi->key_parts[0] : type_tuple(mi->key_parts, n);
out:
	free(parts);
	free(raw);
	return ok;
}

bool sema_map_assign(struct sema *se, struct node *map, struct type *value, const struct loc *loc)
{
	struct map_info *mi = map->map;

	if (!mi->value) {
		mi->value = value;
		return true;
	}
	if (type_is_aggregation(mi->value) || type_is_aggregation(value)) {
		if (mi->value->kind != value->kind) {
			sema_error(se, loc, "Type mismatch for %s: trying to assign value of type '%s' "
				   "when map already contains a value of type '%s'", mi->name,
				   type_name(value), type_name(mi->value));
			return false;
		}
		return true;
	}
	if (!sema_compatible(mi->value, value)) {
		struct strbuf a;

		sb_init(&a);
		type_format(mi->value, &a);
		sema_error(se, loc, "Type mismatch for %s: trying to assign value of type '%s' when "
			   "map already contains a value of type '%s'", mi->name, type_name(value), a.buf);
		sb_free(&a);
		return false;
	}
	mi->value = sema_merge_types(mi->value, value);
	return true;
}
