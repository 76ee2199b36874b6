/*
 * sema.c - the semantic pass: attach points expanded through their probe type, identifiers
 * resolved (builtins, macros, enum constants), every expression typed, maps given one key and
 * value type, printf-like calls checked against their format.
 *
 * It runs twice over the program.  Maps are global and may be read in one probe and assigned in
 * a later one, so the first pass only infers map types (quietly); the second pass reports
 * errors with those types known and assigns ids to formats.
 */
#include "sema.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "builtins/builtins.h"
#include "cdecl.h"
#include "decls.h"
#include "diag.h"
#include "parser.h"
#include "preprocess.h"
#include "runtime/btf.h"
#include "util.h"

void sema_error(struct sema *se, const struct loc *loc, const char *fmt, ...)
{
	va_list ap;

	se->errors++;
	if (!se->final)
		return;
	va_start(ap, fmt);
	diag_verror(loc, fmt, ap);
	va_end(ap);
}

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
	if (btf_find_record(rec->name, rec->is_union, &r) == 0 && r && r->complete)
		return r;
	return rec;
}

static struct type *resolve_type(struct type *t)
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
		struct type *e = resolve_type(t->elem);

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
		t = resolve_type(t);
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

/* Same kind of value: ints with ints, strings with strings of any size, equal tuples. */
static bool compatible(const struct type *a, const struct type *b)
{
	uint32_t i;

	if (a->kind != b->kind)
		return (a->kind == TYPE_INT && b->kind == TYPE_POINTER) ||
		       (a->kind == TYPE_POINTER && b->kind == TYPE_INT);
	if (a->kind == TYPE_TUPLE) {
		if (a->nfields != b->nfields)
			return false;
		for (i = 0; i < a->nfields; i++)
			if (!compatible(a->fields[i], b->fields[i]))
				return false;
	}
	return true;
}

/* Grow strings (and strings inside tuples) of a to hold b's. */
static struct type *merge_types(struct type *a, struct type *b)
{
	uint32_t i;

	if (a->kind == TYPE_STRING && b->kind == TYPE_STRING)
		return b->size > a->size ? b : a;
	if (a->kind == TYPE_TUPLE && b->kind == TYPE_TUPLE && a->nfields == b->nfields) {
		struct type **f = xcalloc(a->nfields, sizeof(*f));
		struct type *r;
		bool changed = false;

		for (i = 0; i < a->nfields; i++) {
			f[i] = merge_types(a->fields[i], b->fields[i]);
			changed |= f[i] != a->fields[i];
		}
		r = changed ? type_tuple(f, a->nfields) : a;
		free(f);
		return r;
	}
	return a;
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

static void make_int(struct node *n, int64_t v)
{
	n->kind = N_INT;
	n->ival = v;
	n->is_const = true;
	n->type = type_int(8, true);
}

static void make_str(struct node *n, const char *s)
{
	free(n->str);
	n->kind = N_STR;
	n->str = xstrdup(s);
	n->slen = strlen(s);
}

/* $N: an integer when the parameter is numeric, a string literal otherwise; missing is 0/"". */
static void resolve_positional(struct sema *se, struct node *n)
{
	const char *p = n->ival >= 1 && n->ival <= se->s->opts.nparams ?
			se->s->opts.params[n->ival - 1] : NULL;
	char *end;
	long long v;

	if (!p || !*p) {
		if (p)
			make_str(n, "");
		else
			make_int(n, 0);
		return;
	}
	errno = 0;
	v = strtoll(p, &end, 0);
	if (!errno && *end == '\0')
		make_int(n, v);
	else
		make_str(n, p);
	n->positional = true;
}

/* ---- variables and maps ---------------------------------------------------------------- */

static struct var_info *var_find(struct sema *se, const char *name)
{
	struct var_info *v;

	for (v = se->vars; v; v = v->next)
		if (strcmp(v->name, name) == 0)
			return v;
	return NULL;
}

static struct var_info *var_define(struct sema *se, const char *name, struct type *t)
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

static bool map_keys(struct sema *se, struct node *m);

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
	ok = map_keys(se, m);
	m->args = tup;
	if (ok) {
		tup->type = m->map->key;
		tup->ival = 1;	/* codegen: the key is this tuple, laid out as the map's key */
	}
	return ok;
}

/* Type the keys of a map access and check them against the map's key. */
static bool map_keys(struct sema *se, struct node *m)
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
		    (t->kind == TYPE_RECORD && !resolve_type(t)->rec->complete)) {
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
			same = compatible(mi->key_parts[i], parts[i]);
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
				mi->key_parts[i] = merge_types(mi->key_parts[i], parts[i]);
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
	if (!compatible(mi->value, value)) {
		struct strbuf a;

		sb_init(&a);
		type_format(mi->value, &a);
		sema_error(se, loc, "Type mismatch for %s: trying to assign value of type '%s' when "
			   "map already contains a value of type '%s'", mi->name, type_name(value), a.buf);
		sb_free(&a);
		return false;
	}
	mi->value = merge_types(mi->value, value);
	return true;
}

/* ---- expressions ------------------------------------------------------------------------ */

static struct type *type_call(struct sema *se, struct node *n, bool is_stmt, struct node *target);

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

static struct type *type_binop(struct sema *se, struct node *n)
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
	if (a->kind == TYPE_STRING && b->kind == TYPE_STRING) {
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

static struct type *type_unop(struct sema *se, struct node *n)
{
	struct type *a = sema_expr(se, n->a);

	if (!a)
		return NULL;
	if (n->op == MUL) {
		if (a->kind == TYPE_POINTER) {
			struct type *e = resolve_type(a->elem);

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

static struct type *type_field(struct sema *se, struct node *n)
{
	struct type *base = sema_expr(se, n->a);
	struct record *rec;
	enum addrspace as;
	const struct field *f;
	struct type *ft;
	uint32_t off;

	if (!base)
		return NULL;
	base = resolve_type(base);
	if (base->kind == TYPE_POINTER && base->elem) {
		struct type *e = resolve_type(base->elem);

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
	if (!f) {
		sema_error(se, &n->loc, "Struct/union of type '%s %s' does not contain a field "
			   "named '%s'", rec->is_union ? "union" : "struct", rec->name, n->str);
		return NULL;
	}
	n->field = f;
	n->field_offset = off;
	ft = resolve_type(f->type);
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

static struct type *type_cast(struct sema *se, struct node *n)
{
	struct type *a = sema_expr(se, n->a), *t = resolve_type(n->cast_type);

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

static struct type *type_ident(struct sema *se, struct node *n)
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
			make_str(n, m->str);
			return type_string((uint32_t)n->slen + 1);
		}
		make_int(n, m->value);
		return type_int(8, true);
	}
	if (cdecl_find_enum_value(n->str, &v) == 0 || btf_find_enum_value(n->str, &v) == 0) {
		make_int(n, v);
		return type_int(8, true);
	}
	if (strcmp(n->str, "true") == 0 || strcmp(n->str, "false") == 0) {
		/* bpftrace 0.18+'s booleans, as the integers 0.17 prints for a comparison */
		make_int(n, n->str[0] == 't');
		return type_int(8, false);
	}
	sema_error(se, &n->loc, "Unknown identifier: '%s'", n->str);
	return NULL;
}

static struct type *type_map_read(struct sema *se, struct node *n)
{
	struct map_info *mi = script_map(se->s, n->str);

	n->map = mi;
	if (!map_keys(se, n))
		return NULL;
	if (!mi->value) {
		sema_error(se, &n->loc, "Undefined map: %s", n->str);
		return NULL;
	}
	/* an aggregation's value only exists per CPU: its type stays count/sum/..., which
	 * every use then rejects as bpftrace does */
	return mi->value;
}

struct type *sema_expr(struct sema *se, struct node *n)
{
	struct type *t = NULL;
	struct node *k;

	n->is_const = n->kind == N_INT;
	switch (n->kind) {
	case N_INT:
		t = type_int(8, true);
		break;
	case N_STR:
		t = type_string((uint32_t)n->slen + 1);
		break;
	case N_POSITIONAL:
		if (n->ival < 1) {
			sema_error(se, &n->loc, "$%lld is not a valid parameter: they start at $1",
				   (long long)n->ival);
			return NULL;
		}
		resolve_positional(se, n);
		return sema_expr(se, n);
	case N_POSCOUNT:
		make_int(n, se->s->opts.nparams);
		t = type_int(8, true);
		break;
	case N_IDENT:
		t = type_ident(se, n);
		if (t && n->kind == N_INT)
			n->is_const = true;
		break;
	case N_VAR: {
		struct var_info *v = var_find(se, n->str);

		if (!v) {
			sema_error(se, &n->loc, "Undefined or undeclared variable: %s", n->str);
			return NULL;
		}
		n->var = v;
		t = v->type;
		break;
	}
	case N_MAP:
		t = type_map_read(se, n);
		break;
	case N_CALL:
		t = type_call(se, n, false, NULL);
		break;
	case N_BINOP:
		if (n->op == LAND || n->op == LOR) {
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
				n->ival = n->op == LAND ? (n->a->ival && n->b->ival) :
					  (n->a->ival || n->b->ival);
			}
			t = type_int(8, false);
			break;
		}
		t = type_binop(se, n);
		break;
	case N_UNOP:
		t = type_unop(se, n);
		break;
	case N_TERNARY: {
		struct type *c = sema_expr(se, n->a), *a = sema_expr(se, n->b), *b = sema_expr(se, n->c);

		if (!c || !a || !b)
			return NULL;
		if (c->kind != TYPE_INT && c->kind != TYPE_POINTER) {
			sema_error(se, &n->a->loc, "Invalid condition in ternary: %s", type_name(c));
			return NULL;
		}
		if (!compatible(a, b)) {
			sema_error(se, &n->loc, "Ternary operator must return the same type: have '%s' "
				   "and '%s'", type_kind_word(a), type_kind_word(b));
			return NULL;
		}
		t = a->kind == TYPE_STRING ? merge_types(a, b) :
		    a->kind == TYPE_INT ? type_int(8, a->is_signed || b->is_signed) : a;
		break;
	}
	case N_FIELD:
		t = type_field(se, n);
		break;
	case N_TUPLE_INDEX: {
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
		t = a->fields[n->ival];
		break;
	}
	case N_INDEX: {
		struct type *a = sema_expr(se, n->a), *i = sema_expr(se, n->b);

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
			t = resolve_type(a->elem);
			if (t->kind == TYPE_RECORD || t->kind == TYPE_ARRAY)
				t = type_with_as(t, a->as);
		} else if (a->kind == TYPE_POINTER) {
			t = resolve_type(a->elem);
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
		break;
	}
	case N_TUPLE: {
		uint32_t cnt = (uint32_t)ast_list_len(n->args), i = 0;
		struct type **f = xcalloc(cnt, sizeof(*f));
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
			f[i] = kt->kind == TYPE_INT ? type_int(8, kt->is_signed) :
			       kt->kind == TYPE_RECORD || kt->kind == TYPE_ARRAY ?
			       sema_storage_type(se, kt) : kt;
		}
		t = ok ? type_tuple(f, cnt) : NULL;
		free(f);
		break;
	}
	case N_CAST:
		t = type_cast(se, n);
		break;
	case N_INCDEC: {
		struct node *target = n->a;

		if (target->kind == N_VAR) {
			struct var_info *v = var_find(se, target->str);

			if (!v) {
				sema_error(se, &target->loc, "Undefined or undeclared variable: %s",
					   target->str);
				return NULL;
			}
			target->var = v;
			t = v->type;
		} else {
			target->map = script_map(se->s, target->str);
			if (!map_keys(se, target))
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
		break;
	}
	case N_SIZEOF:
		if (n->cast_type) {
			struct type *ct = resolve_type(n->cast_type);

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
		t = type_int(8, false);
		break;
	case N_OFFSETOF: {
		struct type *ct = resolve_type(n->cast_type);
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
		t = type_int(8, false);
		break;
	}
	default:
		sema_error(se, &n->loc, "unexpected statement in expression");
		return NULL;
	}
	n->type = t;
	return t;
}

static struct type *type_call(struct sema *se, struct node *n, bool is_stmt, struct node *target)
{
	const struct func *f = func_find(n->str);
	int nargs = (int)ast_list_len(n->args);

	if (!f && nargs == 0 && builtin_find(n->str)) {
		/* pid(), comm(), nsecs(): builtins callable with parentheses (bpftrace 0.20+) */
		n->kind = N_IDENT;
		return sema_expr(se, n);
	}
	if (!f && builtin_find(n->str)) {
		sema_error(se, &n->loc, "%s is a builtin: it takes no arguments (%d provided)", n->str,
			   nargs);
		return NULL;
	}
	if (!f) {
		sema_error(se, &n->op_loc, "Unknown function: %s", n->str);
		return NULL;
	}
	n->func = f;
	if (f->unsafe && !se->s->opts.unsafe)
		sema_error(se, &n->loc, "%s() is an unsafe function being used in safe mode", f->name);
	if (nargs < f->min_args || (f->max_args >= 0 && nargs > f->max_args)) {
		/* bpftrace's wording */
		struct strbuf m;

		sb_init(&m);
		if (f->min_args == f->max_args) {
			if (f->min_args == 0)
				sb_printf(&m, "%s() requires no arguments", f->name);
			else if (f->min_args == 1)
				sb_printf(&m, "%s() requires one argument", f->name);
			else
				sb_printf(&m, "%s() requires %d arguments", f->name, f->min_args);
		} else if (nargs < f->min_args) {
			if (f->min_args == 1)
				sb_printf(&m, "%s() requires at least one argument", f->name);
			else
				sb_printf(&m, "%s() requires at least %d arguments", f->name, f->min_args);
		} else {
			if (f->max_args == 1)
				sb_printf(&m, "%s() takes up to one argument", f->name);
			else
				sb_printf(&m, "%s() takes up to %d arguments", f->name, f->max_args);
		}
		sema_error(se, &n->loc, "%s (%d provided)", m.buf, nargs);
		sb_free(&m);
		return NULL;
	}
	if (f->use == F_MAP_VALUE && !target) {
		sema_error(se, &n->loc, "%s() should be directly assigned to a map", f->name);
		return NULL;
	}
	if (f->use == F_STMT && !is_stmt) {
		sema_error(se, &n->loc, "%s() should not be used in an expression", f->name);
		return NULL;
	}
	if (f->unsafe && se->ops->is_special && strcmp(f->name, "signal") == 0) {
		sema_error(se, &n->loc, "%s can not be used with \"%s\" probes", f->name, se->ops->name);
		return NULL;
	}
	if (f->unsafe && !se->s->opts.unsafe)
		return NULL;
	return f->check(se, n);
}

/* ---- statements --------------------------------------------------------------------------- */

static void check_stmts(struct sema *se, struct node *list);

static void check_assign(struct sema *se, struct node *n)
{
	struct node *target = n->a, *value = n->b;
	struct type *t;

	if (target->kind == N_MAP && value->kind == N_CALL && n->op == 0) {
		const struct func *f = func_find(value->str);

		if (f && f->use == F_MAP_VALUE) {
			target->map = script_map(se->s, target->str);
			if (!map_keys(se, target))
				return;
			t = type_call(se, value, false, target);
			value->type = t;
			if (t) {
				sema_map_assign(se, target, t, &n->loc);
				if (t->kind == TYPE_LHIST) {
					target->map->lhist_min = value->args->next->ival;
					target->map->lhist_max = value->args->next->next->ival;
					target->map->lhist_step = value->args->next->next->next->ival;
				}
			}
			return;
		}
	}
	t = sema_expr(se, value);
	if (!t)
		return;
	if (t->kind == TYPE_VOID || type_is_aggregation(t)) {
		sema_error(se, &value->loc, "Value of type %s cannot be assigned", type_name(t));
		return;
	}
	if (n->op) {
		struct type *cur;

		if ((n->op == DIV || n->op == MOD) && value->is_const && value->ival == 0) {
			sema_error(se, &n->loc, "Division by zero");
			return;
		}
		if (t->kind != TYPE_INT && t->kind != TYPE_POINTER) {
			sema_error(se, &n->loc, "The %s= operator can not be used with a value of type %s",
				   ast_op_name(n->op), type_name(t));
			return;
		}
		if (target->kind == N_VAR) {
			struct var_info *v = var_find(se, target->str);

			if (!v) {
				sema_error(se, &target->loc, "Undefined or undeclared variable: %s",
					   target->str);
				return;
			}
			target->var = v;
			cur = v->type;
		} else {
			target->map = script_map(se->s, target->str);
			if (!map_keys(se, target))
				return;
			if (!target->map->value)
				target->map->value = type_int(8, true);
			cur = target->map->value;
		}
		if (cur->kind != TYPE_INT && cur->kind != TYPE_POINTER)
			sema_error(se, &n->loc, "The %s= operator can not be used on a value of type %s",
				   ast_op_name(n->op), type_name(cur));
		return;
	}
	if (t->kind == TYPE_RECORD && !resolve_type(t)->rec->complete) {
		sema_error(se, &value->loc, "Values of type '%s' cannot be stored", type_name(t));
		return;
	}
	if (target->kind == N_VAR) {
		struct var_info *v = var_find(se, target->str);
		struct type *st = t->kind == TYPE_RECORD || t->kind == TYPE_ARRAY ?
				  sema_storage_type(se, t) : t;

		if (!v) {
			v = var_define(se, target->str, st);
		} else if (!compatible(v->type, st)) {
			struct strbuf a;

			sb_init(&a);
			type_format(v->type, &a);
			sema_error(se, &n->loc, "Type mismatch for %s: trying to assign value of type '%s' "
				   "when variable already contains a value of type '%s'", target->str,
				   type_name(st), a.buf);
			sb_free(&a);
			return;
		} else {
			v->type = merge_types(v->type, st);
		}
		target->var = v;
		target->type = v->type;
		return;
	}
	target->map = script_map(se->s, target->str);
	if (!map_keys(se, target))
		return;
	sema_map_assign(se, target, sema_storage_type(se, t), &n->loc);
	target->type = target->map->value;
}

static void check_cond(struct sema *se, struct node *c, const char *what)
{
	struct type *t = sema_expr(se, c);

	if (t && t->kind != TYPE_INT && t->kind != TYPE_POINTER)
		sema_error(se, &c->loc, "Invalid condition in %s: %s", what, type_name(t));
}

/*
 * for ($kv : @m) { } over a map's entries, $kv = (key, value); for ($i : a..b) { } over a
 * range, b excluded (bpftrace 0.21+).  codegen runs the body in a BPF callback.
 */
static void check_for(struct sema *se, struct node *n)
{
	struct node *var = n->a;
	struct type *t;

	if (var_find(se, var->str)) {
		sema_error(se, &var->loc, "Loop declaration shadows existing variable: %s", var->str);
		return;
	}
	if (n->c) {
		struct type *a = sema_expr(se, n->b), *b = sema_expr(se, n->c);

		if (!a || !b)
			return;
		if (a->kind != TYPE_INT || b->kind != TYPE_INT) {
			sema_error(se, a->kind != TYPE_INT ? &n->b->loc : &n->c->loc,
				   "Loop range requires integer expressions (%s provided)",
				   type_name(a->kind != TYPE_INT ? a : b));
			return;
		}
		t = type_int(8, true);
	} else {
		struct map_info *mi = script_map(se->s, n->b->str);
		struct type *f[2];

		n->b->map = mi;
		if (n->b->args) {
			sema_error(se, &n->b->loc, "for loops iterate over a whole map: write %s, "
				   "without keys", mi->name);
			return;
		}
		if (!mi->value) {
			sema_error(se, &n->b->loc, "Undefined map: %s", mi->name);
			return;
		}
		if (!mi->key) {
			sema_error(se, &n->b->loc, "for loops need a map with keys: %s is a scalar map",
				   mi->name);
			return;
		}
		if (mi->value->kind == TYPE_COUNT || mi->value->kind == TYPE_SUM) {
			/* codegen adds up every CPU's part (bpf_map_lookup_percpu_elem) */
			f[0] = mi->key;
			f[1] = type_int(8, mi->value->kind == TYPE_SUM);
			t = type_tuple(f, 2);
			goto define;
		}
		if (type_is_aggregation(mi->value)) {
			/* each CPU holds its own part of a min()/avg()/...: a loop in BPF would see
			 * only this CPU's, a wrong answer */
			sema_error(se, &n->b->loc, "for loops over maps of %s values are not supported "
				   "(they are per-CPU): iterate over a map of integers, count() or sum() "
				   "instead",
				   type_name(mi->value));
			return;
		}
		f[0] = mi->key;
		f[1] = mi->value;
		t = type_tuple(f, 2);
	}
define:
	var->var = var_define(se, var->str, t);
	var->type = t;
	se->loop_depth++;
	check_stmts(se, n->body);
	se->loop_depth--;
	/* the loop variable is the loop's own: a later loop may use the name again */
	for (struct var_info **pv = &se->vars; *pv; pv = &(*pv)->next) {
		if (*pv == var->var) {
			*pv = var->var->next;
			break;
		}
	}
}

static void check_stmt(struct sema *se, struct node *n)
{
	int64_t v;

	switch (n->kind) {
	case N_EXPR_STMT:
		if (n->a->kind == N_CALL)
			n->a->type = type_call(se, n->a, true, NULL);
		else
			sema_expr(se, n->a);
		break;
	case N_ASSIGN:
		check_assign(se, n);
		break;
	case N_IF:
		check_cond(se, n->a, "if");
		check_stmts(se, n->body);
		check_stmts(se, n->c);
		break;
	case N_WHILE:
		check_cond(se, n->a, "while");
		se->loop_depth++;
		check_stmts(se, n->body);
		se->loop_depth--;
		break;
	case N_UNROLL:
		sema_expr(se, n->a);
		if (!sema_const_int(se, n->a, &v)) {
			sema_error(se, &n->a->loc, "unroll count must be an integer literal");
			break;
		}
		if (v > 100) {
			sema_error(se, &n->loc, "unroll maximum value is 100");
			break;
		}
		if (v < 1) {
			sema_error(se, &n->loc, "unroll minimum value is 1");
			break;
		}
		n->ival = v;
		check_stmts(se, n->body);
		break;
	case N_FOR:
		check_for(se, n);
		break;
	case N_BREAK:
	case N_CONTINUE:
		if (!se->loop_depth)
			sema_error(se, &n->loc, "%s used outside of a loop",
				   n->kind == N_BREAK ? "break" : "continue");
		break;
	case N_RETURN:
		break;
	default:
		sema_error(se, &n->loc, "unexpected expression");
		break;
	}
}

static void check_stmts(struct sema *se, struct node *list)
{
	for (; list; list = list->next)
		check_stmt(se, list);
}

static void check_probe(struct sema *se, struct probe *p)
{
	se->probe = p;
	se->ap = p->aps[0];
	se->ops = p->ops;
	se->vars = NULL;
	se->loop_depth = 0;
	se->args = p->args;
	if (p->pred) {
		struct type *t;

		t = sema_expr(se, p->pred);
		if (t && t->kind != TYPE_INT && t->kind != TYPE_POINTER)
			sema_error(se, &p->pred->loc, "Invalid type for predicate: %s", type_name(t));
	}
	check_stmts(se, p->body);
}

/* ---- attach points -------------------------------------------------------------------------- */

/* Replace $N in an attach point by the positional parameter's text (bpftrace allows it). */
static char *substitute_params(struct script *s, const char *text)
{
	struct strbuf sb;
	const char *p;

	sb_init(&sb);
	for (p = text; *p; p++) {
		if (*p == '$' && p[1] >= '0' && p[1] <= '9') {
			char *end;
			long n = strtol(p + 1, &end, 10);

			if (n >= 1 && n <= s->opts.nparams)
				sb_puts(&sb, s->opts.params[n - 1]);
			p = end - 1;
			continue;
		}
		sb_putc(&sb, *p);
	}
	return sb_steal(&sb);
}

static int expand_probes(struct script *s)
{
	size_t i, j;
	int err = 0;

	for (i = 0; i < s->prog.nprobes; i++) {
		struct probe *p = s->prog.probes[i];

		for (j = 0; j < p->naps; j++) {
			struct attach_point *ap = p->aps[j];
			struct probe_targets *ts;
			char *text = substitute_params(s, ap->text);

			free(ap->text);
			ap->text = text;
			if (probe_parse_attach_point(ap)) {
				err = -EINVAL;
				continue;
			}
			if (!p->ops)
				p->ops = ap->ops;	/* the first attach point that parsed */
			/* several BEGIN/END blocks run in script order (bpftrace 0.19+) */
			if (ap->ops == &probe_begin)
				s->has_begin = true;
			else if (ap->ops == &probe_end)
				s->has_end = true;
			if (j > 0 && ap->ops->ctx != p->ops->ctx) {
				diag_error(&ap->loc, "Attach points of one probe must be of compatible "
					   "types: '%s' and '%s'", p->ops->name, ap->ops->name);
				err = -EINVAL;
				continue;
			}
			ts = xcalloc(1, sizeof(*ts));
			ap->priv = ts;
			if (ap->ops->expand(ap, ts)) {
				err = -EINVAL;
				continue;
			}
			if (ts->n && !p->args && ap->ops->args)
				p->args = ap->ops->args(ap, &ts->v[0]);
			for (size_t k = 0; ap->ops->args && k < ts->n; k++) {
				struct record *r = ap->ops->args(ap, &ts->v[k]);
				size_t m;

				for (m = 0; r && m < p->nall_args && p->all_args[m] != r; m++)
					;
				if (!r || m < p->nall_args)
					continue;
				xgrow((void **)&p->all_args, &p->capall_args, p->nall_args + 1,
				      sizeof(*p->all_args));
				p->all_args[p->nall_args++] = r;
			}
			if (!ap->ops->is_special)
				s->nattach += (unsigned)ts->n;
			else
				s->nattach += 1;
		}
	}
	return err;
}

static void build_progs(struct script *s)
{
	size_t i, j, k;

	for (i = 0; i < s->prog.nprobes; i++) {
		struct probe *p = s->prog.probes[i];

		for (j = 0; j < p->naps; j++) {
			struct attach_point *ap = p->aps[j];
			struct probe_targets *ts = ap->priv;
			size_t n = ts->shared_program ? (ts->n ? 1 : 0) : ts->n;

			for (k = 0; k < n; k++) {
				struct prog_info *pi;

				xgrow((void **)&s->progs, &s->capprogs, s->nprogs + 1, sizeof(*s->progs));
				pi = &s->progs[s->nprogs];
				pi->probe = p;
				pi->ap = ap;
				pi->targets = ts;
				pi->target = ts->shared_program ? SIZE_MAX : k;
				pi->name = xasprintf("p%zu_%zu", i, s->nprogs);
				pi->probe_name = xstrdup(ts->shared_program && ts->n > 1 ? ap->text :
							 ts->v[k].name);
				pi->args = ap->ops->args && ts->n ? ap->ops->args(ap, &ts->v[k]) : NULL;
				if (ts->shared_program)
					for (size_t t = 0; t < ts->n; t++)
						ts->v[t].cookie = (uint64_t)script_add_probe_name(s,
							ts->v[t].func ? ts->v[t].func : ts->v[t].name);
				s->nprogs++;
			}
		}
	}
}

int sema_run(struct script *s)
{
	struct sema se = { .s = s };
	size_t i;

	if (decls_apply(s) | expand_probes(s) || diag_error_count())
		return -EINVAL;
	if (s->opts.listing)
		return 0;
	/* Pass 1 infers map types quietly; pass 2 reports. */
	for (se.final = false;; se.final = true) {
		se.errors = 0;
		for (i = 0; i < s->prog.nprobes; i++)
			check_probe(&se, s->prog.probes[i]);
		if (se.final)
			break;
	}
	if (diag_error_count())
		return -EINVAL;
	for (i = 0; i < s->nmaps; i++) {
		struct map_info *mi = s->maps[i];

		if (!mi->value) {
			diag_error(&mi->loc, "Undefined map: %s", mi->name);
			return -EINVAL;
		}
		mi->percpu = type_is_aggregation(mi->value);
	}
	if (decls_check(s))
		return -EINVAL;
	build_progs(s);
	return 0;
}
