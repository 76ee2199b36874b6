/*
 * eval.c - C integer constant expressions: casts, suffixes, the C operators, ?: and
 * sizeof(type), with C's int/long/unsigned conversions (so `~0U` is 4294967295), or 64-bit
 * arithmetic in #if.  Identifiers are macros, enum constants or built-in constants.
 */
#include "pp_impl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cdecl.h"

static struct val norm(struct val a)
{
	if (a.size == 4)
		a.v = a.uns ? (uint32_t)a.v : (uint64_t)(int64_t)(int32_t)(uint32_t)a.v;
	return a;
}

struct eval {
	const struct etoks *ts;
	size_t i;
	bool ifmode;		/* #if: unknown identifiers are 0, arithmetic is 64-bit */
	int err;
	int depth;		/* nesting of unary operators and parentheses */
};

/* deeper nesting is refused, not recursed into until the stack overflows (found by fuzzing) */
#define MAX_DEPTH 256

static const struct etok *peek(struct eval *e)
{
	return e->i < e->ts->n ? &e->ts->t[e->i] : NULL;
}

static bool accept(struct eval *e, const char *p)
{
	const struct etok *t = peek(e);

	if (t && pp_is_punct(t, p)) {
		e->i++;
		return true;
	}
	return false;
}

static struct val mkint(int64_t v)
{
	struct val r = { .v = (uint64_t)v, .uns = false, .size = 4 };

	return r;
}

/* C's usual arithmetic conversions on two operands. */
static void convert(struct val *a, struct val *b, bool ifmode)
{
	uint8_t size = ifmode ? 8 : MAX(a->size, b->size);
	bool uns = (a->size == size && a->uns) || (b->size == size && b->uns) ||
		   (ifmode && (a->uns || b->uns));

	a->size = b->size = size;
	a->uns = b->uns = uns;
	*a = norm(*a);
	*b = norm(*b);
}

static struct val parse_ternary(struct eval *e);

static bool is_type_word(const char *s)
{
	static const char *const words[] = {
		"unsigned", "signed", "int", "long", "short", "char", "_Bool", "bool", "void",
		"const", "volatile", "struct", "union", "enum", "__signed__", "__force",
	};
	struct type *t;
	size_t i, n = strlen(s);

	for (i = 0; i < ARRAY_SIZE(words); i++)
		if (strcmp(s, words[i]) == 0)
			return true;
	if (cdecl_find_typedef(s, &t) == 0)
		return true;
	return n > 2 && strcmp(s + n - 2, "_t") == 0;
}

/* At '(': is this a cast?  Then *end is the index of the matching ')'. */
static bool is_cast(struct eval *e, size_t *end)
{
	size_t i = e->i + 1;
	const struct etoks *ts = e->ts;

	if (i >= ts->n || ts->t[i].kind != E_IDENT || !is_type_word(ts->t[i].text))
		return false;
	for (; i < ts->n; i++) {
		if (pp_is_punct(&ts->t[i], ")")) {
			*end = i;
			return i + 1 < ts->n;
		}
		if (ts->t[i].kind != E_IDENT && !pp_is_punct(&ts->t[i], "*"))
			return false;
	}
	return false;
}

static struct val apply_cast(struct eval *e, size_t end, struct val v)
{
	struct strbuf sb;
	struct type *t;
	size_t i;

	sb_init(&sb);
	for (i = e->i + 1; i < end; i++) {
		if (strcmp(e->ts->t[i].text, "__force") == 0)
			continue;
		sb_puts(&sb, e->ts->t[i].text);
		sb_putc(&sb, ' ');
	}
	if (cdecl_parse_type(sb.buf, &t) == 0) {
		if (t->kind == TYPE_INT && (t->size == 1 || t->size == 2)) {
			v.v = t->is_signed ? (uint64_t)(t->size == 1 ? (int64_t)(int8_t)v.v
								: (int64_t)(int16_t)v.v)
					   : v.v & (t->size == 1 ? 0xff : 0xffff);
			v.size = 4;
			v.uns = false;	/* promoted back to int */
		} else if (t->kind == TYPE_INT) {
			v.size = e->ifmode ? 8 : (uint8_t)t->size;
			v.uns = !t->is_signed;
		} else if (t->kind == TYPE_POINTER) {
			v.size = 8;
			v.uns = true;
		} else {
			e->err = -EINVAL;
		}
	}
	/* an unknown foo_t: keep the value as it is */
	sb_free(&sb);
	return norm(v);
}

/* After `sizeof`: `(type name)` through cdecl (records through BTF when the lead set it). */
static struct val parse_sizeof(struct eval *e)
{
	struct val v = { .size = 8, .uns = true };
	struct strbuf sb;
	struct type *t;
	int depth = 0;

	if (!accept(e, "(")) {
		e->err = -EINVAL;
		return v;
	}
	sb_init(&sb);
	while (e->i < e->ts->n) {
		const struct etok *k = &e->ts->t[e->i++];

		if (pp_is_punct(k, "(") || pp_is_punct(k, "["))
			depth++;
		if ((pp_is_punct(k, ")") || pp_is_punct(k, "]")) && depth-- == 0)
			break;
		if (k->kind == E_NUM)
			sb_printf(&sb, "%llu ", (unsigned long long)k->val.v);
		else if (k->kind == E_STR)
			e->err = -EINVAL;
		else
			sb_printf(&sb, "%s ", k->text);
	}
	if (depth >= 0 || !sb.buf || cdecl_parse_type(sb.buf, &t) || t->kind == TYPE_VOID ||
	    (t->kind == TYPE_RECORD && !t->rec->complete))
		e->err = -EINVAL;
	else
		v.v = t->size;
	sb_free(&sb);
	return v;
}

static struct val parse_unary_1(struct eval *e);

static struct val parse_unary(struct eval *e)
{
	struct val v;

	if (e->depth >= MAX_DEPTH) {
		e->err = -EINVAL;
		return mkint(0);
	}
	e->depth++;
	v = parse_unary_1(e);
	e->depth--;
	return v;
}

static struct val parse_unary_1(struct eval *e)
{
	const struct etok *t = peek(e);
	struct val v = mkint(0);

	if (!t) {
		e->err = -EINVAL;
		return v;
	}
	if (accept(e, "-")) {
		v = parse_unary(e);
		v.v = -v.v;
		return norm(v);
	}
	if (accept(e, "+"))
		return parse_unary(e);
	if (accept(e, "~")) {
		v = parse_unary(e);
		v.v = ~v.v;
		return norm(v);
	}
	if (accept(e, "!")) {
		v = parse_unary(e);
		return mkint(v.v == 0);
	}
	if (pp_is_punct(t, "(")) {
		size_t end;

		if (is_cast(e, &end)) {
			size_t start = e->i, after;

			e->i = end + 1;
			v = parse_unary(e);
			after = e->i;
			e->i = start;
			v = apply_cast(e, end, v);
			e->i = after;
			return v;
		}
		e->i++;
		v = parse_ternary(e);
		if (!accept(e, ")"))
			e->err = -EINVAL;
		return v;
	}
	e->i++;
	if (t->kind == E_NUM) {
		v = t->val;
		if (e->ifmode)
			v.size = 8;
		return norm(v);
	}
	if (t->kind == E_IDENT) {
		int64_t x;
		struct macro *m;

		if (!e->ifmode && !strcmp(t->text, "sizeof"))
			return parse_sizeof(e);
		if (e->ifmode) {
			/* Unknown identifiers (and calls of unknown functions) are 0 in #if. */
			if (peek(e) && pp_is_punct(peek(e), "("))
				e->err = -EINVAL;
			return mkint(0);
		}
		if ((m = pp_tab_find(&pp_enum_tab, t->text))) {
			x = m->val.value;
		} else if (cdecl_find_enum_value(t->text, &x) && kconst_lookup(t->text, &x)) {
			e->err = -EINVAL;
			return v;
		}
		v.v = (uint64_t)x;
		v.size = x >= INT32_MIN && x <= INT32_MAX ? 4 : 8;
		return v;
	}
	e->err = -EINVAL;
	return v;
}

/* Binary operators by precedence level, lowest first. */
static const char *const levels[][5] = {
	{ "||" }, { "&&" }, { "|" }, { "^" }, { "&" }, { "==", "!=" },
	{ "<", ">", "<=", ">=" }, { "<<", ">>" }, { "+", "-" }, { "*", "/", "%" },
};

static struct val binop(struct eval *e, const char *op, struct val a, struct val b)
{
	struct val r;

	if (!strcmp(op, "||"))
		return mkint(a.v || b.v);
	if (!strcmp(op, "&&"))
		return mkint(a.v && b.v);
	if (!strcmp(op, "<<") || !strcmp(op, ">>")) {
		unsigned sh = (unsigned)b.v & 63;

		r = a;
		if (e->ifmode)
			r.size = 8;
		if (op[0] == '<')
			r.v = a.v << sh;
		else
			r.v = r.uns || r.size == 4 ? (r.size == 4 ? (r.uns ? (uint32_t)a.v >> sh
								   : (uint64_t)((int64_t)(int32_t)a.v >> sh))
							  : a.v >> sh)
						   : (uint64_t)((int64_t)a.v >> sh);
		return norm(r);
	}
	convert(&a, &b, e->ifmode);
	r = a;
	switch (op[0]) {
	case '|': r.v = a.v | b.v; break;
	case '^': r.v = a.v ^ b.v; break;
	case '&': r.v = a.v & b.v; break;
	case '+': r.v = a.v + b.v; break;
	case '-': r.v = a.v - b.v; break;
	case '*': r.v = a.v * b.v; break;
	case '/':
	case '%':
		if (!b.v) {
			e->err = -EINVAL;
			return r;
		}
		if (a.uns)
			r.v = op[0] == '/' ? a.v / b.v : a.v % b.v;
		else if ((int64_t)b.v == -1)
			r.v = op[0] == '/' ? -a.v : 0;
		else
			r.v = (uint64_t)(op[0] == '/' ? (int64_t)a.v / (int64_t)b.v
						      : (int64_t)a.v % (int64_t)b.v);
		break;
	default: {
		bool res;

		if (!strcmp(op, "=="))
			res = a.v == b.v;
		else if (!strcmp(op, "!="))
			res = a.v != b.v;
		else if (a.uns)
			res = !strcmp(op, "<") ? a.v < b.v : !strcmp(op, ">") ? a.v > b.v :
			      !strcmp(op, "<=") ? a.v <= b.v : a.v >= b.v;
		else
			res = !strcmp(op, "<") ? (int64_t)a.v < (int64_t)b.v :
			      !strcmp(op, ">") ? (int64_t)a.v > (int64_t)b.v :
			      !strcmp(op, "<=") ? (int64_t)a.v <= (int64_t)b.v :
			      (int64_t)a.v >= (int64_t)b.v;
		return mkint(res);
	}
	}
	return norm(r);
}

static struct val parse_binary(struct eval *e, size_t level)
{
	struct val a;

	if (level == ARRAY_SIZE(levels))
		return parse_unary(e);
	a = parse_binary(e, level + 1);
	while (!e->err) {
		const struct etok *t = peek(e);
		const char *op = NULL;
		size_t k;

		for (k = 0; t && k < ARRAY_SIZE(levels[level]) && levels[level][k]; k++)
			if (pp_is_punct(t, levels[level][k]))
				op = levels[level][k];
		if (!op)
			break;
		e->i++;
		a = binop(e, op, a, parse_binary(e, level + 1));
	}
	return a;
}

static struct val parse_ternary(struct eval *e)
{
	struct val c = parse_binary(e, 0), a, b;

	if (!accept(e, "?"))
		return c;
	a = parse_ternary(e);
	if (!accept(e, ":")) {
		e->err = -EINVAL;
		return c;
	}
	b = parse_ternary(e);
	convert(&a, &b, e->ifmode);
	return c.v ? a : b;
}

static int64_t val_to_i64(struct val v)
{
	v = norm(v);
	return (int64_t)v.v;
}

int pp_evaluate_tokens(const struct etoks *raw, bool ifmode, struct pp_macro *out)
{
	struct etoks ts = { 0 };
	struct eval e = { .ts = &ts, .ifmode = ifmode };
	struct val v;
	size_t i;
	int err;

	err = pp_expand(raw, &ts, ifmode, 0);
	if (!err && ts.n == 0)
		err = -EINVAL;
	if (err)
		goto out;
	if (!ifmode && ts.t[0].kind == E_STR) {
		struct strbuf sb;

		/* "a" "b" concatenates, as in C */
		sb_init(&sb);
		for (i = 0; i < ts.n && ts.t[i].kind == E_STR; i++)
			sb_puts(&sb, ts.t[i].text);
		if (i != ts.n) {
			sb_free(&sb);
			err = -EINVAL;
			goto out;
		}
		out->kind = PP_STR;
		out->str = sb_steal(&sb);
		goto out;
	}
	v = parse_ternary(&e);
	if (e.err || e.i != ts.n) {
		err = -EINVAL;
		goto out;
	}
	out->kind = PP_INT;
	out->value = val_to_i64(v);
out:
	pp_etoks_free(&ts);
	return err;
}

int pp_evaluate(const char *text, bool ifmode, struct pp_macro *out)
{
	struct etoks raw = { 0 };
	int err = pp_tokenize(text, &raw);

	if (!err)
		err = pp_evaluate_tokens(&raw, ifmode, out);
	pp_etoks_free(&raw);
	return err;
}

int pp_eval(const char *expr, int64_t *out)
{
	struct pp_macro v = { 0 };
	int err = pp_evaluate(expr, false, &v);

	if (!err && v.kind != PP_INT)
		err = -EINVAL;
	if (!err)
		*out = v.value;
	free(v.str);
	return err;
}
