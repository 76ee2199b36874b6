/*
 * resolve.c - names resolved to what they stand for: a struct to its complete definition, a
 * value to the type it is stored as, $N to its parameter, literal arguments to their values.
 */
#include "sema_impl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cdecl.h"
#include "runtime/btf.h"
#include "runtime/dwarf_types.h"
#include "util.h"

/* ---- types and records ---------------------------------------------------------------- */

/*
 * A struct the script itself defines wins over the kernel's BTF for that script, as in
 * bpftrace (runqlen.bt's struct cfs_rq); headers only give constants, so BTF still wins over
 * what an #include'd header would define.
 */
static struct record *resolve_record(struct record *rec)
{
	struct record *r = NULL;

	if (cdecl_find_record(rec->name, rec->is_union, &r) == 0 && r && r->complete)
		return r;
	if (rec->complete)
		return rec;
	/* in a uprobe, the traced binary's DWARF knows the program's own types */
	if (dwarf_types_find_record(rec->name, rec->is_union, &r) == 0 && r && r->complete)
		return r;
	if (btf_find_record(rec->name, rec->is_union, &r) == 0 && r && r->complete)
		return r;
	return rec;
}

struct type *sema_resolve_type(struct type *t)
{
	if (!t)
		return t;
	if (t->kind == TYPE_RECORD) {
		struct record *r = resolve_record(t->rec);

		if (r != t->rec) {
			struct type *c = type_with_as(t, t->as);

			c->rec = r;
			c->size = r->size;
			return c;
		}
	} else if (t->kind == TYPE_POINTER && t->elem) {
		struct type *e = sema_resolve_type(t->elem);

		if (e != t->elem) {
			struct type *c = type_with_as(t, t->as);

			c->elem = e;
			return c;
		}
	}
	return t;
}

struct type *sema_storage_type(struct sema *se, struct type *t)
{
	uint32_t i;

	if (!t)
		return NULL;
	switch (t->kind) {
	case TYPE_INT:
		return t->size == 8 ? t : type_int(8, t->is_signed);
	case TYPE_STRING:
		return t->size >= se->s->opts.strlen ? t : type_string(se->s->opts.strlen);
	case TYPE_RECORD:
	case TYPE_ARRAY:
		/* a struct or array value is copied out of traced memory when stored */
		t = sema_resolve_type(t);
		return t->as == AS_SCRATCH ? t : type_with_as(t, AS_SCRATCH);
	case TYPE_TUPLE: {
		struct type **f = xcalloc(t->nfields, sizeof(*f));
		struct type *r;

		for (i = 0; i < t->nfields; i++)
			f[i] = sema_storage_type(se, t->fields[i]);
		r = type_tuple(f, t->nfields);
		free(f);
		return r;
	}
	default:
		return t;
	}
}

/* ---- constants ------------------------------------------------------------------------- */

bool sema_const_int(struct sema *se, struct node *n, int64_t *v)
{
	(void)se;
	if (n->kind == N_INT || n->is_const) {
		*v = n->ival;
		return true;
	}
	return false;
}

const char *sema_literal_str(struct sema *se, struct node *call, struct node *arg)
{
	if (arg && arg->kind == N_POSITIONAL)
		sema_expr(se, arg);
	if (!arg || arg->kind != N_STR) {
		struct type *t = arg ? sema_expr(se, arg) : NULL;

		if (arg && !t)
			return NULL;
		sema_error(se, &call->loc, "%s() expects a string literal (%s provided)", call->str,
			   type_kind_word(t));
		return NULL;
	}
	return arg->str;
}

bool sema_literal_int(struct sema *se, struct node *call, struct node *arg, int64_t *v)
{
	struct type *t = sema_expr(se, arg);

	if (!t)
		return false;
	if (!sema_const_int(se, arg, v)) {
		sema_error(se, &call->loc, "%s() expects a integer literal (%s provided)", call->str,
			   type_kind_word(t));
		return false;
	}
	return true;
}

bool sema_require_int(struct sema *se, struct node *call, struct node *arg)
{
	struct type *t = sema_expr(se, arg);

	if (!t)
		return false;
	if (t->kind != TYPE_INT && t->kind != TYPE_POINTER) {
		sema_error(se, &call->loc, "%s() only supports integer arguments (%s provided)",
			   call->str, type_kind_word(t));
		return false;
	}
	return true;
}

void sema_make_int(struct node *n, int64_t v)
{
	n->kind = N_INT;
	n->ival = v;
	n->is_const = true;
	n->type = type_int(8, true);
}

void sema_make_str(struct node *n, const char *s)
{
	free(n->str);
	n->kind = N_STR;
	n->str = xstrdup(s);
	n->slen = strlen(s);
}

/* $N: an integer when the parameter is numeric, a string literal otherwise; missing is 0/"". */
void sema_resolve_positional(struct sema *se, struct node *n)
{
	const char *p = n->ival >= 1 && n->ival <= se->s->opts.nparams ?
			se->s->opts.params[n->ival - 1] : NULL;
	char *end;
	long long v;

	if (!p || !*p) {
		if (p)
			sema_make_str(n, "");
		else
			sema_make_int(n, 0);
		return;
	}
	errno = 0;
	v = strtoll(p, &end, 0);
	if (!errno && *end == '\0')
		sema_make_int(n, v);
	else
		sema_make_str(n, p);
	n->positional = true;
}
