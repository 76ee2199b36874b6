/*
 * resolve.c - names resolved to what they stand for: a struct to its complete definition, a
 * value to the type it is stored as, $N to its parameter, literal arguments to their values.
 */
#include "sema_impl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cdecl.h"
#include "parser.h"
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

		/* fields keep their sizes: a tuple is laid out like a C struct (bpftrace 0.17) */
		for (i = 0; i < t->nfields; i++)
			f[i] = t->fields[i]->kind == TYPE_INT || t->fields[i]->kind == TYPE_STRING ?
			       t->fields[i] : sema_storage_type(se, t->fields[i]);
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
	if (arg && !sema_fold_str_positional(se, arg))
		return NULL;
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

/*
 * str($N) and str($N + k) are string literals in bpftrace 0.17: the parameter's text (even a
 * number's), k characters in.  So kaddr(str($1)) is a literal and str($1) of "1" is "1".
 */
bool sema_fold_str_positional(struct sema *se, struct node *n)
{
	struct node *a = n->args, *pos = a;
	int64_t skip = 0;
	const char *p;
	size_t len;

	if (n->kind != N_CALL || strcmp(n->str, "str") != 0 || !a || a->next)
		return true;
	if (a->kind == N_BINOP && a->op == PLUS && a->a->kind == N_POSITIONAL &&
	    a->b->kind == N_INT) {
		pos = a->a;
		skip = a->b->ival;
	}
	if (pos->kind != N_POSITIONAL || pos->ival < 1 || skip < 0)
		return true;
	p = pos->ival <= se->s->opts.nparams ? se->s->opts.params[pos->ival - 1] : "";
	len = strlen(p);
	if ((uint64_t)skip > len) {
		sema_error(se, &a->loc, "only addition of a single constant less or equal to the "
			   "length of $%lld (which is %zu) is allowed inside str()",
			   (long long)pos->ival, len);
		return false;
	}
	sema_make_str(n, p + skip);
	ast_free_node(n->args);
	n->args = NULL;
	n->positional = true;
	return true;
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
