/*
 * access.c - expressions that read into a value: s.f and p->f, t.N, a[i], casts, sizeof and
 * offsetof.  Where the value lives (kernel, user, the probe's context or a copy on the BPF
 * stack) follows the result's type (its address space), so codegen knows how to read it.
 */
#include "sema_impl.h"

#include <string.h>

#include "runtime/dwarf_types.h"

#include "builtins/builtins.h"

struct type *sema_field(struct sema *se, struct node *n)
{
	struct type *base = sema_expr(se, n->a);
	struct record *rec;
	enum addrspace as;
	const struct field *f;
	struct type *ft;
	uint32_t off;

	if (!base)
		return NULL;
	base = sema_resolve_type(base);
	if (base->kind == TYPE_POINTER && base->elem) {
		struct type *e = sema_resolve_type(base->elem);

		if (e->kind != TYPE_RECORD) {
			sema_error(se, &n->loc, "Can not access field '%s' on type '%s'", n->str,
				   type_name(base));
			return NULL;
		}
		/* p.field on a pointer reads through it, as -> does (bpftrace 0.21+) */
		rec = e->rec;
		as = base->as ? base->as : se->ops->as;
	} else if (base->kind == TYPE_RECORD) {
		if (n->arrow) {
			sema_error(se, &n->loc, "Can not use the -> operator on type '%s', use . instead",
				   type_name(base));
			return NULL;
		}
		rec = base->rec;
		as = base->as ? base->as : se->ops->as;
	} else if (base->kind == TYPE_TUPLE) {
		sema_error(se, &n->loc, "Tuples must be indexed with a constant and non-negative integer");
		return NULL;
	} else {
		sema_error(se, &n->loc, "Can not access field '%s' on expression of type '%s'", n->str,
			   type_name(base));
		return NULL;
	}
	if (!rec->complete) {
		sema_error(se, &n->loc, "Unknown struct/union: '%s %s'", rec->is_union ? "union" : "struct",
			   rec->name);
		return NULL;
	}
	f = record_find_field(rec, n->str, &off);
	if (f && as == AS_CTX) {
		/* every tracepoint of the probe must have the field, with the same kind of type */
		for (size_t k = 0; k < se->probe->nall_args; k++) {
			struct record *r = se->probe->all_args[k];
			const struct field *g = record_find_field(r, n->str, &off);

			if (!g || g->type->kind != f->type->kind || g->data_loc != f->data_loc) {
				rec = r;
				f = NULL;
				break;
			}
		}
		record_find_field(se->probe->args, n->str, &off);
	}
	if (!f && as == AS_CTX && strcmp(rec->name, DWARF_ARGS_RECORD) == 0) {
		sema_error(se, &n->loc, "Can't find function parameter %s%s", n->str,
			   dwarf_types_missing_param(rec, n->str));
		return NULL;
	}
	if (!f) {
		sema_error(se, &n->loc, "Struct/union of type '%s %s' does not contain a field "
			   "named '%s'", rec->is_union ? "union" : "struct", rec->name, n->str);
		return NULL;
	}
	n->field = f;
	n->field_offset = off;
	ft = sema_resolve_type(f->type);
	if (f->data_loc)
		return type_string(se->s->opts.strlen);
	if (ft->kind == TYPE_RECORD || ft->kind == TYPE_ARRAY)
		return type_with_as(ft, as == AS_CTX ? AS_KERNEL : as);
	if (ft->kind == TYPE_STRING)
		return ft;
	if (ft->kind == TYPE_POINTER) {
		/* A pointer read from user memory points to user memory. */
		if (as == AS_USER)
			return type_with_as(ft, AS_USER);
		/* a pointer inside a struct value points where the probe's memory is */
		if (as == AS_SCRATCH)
			return type_with_as(ft, se->ops->as);
		return ft->as ? ft : type_with_as(ft, as == AS_CTX ? se->ops->as : as);
	}
	return ft;
}

struct type *sema_tuple_index(struct sema *se, struct node *n)
{
	struct type *a = sema_expr(se, n->a);

	if (!a)
		return NULL;
	if (a->kind != TYPE_TUPLE) {
		sema_error(se, &n->loc, "Can not access index '%lld' on expression of type '%s'",
			   (long long)n->ival, type_name(a));
		return NULL;
	}
	if (n->ival < 0 || (uint64_t)n->ival >= a->nfields) {
		sema_error(se, &n->loc, "Invalid tuple index: %lld. Found %u elements in tuple.",
			   (long long)n->ival, a->nfields);
		return NULL;
	}
	return a->fields[n->ival];
}

struct type *sema_index(struct sema *se, struct node *n)
{
	struct type *a = sema_expr(se, n->a), *i = sema_expr(se, n->b), *t;

	if (!a || !i)
		return NULL;
	if (i->kind != TYPE_INT) {
		sema_error(se, &n->b->loc, "The array index operator [] only accepts integer "
			   "indices");
		return NULL;
	}
	if (a->kind == TYPE_ARRAY) {
		int64_t idx;

		if (a->as == AS_SCRATCH && !sema_const_int(se, n->b, &idx)) {
			sema_error(se, &n->b->loc, "the index of an array value must be an integer "
				   "literal");
			return NULL;
		}
		if (sema_const_int(se, n->b, &idx) && (idx < 0 || (uint64_t)idx >= a->nelems)) {
			sema_error(se, &n->loc, "the index %lld is out of bounds for array of size %u",
				   (long long)idx, a->nelems);
			return NULL;
		}
		t = sema_resolve_type(a->elem);
		if (t->kind == TYPE_RECORD || t->kind == TYPE_ARRAY)
			t = type_with_as(t, a->as);
	} else if (a->kind == TYPE_POINTER) {
		t = sema_resolve_type(a->elem);
		if (t->kind == TYPE_VOID) {
			sema_error(se, &n->loc, "Can not index a pointer to void");
			return NULL;
		}
		if (t->kind == TYPE_RECORD || t->kind == TYPE_ARRAY)
			t = type_with_as(t, a->as ? a->as : se->ops->as);
	} else if (a->kind == TYPE_STRING) {
		int64_t idx;

		if (sema_const_int(se, n->b, &idx) && (idx < 0 || (uint64_t)idx >= a->size)) {
			sema_error(se, &n->loc, "the index %lld is out of bounds for array of size %u",
				   (long long)idx, a->size);
			return NULL;
		}
		t = type_int(1, true);
	} else {
		sema_error(se, &n->loc, "The array index operator [] can only be used on arrays "
			   "and pointers, found %s", type_name(a));
		return NULL;
	}
	return t;
}

struct type *sema_cast(struct sema *se, struct node *n)
{
	struct type *a = sema_expr(se, n->a), *t = sema_resolve_type(n->cast_type);

	if (!a)
		return NULL;
	if (t->kind == TYPE_POINTER) {
		struct type *e = t->elem;

		if (e->kind == TYPE_RECORD && !e->rec->complete) {
			sema_error(se, &n->loc, "Unknown struct/union: '%s %s'",
				   e->rec->is_union ? "union" : "struct", e->rec->name);
			return NULL;
		}
		if (a->kind != TYPE_INT && a->kind != TYPE_POINTER) {
			sema_error(se, &n->loc, "Cannot cast from \"%s\" to \"%s\"", type_name(a),
				   type_name(t));
			return NULL;
		}
		/* ctx is the probe's own context (pt_regs, ...): kernel memory in every probe */
		if (n->a->kind == N_IDENT && n->a->builtin && strcmp(n->a->builtin->name, "ctx") == 0)
			return type_with_as(t, AS_KERNEL);
		return type_with_as(t, a->kind == TYPE_POINTER && a->as ? a->as : se->ops->as);
	}
	if (t->kind == TYPE_INT) {
		if (a->kind != TYPE_INT && a->kind != TYPE_POINTER) {
			sema_error(se, &n->loc, "Casts are not supported for type: \"%s\"", type_name(a));
			return NULL;
		}
		if (n->a->is_const) {
			uint64_t v = (uint64_t)n->a->ival;

			n->is_const = true;
			if (t->size < 8)
				v &= (1ULL << (t->size * 8)) - 1;
			if (t->is_signed && t->size < 8 && (v >> (t->size * 8 - 1)) & 1)
				v |= ~((1ULL << (t->size * 8)) - 1);
			n->ival = (int64_t)v;
		}
		return t;
	}
	sema_error(se, &n->loc, "Cannot cast to \"%s\"", type_name(t));
	return NULL;
}

struct type *sema_sizeof(struct sema *se, struct node *n)
{
	if (n->cast_type) {
		struct type *ct = sema_resolve_type(n->cast_type);

		if (ct->kind == TYPE_RECORD && !ct->rec->complete) {
			sema_error(se, &n->loc, "Unknown identifier: '%s %s'",
				   ct->rec->is_union ? "union" : "struct", ct->rec->name);
			return NULL;
		}
		n->ival = ct->size;
	} else {
		struct type *at = sema_expr(se, n->a);

		if (!at)
			return NULL;
		n->ival = at->size;
	}
	n->is_const = true;
	return type_int(8, false);
}

struct type *sema_offsetof(struct sema *se, struct node *n)
{
	struct type *ct = sema_resolve_type(n->cast_type);
	uint32_t off;

	if (ct->kind != TYPE_RECORD || !ct->rec->complete) {
		sema_error(se, &n->loc, "offsetof() requires a known struct or union type");
		return NULL;
	}
	if (!record_find_field(ct->rec, n->str, &off)) {
		sema_error(se, &n->loc, "'%s %s' has no field named '%s'",
			   ct->rec->is_union ? "union" : "struct", ct->rec->name, n->str);
		return NULL;
	}
	n->ival = off;
	n->is_const = true;
	return type_int(8, false);
}
