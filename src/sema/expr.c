/*
 * expr.c - typing an expression.  sema_expr() dispatches on the node kind through a table of
 * one function per kind (literals, names, operators, tuples here; reads into values in
 * access.c; calls in call.c).  Each returns the node's type, NULL after an error it reported;
 * integer constants are folded on the way (n->is_const, n->ival).
 */
#include "sema_impl.h"

#include <stdlib.h>
#include <string.h>

#include "builtins/builtins.h"
#include "cdecl.h"
#include "parser.h"
#include "preprocess.h"
#include "runtime/btf.h"
#include "util.h"

/* ---- literals and names ---------------------------------------------------------------- */

static struct type *expr_int(struct sema *se, struct node *n)
{
	(void)se;
	(void)n;
	return type_int(8, true);
}

static struct type *expr_str(struct sema *se, struct node *n)
{
	(void)se;
	return type_string((uint32_t)n->slen + 1);
}

static struct type *expr_positional(struct sema *se, struct node *n)
{
	if (n->ival < 1) {
		sema_error(se, &n->loc, "$%lld is not a valid parameter: they start at $1",
			   (long long)n->ival);
		return NULL;
	}
	sema_resolve_positional(se, n);
	return sema_expr(se, n);
}

static struct type *expr_poscount(struct sema *se, struct node *n)
{
	sema_make_int(n, se->s->opts.nparams);
	return type_int(8, true);
}

static struct type *ident_type(struct sema *se, struct node *n)
{
	const struct builtin *b = builtin_find(n->str);
	const struct pp_macro *m;
	int64_t v;

	if (b) {
		if ((b->where & B_REGS) && !se->ops->has_args) {
			sema_error(se, &n->loc, "The %s builtin can only be used with 'kprobes', 'uprobes' "
				   "and 'usdt' probes", n->str);
			return NULL;
		}
		if ((b->where & B_RETURN) && !se->ops->is_return) {
			sema_error(se, &n->loc, "The retval builtin can only be used with 'kretprobe' and "
				   "'uretprobe' and 'kfunc' probes");
			return NULL;
		}
		n->builtin = b;
		return b->type(se, n);
	}
	if (pp_lookup(n->str, &m) == 0) {
		if (m->kind == PP_STR) {
			sema_make_str(n, m->str);
			return type_string((uint32_t)n->slen + 1);
		}
		sema_make_int(n, m->value);
		return type_int(8, true);
	}
	if (cdecl_find_enum_value(n->str, &v) == 0 || btf_find_enum_value(n->str, &v) == 0) {
		sema_make_int(n, v);
		return type_int(8, true);
	}
	if (strcmp(n->str, "true") == 0 || strcmp(n->str, "false") == 0) {
		/* bpftrace 0.18+'s booleans, as the integers 0.17 prints for a comparison */
		sema_make_int(n, n->str[0] == 't');
		return type_int(8, false);
	}
	sema_error(se, &n->loc, "Unknown identifier: '%s'", n->str);
	return NULL;
}

static struct type *expr_ident(struct sema *se, struct node *n)
{
	struct type *t = ident_type(se, n);

	if (t && n->kind == N_INT)
		n->is_const = true;
	return t;
}

static struct type *expr_var(struct sema *se, struct node *n)
{
	struct var_info *v = sema_var_find(se, n->str);

	if (!v) {
		sema_error(se, &n->loc, "Undefined or undeclared variable: %s", n->str);
		return NULL;
	}
	n->var = v;
	return v->type;
}

static struct type *expr_map(struct sema *se, struct node *n)
{
	struct map_info *mi = script_map(se->s, n->str);

	n->map = mi;
	if (!sema_map_keys(se, n))
		return NULL;
	if (!mi->value) {
		sema_error(se, &n->loc, "Undefined map: %s", n->str);
		return NULL;
	}
	/* an aggregation's value only exists per CPU: its type stays count/sum/..., which
	 * every use then rejects as bpftrace does */
	return mi->value;
}

static struct type *expr_call(struct sema *se, struct node *n)
{
	return sema_call(se, n, false, NULL);
}

/* ---- operators -------------------------------------------------------------------------- */

static bool fold_binop(int op, int64_t a, int64_t b, bool is_signed, int64_t *r)
{
	uint64_t ua = (uint64_t)a, ub = (uint64_t)b;

	switch (op) {
	case PLUS: *r = (int64_t)(ua + ub); return true;
	case MINUS: *r = (int64_t)(ua - ub); return true;
	case MUL: *r = (int64_t)(ua * ub); return true;
	case DIV:
		if (!b)
			return false;
		*r = is_signed ? (b == -1 ? (int64_t)(0 - ua) : a / b) : (int64_t)(ua / ub);
		return true;
	case MOD:
		if (!b)
			return false;
		*r = is_signed ? (b == -1 ? 0 : a % b) : (int64_t)(ua % ub);
		return true;
	case BAND: *r = a & b; return true;
	case BOR: *r = a | b; return true;
	case BXOR: *r = a ^ b; return true;
	case LEFT: *r = (int64_t)(ua << (ub & 63)); return true;
	case RIGHT: *r = is_signed ? a >> (ub & 63) : (int64_t)(ua >> (ub & 63)); return true;
	case EQ: *r = a == b; return true;
	case NE: *r = a != b; return true;
	case LT: *r = is_signed ? a < b : ua < ub; return true;
	case GT: *r = is_signed ? a > b : ua > ub; return true;
	case LE: *r = is_signed ? a <= b : ua <= ub; return true;
	case GE: *r = is_signed ? a >= b : ua >= ub; return true;
	case LAND: *r = a && b; return true;
	case LOR: *r = a || b; return true;
	}
	return false;
}

static struct type *expr_logical(struct sema *se, struct node *n)
{
	struct type *a = sema_expr(se, n->a), *b = sema_expr(se, n->b);

	if (!a || !b)
		return NULL;
	if ((a->kind != TYPE_INT && a->kind != TYPE_POINTER) ||
	    (b->kind != TYPE_INT && b->kind != TYPE_POINTER)) {
		sema_error(se, &n->loc, "Type mismatch for '%s': comparing '%s' with '%s'",
			   ast_op_name(n->op), type_name(a), type_name(b));
		return NULL;
	}
	if (n->a->is_const && n->b->is_const) {
		n->is_const = true;
		n->ival = n->op == LAND ? (n->a->ival && n->b->ival) : (n->a->ival || n->b->ival);
	}
	return type_int(8, false);
}

static struct type *binop_type(struct sema *se, struct node *n)
{
	struct type *a = sema_expr(se, n->a), *b = sema_expr(se, n->b);
	bool cmp = n->op == EQ || n->op == NE || n->op == LT || n->op == GT || n->op == LE ||
		   n->op == GE;

	if (!a || !b)
		return NULL;
	if ((type_is_int(a) || a->kind == TYPE_POINTER) != (type_is_int(b) || b->kind == TYPE_POINTER)) {
		sema_error(se, &n->loc, "Type mismatch for '%s': comparing '%s' with '%s'",
			   ast_op_name(n->op), type_name(a), type_name(b));
		return NULL;
	}
	if (a->kind == TYPE_ARRAY && b->kind == TYPE_ARRAY) {
		/* arrays compare element by element (bpftrace 0.17) */
		bool ok = true;

		if (n->op != EQ && n->op != NE) {
			sema_error(se, &n->op_loc, "The %s operator cannot be used on arrays.",
				   ast_op_name(n->op));
			return NULL;
		}
		/* bpftrace 0.17's two checks, both reported */
		if (a->nelems != b->nelems) {
			sema_error(se, &n->op_loc, "Only arrays of same size support comparison "
				   "operators.");
			ok = false;
		}
		if (a->size != b->size || a->elem->kind != TYPE_INT || b->elem->kind != TYPE_INT ||
		    a->elem->size != b->elem->size) {
			sema_error(se, &n->op_loc, "Only arrays of same sized integer support comparison "
				   "operators.");
			ok = false;
		}
		return ok ? type_int(8, false) : NULL;
	}
	if ((a->kind == TYPE_STRING && b->kind == TYPE_STRING) ||
	    (a->kind == TYPE_BUFFER && b->kind == TYPE_BUFFER)) {
		if (n->op != EQ && n->op != NE) {
			sema_error(se, &n->op_loc, "The %s operator can not be used on expressions of "
				   "types %s, %s", ast_op_name(n->op), type_name(a), type_name(b));
			return NULL;
		}
		return type_int(8, false);
	}
	if ((a->kind != TYPE_INT && a->kind != TYPE_POINTER) ||
	    (b->kind != TYPE_INT && b->kind != TYPE_POINTER) ||
	    ((a->kind == TYPE_POINTER || b->kind == TYPE_POINTER) &&
	     !cmp && n->op != PLUS && n->op != MINUS && n->op != BAND && n->op != BOR)) {
		sema_error(se, &n->op_loc, "The %s operator can not be used on expressions of types "
			   "%s, %s", ast_op_name(n->op), type_name(a), type_name(b));
		return NULL;
	}
	if ((n->op == DIV || n->op == MOD) && n->b->is_const && n->b->ival == 0) {
		sema_error(se, &n->loc, "Division by zero");
		return NULL;
	}
	if (n->a->is_const && n->b->is_const) {
		bool is_signed = a->kind == TYPE_INT && a->is_signed && b->kind == TYPE_INT && b->is_signed;
		int64_t r;

		if (fold_binop(n->op, n->a->ival, n->b->ival, is_signed, &r)) {
			n->is_const = true;
			n->ival = r;
		}
	}
	if (cmp || n->op == LAND || n->op == LOR)
		return type_int(8, false);
	/* pointer +/- integer stays a pointer (scaled by the element size in codegen) */
	if (a->kind == TYPE_POINTER && b->kind == TYPE_INT && (n->op == PLUS || n->op == MINUS))
		return a;
	if (a->kind == TYPE_INT && b->kind == TYPE_INT)
		return type_int(8, a->is_signed && b->is_signed);
	return type_int(8, false);
}

static struct type *expr_binop(struct sema *se, struct node *n)
{
	if (n->op == LAND || n->op == LOR)
		return expr_logical(se, n);
	return binop_type(se, n);
}

static struct type *expr_unop(struct sema *se, struct node *n)
{
	struct type *a = sema_expr(se, n->a);

	if (!a)
		return NULL;
	if (n->op == MUL) {
		if (a->kind == TYPE_POINTER) {
			struct type *e = sema_resolve_type(a->elem);

			if (!e || e->kind == TYPE_VOID) {
				sema_error(se, &n->loc, "Can not dereference a pointer to void");
				return NULL;
			}
			if (e->kind == TYPE_RECORD || e->kind == TYPE_ARRAY)
				return type_with_as(e, a->as);
			if (e->kind != TYPE_INT && e->kind != TYPE_POINTER) {
				sema_error(se, &n->loc, "Can not dereference a pointer to %s", type_name(e));
				return NULL;
			}
			return e->kind == TYPE_POINTER ? type_with_as(e, e->as ? e->as : a->as) : e;
		}
		if (a->kind == TYPE_INT)
			return type_int(8, true);
		sema_error(se, &n->loc, "Can not dereference type %s", type_name(a));
		return NULL;
	}
	if (a->kind != TYPE_INT && a->kind != TYPE_POINTER) {
		sema_error(se, &n->op_loc, "The %s operator can not be used on expressions of type '%s'",
			   n->op == LNOT ? "!" : n->op == BNOT ? "~" : "-", type_name(a));
		return NULL;
	}
	if (n->a->is_const) {
		n->is_const = true;
		n->ival = n->op == LNOT ? !n->a->ival : n->op == BNOT ? ~n->a->ival :
			  (int64_t)(0 - (uint64_t)n->a->ival);
	}
	if (n->op == LNOT)
		return type_int(8, false);
	if (n->op == MINUS)
		return type_int(8, true);
	return a->kind == TYPE_INT ? type_int(8, a->is_signed) : type_int(8, false);
}

static struct type *expr_ternary(struct sema *se, struct node *n)
{
	struct type *c = sema_expr(se, n->a), *a = sema_expr(se, n->b), *b = sema_expr(se, n->c);

	if (!c || !a || !b)
		return NULL;
	if (c->kind != TYPE_INT && c->kind != TYPE_POINTER) {
		sema_error(se, &n->a->loc, "Invalid condition in ternary: %s", type_name(c));
		return NULL;
	}
	if (!sema_compatible(a, b)) {
		sema_error(se, &n->loc, "Ternary operator must return the same type: have '%s' "
			   "and '%s'", type_kind_word(a), type_kind_word(b));
		return NULL;
	}
	return a->kind == TYPE_STRING ? sema_merge_types(a, b) :
	       a->kind == TYPE_INT ? type_int(8, a->is_signed || b->is_signed) : a;
}

static struct type *expr_incdec(struct sema *se, struct node *n)
{
	struct node *target = n->a;
	struct type *t;

	if (target->kind == N_VAR) {
		struct var_info *v = sema_var_find(se, target->str);

		if (!v) {
			sema_error(se, &target->loc, "Undefined or undeclared variable: %s",
				   target->str);
			return NULL;
		}
		target->var = v;
		t = v->type;
	} else {
		target->map = script_map(se->s, target->str);
		if (!sema_map_keys(se, target))
			return NULL;
		if (!target->map->value)
			target->map->value = type_int(8, true);
		t = target->map->value;
	}
	/* ++/-- on a pointer moves it by one element, as in C */
	if (t->kind != TYPE_INT && t->kind != TYPE_POINTER) {
		sema_error(se, &n->loc, "The %s operator can not be used on expressions of type '%s'",
			   n->op == INCREMENT ? "++" : "--", type_name(t));
		return NULL;
	}
	return t;
}

/* ---- tuples ----------------------------------------------------------------------------- */

static struct type *expr_tuple(struct sema *se, struct node *n)
{
	uint32_t cnt = (uint32_t)ast_list_len(n->args), i = 0;
	struct type **f = xcalloc(cnt, sizeof(*f)), *t;
	struct node *k;
	bool ok = true;

	for (k = n->args; k; k = k->next, i++) {
		struct type *kt = sema_expr(se, k);

		if (!kt) {
			ok = false;
			continue;
		}
		if (type_is_aggregation(kt) || kt->kind == TYPE_VOID) {
			sema_error(se, &k->loc, "Invalid value of type %s in a tuple", type_name(kt));
			ok = false;
			continue;
		}
		f[i] = kt->kind == TYPE_RECORD || kt->kind == TYPE_ARRAY ?
		       sema_storage_type(se, kt) : kt;
	}
	t = ok ? type_tuple(f, cnt) : NULL;
	free(f);
	return t;
}

/* ---- the dispatch ----------------------------------------------------------------------- */

typedef struct type *expr_fn(struct sema *se, struct node *n);

static expr_fn *const expr_kinds[] = {
	[N_INT] = expr_int,
	[N_STR] = expr_str,
	[N_IDENT] = expr_ident,
	[N_POSITIONAL] = expr_positional,
	[N_POSCOUNT] = expr_poscount,
	[N_VAR] = expr_var,
	[N_MAP] = expr_map,
	[N_CALL] = expr_call,
	[N_BINOP] = expr_binop,
	[N_UNOP] = expr_unop,
	[N_TERNARY] = expr_ternary,
	[N_FIELD] = sema_field,
	[N_TUPLE_INDEX] = sema_tuple_index,
	[N_INDEX] = sema_index,
	[N_TUPLE] = expr_tuple,
	[N_CAST] = sema_cast,
	[N_INCDEC] = expr_incdec,
	[N_SIZEOF] = sema_sizeof,
	[N_OFFSETOF] = sema_offsetof,
};

struct type *sema_expr(struct sema *se, struct node *n)
{
	expr_fn *fn = (size_t)n->kind < ARRAY_SIZE(expr_kinds) ? expr_kinds[n->kind] : NULL;
	struct type *t;

	n->is_const = n->kind == N_INT;
	if (!fn) {
		sema_error(se, &n->loc, "unexpected statement in expression");
		return NULL;
	}
	t = fn(se, n);
	n->type = t;
	return t;
}
