/*
 * preprocess.c - what bpftrace hands to clang's preprocessor, done in-house.
 *
 * bpftrace 0.17 runs the script through clang, so `#include <linux/in.h>` fails on a machine
 * without kernel headers, and even with them AF_INET is missing (linux/in.h never defines
 * it).  sonde instead reads headers only for their object-like macros and enum constants,
 * never for types (those come from BTF), and falls back on a built-in table of kernel
 * constants (kconsts.c).  A header that cannot be found is therefore not an error.
 *
 * The script keeps its shape: every directive line, shebang, inactive #if region and
 * top-level C definition is overwritten with spaces (newlines kept), so the lexer's
 * line:column locations are those of the original text.
 *
 * Macros are stored as text and evaluated when asked for, the way cpp expands them at use:
 * `#define AF_INET PF_INET` before PF_INET is defined still works.  Evaluation expands macros
 * token by token (a macro is not re-expanded inside itself, so linux/in.h's
 * `#define IPPROTO_IP IPPROTO_IP` falls through to the enum constant), then evaluates a C
 * constant expression with C's int/long/unsigned rules, so `~0U` is 4294967295.  Headers'
 * function-like macros are kept for use inside other macros (with # and ##), so
 * UINT64_MAX and _IOR(0x12, 114, size_t) evaluate; they are never constants themselves, and
 * a script may not define one, since a probe could not call it.
 */
#include "preprocess.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cdecl.h"
#include "diag.h"
#include "util.h"

/* ---- macro tables ---- */

struct macro {
	struct macro *next;
	char *name;
	char *body;		/* the replacement text; NULL for values (enums, built-ins) */
	bool funclike;		/* NAME(params) body: expanded only where it is called */
	bool variadic;		/* the last parameter is __VA_ARGS__ */
	char **params;
	size_t nparams;
	int state;		/* 0 not evaluated yet, 1 constant, -1 not a constant */
	bool busy;		/* being expanded: not expanded again inside itself */
	struct pp_macro val;
	struct loc loc;		/* script macros: where the body is */
};

#define NBUCKETS 512

struct table {
	struct macro *b[NBUCKETS];
};

static struct table script_tab;	/* the script's #defines */
static struct table header_tab;	/* headers' #defines and the compiler's predefined macros */
static struct table enum_tab;	/* headers' enum constants */
static struct table value_tab;	/* script enum and built-in values, for pp_lookup to point at */
static char **seen_files;	/* headers already read (realpath) */
static size_t nseen, seen_cap;

static unsigned hash(const char *s)
{
	unsigned h = 5381;

	while (*s)
		h = h * 33 + (unsigned char)*s++;
	return h % NBUCKETS;
}

static struct macro *tab_find(struct table *t, const char *name)
{
	struct macro *m;

	for (m = t->b[hash(name)]; m; m = m->next)
		if (strcmp(m->name, name) == 0)
			return m;
	return NULL;
}

static void macro_free(struct macro *m)
{
	size_t i;

	for (i = 0; i < m->nparams; i++)
		free(m->params[i]);
	free(m->params);
	free(m->name);
	free(m->body);
	free(m->val.str);
	free(m);
}

static void tab_remove(struct table *t, const char *name)
{
	struct macro **pp = &t->b[hash(name)];

	for (; *pp; pp = &(*pp)->next) {
		if (strcmp((*pp)->name, name) == 0) {
			struct macro *m = *pp;

			*pp = m->next;
			macro_free(m);
			return;
		}
	}
}

/* Add or replace name; body is taken over. */
static struct macro *tab_set(struct table *t, const char *name, char *body)
{
	struct macro *m = xcalloc(1, sizeof(*m));
	unsigned h = hash(name);

	tab_remove(t, name);
	m->name = xstrdup(name);
	m->body = body;
	m->next = t->b[h];
	t->b[h] = m;
	return m;
}

static void tab_clear(struct table *t)
{
	size_t i;

	for (i = 0; i < NBUCKETS; i++) {
		while (t->b[i]) {
			struct macro *m = t->b[i];

			t->b[i] = m->next;
			macro_free(m);
		}
	}
}

/* A macro that cpp would expand: the script's first, then headers'. */
static struct macro *find_macro(const char *name)
{
	struct macro *m = tab_find(&script_tab, name);

	return m ? m : tab_find(&header_tab, name);
}

/* ---- expression tokens ---- */

enum etok_kind { E_NUM, E_STR, E_IDENT, E_PUNCT };

struct val {
	uint64_t v;
	bool uns;
	uint8_t size;		/* 4 or 8: C's int/long */
};

struct etok {
	enum etok_kind kind;
	char *text;		/* spelling; E_STR: the decoded value */
	struct val val;		/* E_NUM */
	bool blocked;		/* E_IDENT: a macro that must not expand (inside itself) */
};

struct etoks {
	struct etok *t;
	size_t n, cap;
};

static void etoks_free(struct etoks *ts)
{
	size_t i;

	for (i = 0; i < ts->n; i++)
		free(ts->t[i].text);
	free(ts->t);
	ts->t = NULL;
	ts->n = ts->cap = 0;
}

static struct etok *etoks_push(struct etoks *ts, enum etok_kind kind)
{
	struct etok *t;

	xgrow((void **)&ts->t, &ts->cap, ts->n + 1, sizeof(*ts->t));
	t = &ts->t[ts->n++];
	memset(t, 0, sizeof(*t));
	t->kind = kind;
	return t;
}

static struct val norm(struct val a)
{
	if (a.size == 4)
		a.v = a.uns ? (uint32_t)a.v : (uint64_t)(int64_t)(int32_t)(uint32_t)a.v;
	return a;
}

/* An integer literal with C's typing rules; -EINVAL if it is not one (e.g. a float). */
static int parse_number(const char *s, size_t n, struct val *out)
{
	char buf[80], *end;
	bool dec, has_u = false;
	int nl = 0;
	uint64_t v;

	if (n >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, n);
	buf[n] = '\0';
	errno = 0;
	if (buf[0] == '0' && (buf[1] == 'b' || buf[1] == 'B'))
		v = strtoull(buf + 2, &end, 2);
	else
		v = strtoull(buf, &end, 0);
	if (errno)
		return -EINVAL;
	dec = buf[0] != '0' || n == 1;
	for (; *end; end++) {
		if (*end == 'u' || *end == 'U')
			has_u = true;
		else if (*end == 'l' || *end == 'L')
			nl++;
		else
			return -EINVAL;
	}
	out->v = v;
	if (!has_u && !nl && v <= INT32_MAX) {
		out->size = 4, out->uns = false;
	} else if (!dec && !has_u && !nl && v <= UINT32_MAX) {
		out->size = 4, out->uns = true;
	} else if (has_u && !nl && v <= UINT32_MAX) {
		out->size = 4, out->uns = true;
	} else {
		out->size = 8;
		out->uns = has_u || v > INT64_MAX;
	}
	return 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decode one (possibly escaped) character at *p of a literal; advances *p. */
static int decode_char(const char **p)
{
	const char *s = *p;
	int c, i;

	if (*s != '\\') {
		*p = s + 1;
		return (unsigned char)*s;
	}
	s++;
	if (!*s) {
		/* a backslash at the very end: stay on the terminating NUL */
		*p = s;
		return '\\';
	}
	switch (*s) {
	case 'n': c = '\n'; break;
	case 't': c = '\t'; break;
	case 'r': c = '\r'; break;
	case 'a': c = '\a'; break;
	case 'b': c = '\b'; break;
	case 'f': c = '\f'; break;
	case 'v': c = '\v'; break;
	case 'e': c = 27; break;
	case 'x':
		c = 0;
		for (s++; hexval(*s) >= 0; s++)
			c = (c * 16 + hexval(*s)) & 0xfff;	/* as C: only the low byte counts */
		*p = s;
		return c & 0xff;
	default:
		if (*s >= '0' && *s <= '7') {
			c = 0;
			for (i = 0; i < 3 && *s >= '0' && *s <= '7'; i++, s++)
				c = c * 8 + (*s - '0');
			*p = s;
			return c & 0xff;
		}
		c = (unsigned char)*s;	/* \\ \' \" \? */
		break;
	}
	*p = s + 1;
	return c;
}

static const char *const puncts3[] = { "<<=", ">>=", "..." };
static const char *const puncts2[] = { "<<", ">>", "<=", ">=", "==", "!=", "&&", "||", "##", "->",
				       "++", "--", "+=", "-=", "*=", "/=" };

/* Split text into tokens.  -EINVAL for what cannot be part of a constant. */
static int tokenize(const char *s, struct etoks *ts)
{
	while (*s) {
		size_t n, i;
		struct etok *t;

		if (isspace((unsigned char)*s)) {
			s++;
			continue;
		}
		if (s[0] == '/' && s[1] == '*') {
			const char *e = strstr(s + 2, "*/");

			s = e ? e + 2 : s + strlen(s);
			continue;
		}
		if (s[0] == '/' && s[1] == '/')
			break;
		if (isalpha((unsigned char)*s) || *s == '_') {
			for (n = 1; isalnum((unsigned char)s[n]) || s[n] == '_'; n++)
				;
			/* L"..." and u8'x' prefixes are not worth supporting */
			t = etoks_push(ts, E_IDENT);
			t->text = xstrndup(s, n);
			s += n;
			continue;
		}
		if (isdigit((unsigned char)*s) || (*s == '.' && isdigit((unsigned char)s[1]))) {
			for (n = 1; isalnum((unsigned char)s[n]) || s[n] == '_' || s[n] == '.'; n++)
				;
			t = etoks_push(ts, E_NUM);
			t->text = xstrndup(s, n);
			if (parse_number(s, n, &t->val))
				return -EINVAL;
			s += n;
			continue;
		}
		if (*s == '\'') {
			const char *p = s + 1;
			int c;

			if (*p == '\'' || !*p)
				return -EINVAL;
			c = decode_char(&p);
			if (*p != '\'')
				return -EINVAL;
			t = etoks_push(ts, E_NUM);
			t->text = xstrndup(s, (size_t)(p + 1 - s));
			/* A char constant is an int holding a (signed) char. */
			t->val.v = (uint64_t)(int64_t)(signed char)c;
			t->val.size = 4;
			s = p + 1;
			continue;
		}
		if (*s == '"') {
			struct strbuf sb;
			const char *p = s + 1;

			sb_init(&sb);
			while (*p && *p != '"')
				sb_putc(&sb, (char)decode_char(&p));
			if (*p != '"') {
				sb_free(&sb);
				return -EINVAL;
			}
			t = etoks_push(ts, E_STR);
			t->text = sb_steal(&sb);
			s = p + 1;
			continue;
		}
		n = 1;
		for (i = 0; i < ARRAY_SIZE(puncts3); i++)
			if (strncmp(s, puncts3[i], 3) == 0)
				n = 3;
		for (i = 0; n == 1 && i < ARRAY_SIZE(puncts2); i++)
			if (strncmp(s, puncts2[i], 2) == 0)
				n = 2;
		if (n == 1 && !strchr("()+-*/%<>&|^~!?:,=[]{};.#", *s))
			return -EINVAL;
		t = etoks_push(ts, E_PUNCT);
		t->text = xstrndup(s, n);
		s += n;
	}
	return 0;
}

static bool is_punct(const struct etok *t, const char *s)
{
	return t->kind == E_PUNCT && strcmp(t->text, s) == 0;
}

static bool macro_defined(const char *name)
{
	return find_macro(name) != NULL;
}

static int expand(const struct etoks *in, struct etoks *out, bool ifmode, int depth);

static void push_copy(struct etoks *out, const struct etok *t)
{
	struct etok *o = etoks_push(out, t->kind);

	*o = *t;
	o->text = t->text ? xstrdup(t->text) : NULL;
}

/* The spelling of a token, for # and ## (strings re-quoted without escapes). */
static void spell(struct strbuf *sb, const struct etok *t)
{
	if (t->kind == E_STR) {
		sb_putc(sb, '"');
		sb_puts(sb, t->text);
		sb_putc(sb, '"');
	} else {
		sb_puts(sb, t->text ? t->text : "");
	}
}

/* a ## b: the last token of out and t become one token. */
static int paste(struct etoks *out, const struct etok *t)
{
	struct strbuf sb;
	struct etoks ts = { 0 };
	size_t i;
	int err;

	if (!out->n) {
		push_copy(out, t);
		return 0;
	}
	sb_init(&sb);
	spell(&sb, &out->t[out->n - 1]);
	spell(&sb, t);
	err = tokenize(sb.buf, &ts);
	sb_free(&sb);
	if (!err) {
		free(out->t[out->n - 1].text);
		out->n--;
		for (i = 0; i < ts.n; i++)
			push_copy(out, &ts.t[i]);
	}
	etoks_free(&ts);
	return err;
}

/*
 * m(args) at in->t[*pos]: substitute the arguments (expanded, or as written next to # and
 * ##), paste, and rescan with m itself blocked.  *pos ends on the closing parenthesis.
 */
static int expand_call(struct macro *m, const struct etoks *in, size_t *pos, struct etoks *out,
		       bool ifmode, int depth)
{
	struct etoks *args = NULL, body = { 0 }, subst = { 0 };
	size_t nargs = 1, i = *pos + 2, a, j;
	int level = 0, err = 0;
	bool pasting = false;

	args = xcalloc(m->nparams + 1, sizeof(*args));
	for (; i < in->n; i++) {
		const struct etok *t = &in->t[i];

		if (level == 0 && is_punct(t, ")"))
			break;
		if (is_punct(t, "("))
			level++;
		else if (is_punct(t, ")"))
			level--;
		if (level == 0 && is_punct(t, ",") &&
		    !(m->variadic && nargs == m->nparams)) {
			if (nargs++ > m->nparams) {
				err = -EINVAL;
				goto out;
			}
			continue;
		}
		if (nargs <= m->nparams)
			push_copy(&args[nargs - 1], t);
	}
	if (i >= in->n || nargs > (m->nparams ? m->nparams : 1) ||
	    (nargs < m->nparams && !(m->variadic && nargs == m->nparams - 1))) {
		err = -EINVAL;
		goto out;
	}
	*pos = i;
	err = tokenize(m->body, &body);
	for (j = 0; !err && j < body.n; j++) {
		const struct etok *t = &body.t[j];
		bool next_paste = j + 1 < body.n && is_punct(&body.t[j + 1], "##");
		struct etoks expanded = { 0 };
		const struct etoks *arg = NULL;

		if (is_punct(t, "##")) {
			pasting = true;
			continue;
		}
		if (is_punct(t, "#") && j + 1 < body.n && body.t[j + 1].kind == E_IDENT) {
			for (a = 0; a < m->nparams; a++)
				if (!strcmp(m->params[a], body.t[j + 1].text))
					break;
			if (a < m->nparams) {
				struct strbuf sb;
				struct etok *o;
				size_t k;

				sb_init(&sb);
				for (k = 0; k < args[a].n; k++) {
					if (k)
						sb_putc(&sb, ' ');
					spell(&sb, &args[a].t[k]);
				}
				o = etoks_push(&subst, E_STR);
				o->text = sb_steal(&sb);
				j++;
				pasting = false;
				continue;
			}
		}
		if (t->kind == E_IDENT) {
			for (a = 0; a < m->nparams; a++)
				if (!strcmp(m->params[a], t->text))
					break;
			if (a < m->nparams) {
				arg = &args[a];
				if (!pasting && !next_paste) {
					err = expand(arg, &expanded, ifmode, depth + 1);
					arg = &expanded;
				}
			}
		}
		if (arg) {
			for (a = 0; !err && a < arg->n; a++) {
				if (a == 0 && pasting)
					err = paste(&subst, &arg->t[0]);
				else
					push_copy(&subst, &arg->t[a]);
			}
		} else if (pasting) {
			err = paste(&subst, t);
		} else {
			push_copy(&subst, t);
		}
		etoks_free(&expanded);
		pasting = false;
	}
	if (!err) {
		m->busy = true;
		err = expand(&subst, out, ifmode, depth + 1);
		m->busy = false;
	}
out:
	for (a = 0; a <= m->nparams; a++)
		etoks_free(&args[a]);
	free(args);
	etoks_free(&body);
	etoks_free(&subst);
	return err;
}

/*
 * Expand macros in in[] into out[].  ifmode handles `defined`.  -EINVAL when a
 * function-like macro is called (its value is not knowable here).
 */
static int expand(const struct etoks *in, struct etoks *out, bool ifmode, int depth)
{
	size_t i;

	if (depth > 64)
		return -EINVAL;
	for (i = 0; i < in->n; i++) {
		const struct etok *t = &in->t[i];
		struct macro *m;
		struct etok *o;

		if (t->kind == E_IDENT && ifmode && strcmp(t->text, "defined") == 0) {
			const char *name = NULL;

			if (i + 1 < in->n && in->t[i + 1].kind == E_IDENT) {
				name = in->t[++i].text;
			} else if (i + 3 < in->n && is_punct(&in->t[i + 1], "(") &&
				   in->t[i + 2].kind == E_IDENT && is_punct(&in->t[i + 3], ")")) {
				name = in->t[i + 2].text;
				i += 3;
			} else {
				return -EINVAL;
			}
			o = etoks_push(out, E_NUM);
			o->val.v = macro_defined(name);
			o->val.size = 8;
			o->text = xstrdup(o->val.v ? "1" : "0");
			continue;
		}
		if (t->kind == E_IDENT && !t->blocked && (m = find_macro(t->text))) {
			struct etoks body = { 0 };
			int err;

			if (m->busy) {
				o = etoks_push(out, E_IDENT);
				o->text = xstrdup(t->text);
				o->blocked = true;
				continue;
			}
			if (m->funclike) {
				if (i + 1 >= in->n || !is_punct(&in->t[i + 1], "(")) {
					/* a function-like macro's name alone is just a name */
					o = etoks_push(out, E_IDENT);
					o->text = xstrdup(t->text);
					continue;
				}
				err = expand_call(m, in, &i, out, ifmode, depth);
				if (err)
					return err;
				continue;
			}
			err = tokenize(m->body, &body);
			if (!err) {
				m->busy = true;
				err = expand(&body, out, ifmode, depth + 1);
				m->busy = false;
			}
			etoks_free(&body);
			if (err)
				return err;
			continue;
		}
		push_copy(out, t);
	}
	return 0;
}

/* ---- expression evaluation ---- */

struct eval {
	const struct etoks *ts;
	size_t i;
	bool ifmode;		/* #if: unknown identifiers are 0, arithmetic is 64-bit */
	int err;
};

static const struct etok *peek(struct eval *e)
{
	return e->i < e->ts->n ? &e->ts->t[e->i] : NULL;
}

static bool accept(struct eval *e, const char *p)
{
	const struct etok *t = peek(e);

	if (t && is_punct(t, p)) {
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
		if (is_punct(&ts->t[i], ")")) {
			*end = i;
			return i + 1 < ts->n;
		}
		if (ts->t[i].kind != E_IDENT && !is_punct(&ts->t[i], "*"))
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

		if (is_punct(k, "(") || is_punct(k, "["))
			depth++;
		if ((is_punct(k, ")") || is_punct(k, "]")) && depth-- == 0)
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

static struct val parse_unary(struct eval *e)
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
	if (is_punct(t, "(")) {
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
			if (peek(e) && is_punct(peek(e), "("))
				e->err = -EINVAL;
			return mkint(0);
		}
		if ((m = tab_find(&enum_tab, t->text))) {
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
			if (is_punct(t, levels[level][k]))
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

/* Evaluate tokens: an integer, or (values only) a string literal.  0 or -EINVAL. */
static int evaluate_tokens(const struct etoks *raw, bool ifmode, struct pp_macro *out)
{
	struct etoks ts = { 0 };
	struct eval e = { .ts = &ts, .ifmode = ifmode };
	struct val v;
	size_t i;
	int err;

	err = expand(raw, &ts, ifmode, 0);
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
	etoks_free(&ts);
	return err;
}

static int evaluate(const char *text, bool ifmode, struct pp_macro *out)
{
	struct etoks raw = { 0 };
	int err = tokenize(text, &raw);

	if (!err)
		err = evaluate_tokens(&raw, ifmode, out);
	etoks_free(&raw);
	return err;
}

int pp_eval(const char *expr, int64_t *out)
{
	struct pp_macro v = { 0 };
	int err = evaluate(expr, false, &v);

	if (!err && v.kind != PP_INT)
		err = -EINVAL;
	if (!err)
		*out = v.value;
	free(v.str);
	return err;
}

/* Evaluate m once; its value is cached. */
static int macro_eval(struct macro *m)
{
	if (!m->state) {
		if (!m->body || m->funclike) {
			m->state = -1;
		} else {
			m->busy = true;
			m->state = evaluate(m->body, false, &m->val) ? -1 : 1;
			m->busy = false;
		}
	}
	return m->state > 0 ? 0 : -ENOENT;
}

int pp_lookup(const char *name, const struct pp_macro **out)
{
	struct macro *m;
	int64_t v;

	if ((m = tab_find(&script_tab, name)) && macro_eval(m) == 0)
		goto found;
	if ((m = tab_find(&header_tab, name)) && macro_eval(m) == 0)
		goto found;
	if ((m = tab_find(&enum_tab, name)))
		goto found;
	/* The script's own enum constants before the built-in ones. */
	if (cdecl_find_enum_value(name, &v) && kconst_lookup(name, &v))
		return -ENOENT;
	m = tab_find(&value_tab, name);
	if (!m)
		m = tab_set(&value_tab, name, NULL);
	m->state = 1;
	m->val.kind = PP_INT;
	m->val.value = v;
found:
	*out = &m->val;
	return 0;
}

/* ---- files and directives ---- */

struct src {
	const char *text;	/* original text */
	char *clean;		/* comments blanked; newlines inside comments are '\v' */
	char *out;		/* the script: blanked in place; NULL for headers */
	const char *path;	/* NULL for the script */
	char *dir;		/* for #include "..." */
	int dir_index;		/* where in the search list the file was found; -1 */
	size_t *lines;		/* script: offset of each line start */
	size_t nlines;
	struct strbuf ctext;	/* headers: the active C text, for enum constants */
};

struct cond {
	bool parent_active;
	bool taken;		/* some branch was already taken */
	bool seen_else;
	struct loc loc;
};

struct pp {
	const struct pp_options *opts;
	const char **dirs;	/* the search list */
	size_t ndirs;
	int depth;
};

static int process(struct pp *pp, struct src *s);

static struct loc loc_at(const struct src *s, size_t off, size_t len)
{
	struct loc l;
	size_t lo = 0, hi = s->nlines;

	while (hi - lo > 1) {
		size_t mid = (lo + hi) / 2;

		if (s->lines[mid] <= off)
			lo = mid;
		else
			hi = mid;
	}
	l.first_line = l.last_line = (int)lo + 1;
	l.first_column = (int)(off - s->lines[lo]) + 1;
	l.last_column = l.first_column + (int)(len ? len : 1);
	return l;
}

static void blank(char *out, size_t from, size_t to)
{
	for (; from < to && out[from]; from++)
		if (out[from] != '\n')
			out[from] = ' ';
}

/* Comments become spaces, so that directives and C text can be scanned without them. */
static char *make_clean(const char *text)
{
	size_t n = strlen(text), i = 0;
	char *c = xstrdup(text);

	while (i < n) {
		if (text[i] == '/' && text[i + 1] == '*') {
			c[i] = c[i + 1] = ' ';
			for (i += 2; i < n && !(text[i] == '*' && text[i + 1] == '/'); i++)
				c[i] = text[i] == '\n' ? '\v' : ' ';
			if (i < n)
				c[i] = c[i + 1] = ' ', i += 2;
		} else if (text[i] == '/' && text[i + 1] == '/') {
			for (; i < n && text[i] != '\n'; i++) {
				if (text[i] == '\\' && text[i + 1] == '\n')
					c[i++] = ' ';	/* a continued // comment */
				c[i] = ' ';
			}
		} else if (text[i] == '"' || text[i] == '\'') {
			char q = text[i++];

			for (; i < n && text[i] != q && text[i] != '\n'; i++)
				if (text[i] == '\\' && text[i + 1])
					i++;
			if (i < n && text[i] == q)
				i++;
		} else {
			i++;
		}
	}
	return c;
}

/* End of the logical line starting at off (the '\n' or the NUL), across continuations. */
static size_t line_end(const char *c, size_t off)
{
	for (;;) {
		const char *nl = strchr(c + off, '\n');
		size_t e;

		if (!nl)
			return off + strlen(c + off);
		e = (size_t)(nl - c);
		if (e > 0 && c[e - 1] == '\\') {
			off = e + 1;
			continue;
		}
		if (e > 1 && c[e - 1] == '\r' && c[e - 2] == '\\') {
			off = e + 1;
			continue;
		}
		return e;
	}
}

/* The directive's text with continuations joined and comment newlines as spaces. */
static char *join_lines(const char *c, size_t from, size_t to)
{
	struct strbuf sb;
	size_t i;

	sb_init(&sb);
	for (i = from; i < to; i++) {
		if (c[i] == '\\' && (c[i + 1] == '\n' || (c[i + 1] == '\r' && c[i + 2] == '\n'))) {
			i += c[i + 1] == '\r' ? 2 : 1;
			continue;
		}
		sb_putc(&sb, c[i] == '\v' || c[i] == '\r' ? ' ' : c[i]);
	}
	return sb_steal(&sb);
}

static bool file_seen(const char *path)
{
	char *real = realpath(path, NULL);
	size_t i;

	if (!real)
		return false;
	for (i = 0; i < nseen; i++) {
		if (strcmp(seen_files[i], real) == 0) {
			free(real);
			return true;
		}
	}
	xgrow((void **)&seen_files, &seen_cap, nseen + 1, sizeof(*seen_files));
	seen_files[nseen++] = real;
	return false;
}

static bool is_file(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return xstrdup(".");
	if (slash == path)
		return xstrdup("/");
	return xstrndup(path, (size_t)(slash - path));
}

/* Read and process a header; a missing one is only noted (-v). */
static int include_file(struct pp *pp, const char *path, int dir_index)
{
	struct src h = { 0 };
	char *text;
	size_t len;
	int err;

	if (file_seen(path))
		return 0;
	if (pp->depth >= 200) {
		diag_verbose("sonde: #include nested too deeply at %s\n", path);
		return 0;
	}
	err = read_file(path, &text, &len);
	if (err) {
		diag_verbose("sonde: cannot read header %s: %s\n", path, strerror(-err));
		return 0;
	}
	if (!len) {
		/* read_file leaves an empty file's buffer unterminated */
		free(text);
		text = xstrdup("");
	}
	diag_verbose("sonde: reading header %s\n", path);
	h.text = text;
	h.path = path;
	h.dir = dir_of(path);
	h.dir_index = dir_index;
	pp->depth++;
	err = process(pp, &h);
	pp->depth--;
	free(h.dir);
	free(text);
	return err;
}

/* <linux/sched.h>, <net/sock.h>, <asm/...>: a header of the kernel's own include tree. */
static bool kernel_header(const char *name)
{
	static const char *const dirs[] = { "linux/", "net/", "asm/", "asm-generic/", "uapi/",
					    "trace/", "kernel/", "generated/", "crypto/", "scsi/",
					    "rdma/", "video/", "drm/", "sound/", "xen/", "keys/",
					    "misc/", "mtd/", "acpi/", "soc/", "vdso/", "ras/" };

	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++)
		if (strncmp(name, dirs[i], strlen(dirs[i])) == 0)
			return true;
	return false;
}

/* #include NAME: search and read, or note that it is missing. */
static int do_include(struct pp *pp, const struct src *s, const char *name, bool quoted,
		      bool next)
{
	size_t i = 0;
	char *path;
	int err;

	if (name[0] == '/') {
		if (is_file(name))
			return include_file(pp, name, -1);
		goto missing;
	}
	if (quoted && !next) {
		path = xasprintf("%s/%s", s->dir, name);
		if (is_file(path)) {
			err = include_file(pp, path, s->dir_index);
			free(path);
			return err;
		}
		free(path);
	}
	if (next && s->dir_index >= 0)
		i = (size_t)s->dir_index + 1;
	for (; i < pp->ndirs; i++) {
		path = xasprintf("%s/%s", pp->dirs[i], name);
		if (is_file(path)) {
			err = include_file(pp, path, (int)i);
			free(path);
			return err;
		}
		free(path);
	}
missing:
	/*
	 * A kernel header may be missing (no kernel headers here: BTF and the built-in constants
	 * stand in for it); the script's own, or a library's header, may not.
	 */
	if (quoted || !kernel_header(name))
		return -ENOENT;
	diag_verbose("sonde: header %s not found; using built-in constants\n", name);
	return 0;
}

/* Read an identifier at *p (after spaces); NULL if there is none. */
static char *read_ident(const char **p)
{
	const char *s = *p, *b;

	while (*s == ' ' || *s == '\t' || *s == '\f')
		s++;
	b = s;
	if (!isalpha((unsigned char)*s) && *s != '_') {
		*p = s;
		return NULL;
	}
	while (isalnum((unsigned char)*s) || *s == '_')
		s++;
	*p = s;
	return xstrndup(b, (size_t)(s - b));
}

static char *trim(const char *s)
{
	size_t n;

	while (isspace((unsigned char)*s))
		s++;
	n = strlen(s);
	while (n && isspace((unsigned char)s[n - 1]))
		n--;
	return xstrndup(s, n);
}

/* Headers: NAME(a, b, ...) body, from just after the '('.  Malformed ones are dropped. */
static void define_funclike(const char *name, const char *p)
{
	char **params = NULL;
	size_t n = 0, cap = 0;
	bool variadic = false;
	struct macro *m;

	for (;;) {
		char *id;

		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == ')' && !n)
			break;
		if (!strncmp(p, "...", 3)) {
			variadic = true;
			id = xstrdup("__VA_ARGS__");
			p += 3;
		} else if (!(id = read_ident(&p))) {
			goto bad;
		}
		xgrow((void **)&params, &cap, n + 1, sizeof(*params));
		params[n++] = id;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == ')')
			break;
		if (*p != ',' || variadic)
			goto bad;
		p++;
	}
	m = tab_set(&header_tab, name, trim(p + 1));
	m->funclike = true;
	m->variadic = variadic;
	m->params = params;
	m->nparams = n;
	return;
bad:
	while (n)
		free(params[--n]);
	free(params);
	tab_remove(&header_tab, name);
}

/*
 * One directive.  d is its joined text after '#', dstart the offset of '#' in the file, and
 * doff the offset of d[0].  *active and the condition stack are updated.
 */
static int directive(struct pp *pp, struct src *s, const char *d, size_t dstart, size_t doff,
		     bool *active, struct cond **conds, size_t *nconds, size_t *cap)
{
	const char *p = d, *after;
	char *name = read_ident(&p);
	bool script = !s->path;
	struct loc loc = { 0 };
	int err = 0;

	if (script)
		loc = loc_at(s, dstart, (size_t)(p - d) + 1);
	if (!name) {
		while (isspace((unsigned char)*p))
			p++;
		if (!*p)
			return 0;	/* the null directive */
		if (*active && script) {
			diag_error(&loc, "invalid preprocessing directive");
			return -EINVAL;
		}
		return 0;
	}
	after = p;
	if (!strcmp(name, "if") || !strcmp(name, "ifdef") || !strcmp(name, "ifndef")) {
		struct cond c = { .parent_active = *active, .loc = script ? loc : (struct loc){ 0 } };
		bool val = false;

		if (*active) {
			if (name[2]) {
				char *id = read_ident(&p);

				if (!id && script) {
					diag_error(&loc, "#%s expects a macro name", name);
					err = -EINVAL;
				}
				val = id && macro_defined(id) == !strcmp(name, "ifdef");
				free(id);
			} else {
				struct pp_macro v = { 0 };
				int e = evaluate(after, true, &v);

				/* headers are lenient (false); the script gets told */
				if ((e || v.kind != PP_INT) && script) {
					diag_error(&loc, "#%s: invalid integer constant expression", name);
					err = -EINVAL;
				}
				val = e == 0 && v.kind == PP_INT && v.value != 0;
			}
		}
		c.taken = val || !*active;
		xgrow((void **)conds, cap, *nconds + 1, sizeof(**conds));
		(*conds)[(*nconds)++] = c;
		*active = *active && val;
	} else if (!strcmp(name, "elif") || !strcmp(name, "else")) {
		struct cond *c;

		if (!*nconds) {
			if (script) {
				diag_error(&loc, "#%s without #if", name);
				err = -EINVAL;
			}
			goto out;
		}
		c = &(*conds)[*nconds - 1];
		if (c->seen_else && script) {
			diag_error(&loc, "#%s after #else", name);
			err = -EINVAL;
			goto out;
		}
		if (name[1] == 'l' && name[2] == 's') {
			c->seen_else = true;
			*active = c->parent_active && !c->taken;
			c->taken = true;
		} else {
			struct pp_macro v = { 0 };
			bool val = false;

			if (c->parent_active && !c->taken)
				val = evaluate(after, true, &v) == 0 && v.value != 0;
			*active = val;
			c->taken = c->taken || val;
		}
	} else if (!strcmp(name, "endif")) {
		if (!*nconds) {
			if (script) {
				diag_error(&loc, "#endif without #if");
				err = -EINVAL;
			}
			goto out;
		}
		*active = (*conds)[--(*nconds)].parent_active;
	} else if (!*active) {
		/* everything else is ignored in a skipped region */
	} else if (!strcmp(name, "define")) {
		const char *q = p;
		char *mname = read_ident(&q);
		struct macro *m;

		if (!mname) {
			if (script) {
				struct loc l = loc_at(s, doff + (size_t)(q - d), strcspn(q, " \t"));

				diag_error(*q ? &l : &loc, "macro names must be identifiers");
				err = -EINVAL;
			}
			goto out;
		}
		if (*q == '(') {
			if (script) {
				struct loc l = loc_at(s, doff + (size_t)(p - d) +
						      (size_t)strspn(p, " \t"), strlen(mname));

				diag_error(&l, "function-like macros are not supported: '%s'", mname);
				err = -EINVAL;
			} else {
				define_funclike(mname, q + 1);
			}
			free(mname);
			goto out;
		}
		if (*q && !isspace((unsigned char)*q)) {
			if (script) {
				struct loc l = loc_at(s, doff + (size_t)(q - d), 1);

				diag_error(&l, "missing whitespace after the macro name");
				err = -EINVAL;
			}
			free(mname);
			goto out;
		}
		m = tab_set(script ? &script_tab : &header_tab, mname, trim(q));
		if (script) {
			size_t bo = (size_t)(q - d) + strspn(q, " \t");

			m->loc = loc_at(s, doff + bo, MAX(strlen(m->body), (size_t)1));
			if (!m->body[0])
				m->loc = loc_at(s, doff + (size_t)(p - d) + strspn(p, " \t"),
						strlen(mname));
		}
		free(mname);
	} else if (!strcmp(name, "undef")) {
		char *id = read_ident(&p);

		if (!id) {
			if (script) {
				diag_error(&loc, "macro names must be identifiers");
				err = -EINVAL;
			}
			goto out;
		}
		tab_remove(&script_tab, id);
		tab_remove(&header_tab, id);
		free(id);
	} else if (!strcmp(name, "include") || !strcmp(name, "include_next")) {
		const char *q = p;
		char close, *file;
		const char *e;

		while (*q == ' ' || *q == '\t')
			q++;
		close = *q == '<' ? '>' : *q == '"' ? '"' : 0;
		e = close ? strchr(q + 1, close) : NULL;
		if (!e) {
			if (script) {
				diag_error(&loc, "#include expects \"FILENAME\" or <FILENAME>");
				err = -EINVAL;
			}
			goto out;
		}
		file = xstrndup(q + 1, (size_t)(e - q - 1));
		err = do_include(pp, s, file, close == '"', name[7] == '_');
		if (err == -ENOENT) {
			if (script)
				diag_error(&loc, "'%s' file not found", file);
			else
				diag_verbose("sonde: header %s not found in %s\n", file, s->path);
			err = script ? -EINVAL : 0;
		}
		free(file);
	} else if (!strcmp(name, "error")) {
		char *msg = trim(after);

		if (script) {
			diag_error(&loc, "#error %s", msg);
			err = -EINVAL;
		} else {
			diag_verbose("sonde: ignoring #error in %s: %s\n", s->path, msg);
		}
		free(msg);
	} else if (!strcmp(name, "pragma") || !strcmp(name, "warning") || !strcmp(name, "line") ||
		   !strcmp(name, "ident") || !strcmp(name, "sccs") || !strcmp(name, "assert") ||
		   !strcmp(name, "unassert")) {
		/* nothing sonde needs */
	} else if (script) {
		diag_error(&loc, "invalid preprocessing directive #%s", name);
		err = -EINVAL;
	}
out:
	free(name);
	return err;
}

/* Headers: enum constants of the active C text (values may use macros and earlier ones). */
static void collect_enums(const char *text)
{
	struct etoks ts = { 0 };
	const char *p = text;
	size_t i;

	/* Tokenize loosely: anything the tokenizer rejects (floats, '#', '\\') is skipped. */
	while (*p) {
		const char *nl = strchr(p, '\n');
		char *line = nl ? xstrndup(p, (size_t)(nl - p)) : xstrdup(p);
		struct etoks lt = { 0 };

		if (tokenize(line, &lt) == 0 && lt.n) {
			xgrow((void **)&ts.t, &ts.cap, ts.n + lt.n, sizeof(*ts.t));
			memcpy(ts.t + ts.n, lt.t, lt.n * sizeof(*lt.t));
			ts.n += lt.n;
			free(lt.t);
		} else {
			etoks_free(&lt);
		}
		free(line);
		p = nl ? nl + 1 : p + strlen(p);
	}
	for (i = 0; i < ts.n; i++) {
		int64_t next_val = 0;
		bool known = true;

		if (ts.t[i].kind != E_IDENT || strcmp(ts.t[i].text, "enum"))
			continue;
		i++;
		if (i < ts.n && ts.t[i].kind == E_IDENT)
			i++;
		if (i >= ts.n || !is_punct(&ts.t[i], "{"))
			continue;
		for (i++; i < ts.n && !is_punct(&ts.t[i], "}");) {
			const char *name;
			struct macro *m;

			if (ts.t[i].kind != E_IDENT)
				break;
			name = ts.t[i++].text;
			if (i < ts.n && is_punct(&ts.t[i], "=")) {
				struct etoks slice;
				struct pp_macro v = { 0 };
				int depth = 0;
				size_t from = ++i;

				for (; i < ts.n; i++) {
					const struct etok *t = &ts.t[i];

					if (depth == 0 && (is_punct(t, ",") || is_punct(t, "}")))
						break;
					if (is_punct(t, "("))
						depth++;
					else if (is_punct(t, ")"))
						depth--;
				}
				slice = (struct etoks){ .t = ts.t + from, .n = i - from };
				known = evaluate_tokens(&slice, false, &v) == 0 && v.kind == PP_INT;
				free(v.str);
				next_val = v.value;
			}
			if (known && !tab_find(&enum_tab, name)) {
				m = tab_set(&enum_tab, name, NULL);
				m->state = 1;
				m->val.kind = PP_INT;
				m->val.value = next_val;
			}
			next_val++;
			if (i < ts.n && is_punct(&ts.t[i], ","))
				i++;
		}
	}
	etoks_free(&ts);
}

/* Directives, conditionals and (headers) C text of one file. */
static int process(struct pp *pp, struct src *s)
{
	struct cond *conds = NULL;
	size_t nconds = 0, cap = 0, off = 0, n;
	bool active = true;
	int err = 0, e;

	s->clean = make_clean(s->text);
	n = strlen(s->clean);
	if (!s->path && s->text[0] == '#' && s->text[1] == '!') {
		off = line_end(s->clean, 0);
		blank(s->out, 0, off);
	}
	if (s->path)
		sb_init(&s->ctext);
	while (off < n) {
		size_t ls = off, end, q = off;

		while (s->clean[q] == ' ' || s->clean[q] == '\t' || s->clean[q] == '\v' ||
		       s->clean[q] == '\f' || s->clean[q] == '\r')
			q++;
		end = line_end(s->clean, q);
		if (s->clean[q] == '#') {
			char *d = join_lines(s->clean, q + 1, end);

			e = directive(pp, s, d, q, q + 1, &active, &conds, &nconds, &cap);
			free(d);
			if (e && !err)
				err = e;
			if (s->out)
				blank(s->out, ls, end);
		} else if (!active) {
			if (s->out)
				blank(s->out, ls, end);
		} else if (s->path) {
			char *l = join_lines(s->clean, ls, end);

			sb_puts(&s->ctext, l);
			sb_putc(&s->ctext, '\n');
			free(l);
		}
		off = end + 1;
	}
	if (nconds && !s->path && !err) {
		diag_error(&conds[nconds - 1].loc, "unterminated conditional directive");
		err = -EINVAL;
	}
	if (s->path) {
		if (s->ctext.buf)
			collect_enums(s->ctext.buf);
		sb_free(&s->ctext);
	}
	free(conds);
	free(s->clean);
	s->clean = NULL;
	return err;
}

static bool is_def_keyword(const char *p, size_t *len)
{
	static const char *const kws[] = { "struct", "union", "enum", "typedef" };
	size_t i;

	for (i = 0; i < ARRAY_SIZE(kws); i++) {
		size_t n = strlen(kws[i]);

		if (strncmp(p, kws[i], n) == 0 && !isalnum((unsigned char)p[n]) && p[n] != '_') {
			*len = n;
			return true;
		}
	}
	return false;
}

/* Top-level C definitions: from the top of the (blanked) script to the first probe. */
static int definitions(struct src *s)
{
	size_t off = 0, kwlen;
	char *c = s->out;

	for (;;) {
		size_t consumed;
		struct loc start;
		int err;

		for (;;) {
			if (isspace((unsigned char)c[off])) {
				off++;
			} else if (c[off] == '/' && c[off + 1] == '/') {
				while (c[off] && c[off] != '\n')
					off++;
			} else if (c[off] == '/' && c[off + 1] == '*') {
				const char *e = strstr(c + off + 2, "*/");

				off = e ? (size_t)(e - c) + 2 : strlen(c);
			} else {
				break;
			}
		}
		if (!is_def_keyword(c + off, &kwlen))
			return 0;
		start = loc_at(s, off, kwlen);
		err = cdecl_parse_definitions(c + off, &start, &consumed);
		if (err)
			return err;
		if (!consumed)
			return 0;
		blank(c, off, off + consumed);
		off += consumed;
	}
}

static int cmp_loc(const void *a, const void *b)
{
	const struct macro *x = *(struct macro *const *)a, *y = *(struct macro *const *)b;

	if (x->loc.first_line != y->loc.first_line)
		return x->loc.first_line - y->loc.first_line;
	return x->loc.first_column - y->loc.first_column;
}

/* Every #define of the script must be a constant (or empty, for #ifdef). */
static int check_script_macros(void)
{
	struct macro **all = NULL;
	size_t n = 0, cap = 0, i;
	int err = 0;

	for (i = 0; i < NBUCKETS; i++) {
		struct macro *m;

		for (m = script_tab.b[i]; m; m = m->next) {
			xgrow((void **)&all, &cap, n + 1, sizeof(*all));
			all[n++] = m;
		}
	}
	if (n)
		qsort(all, n, sizeof(*all), cmp_loc);
	for (i = 0; i < n; i++) {
		if (!all[i]->body[0] || macro_eval(all[i]) == 0)
			continue;
		diag_error(&all[i]->loc,
			   "the value of macro '%s' is not an integer, string or character constant",
			   all[i]->name);
		err = -EINVAL;
	}
	free(all);
	return err;
}

/*
 * What a C compiler for x86-64 Linux predefines, for headers' #if.  Not __GNUC__: with it,
 * glibc's <limits.h> leaves INT_MAX and friends to GCC's private header.
 */
static void predefine(void)
{
	static const char *const defs[][2] = {
		{ "__x86_64__", "1" }, { "__x86_64", "1" }, { "__amd64__", "1" },
		{ "__linux__", "1" }, { "__linux", "1" }, { "__unix__", "1" }, { "__unix", "1" },
		{ "__LP64__", "1" }, { "_LP64", "1" }, { "__CHAR_BIT__", "8" },
		{ "__SIZEOF_INT__", "4" }, { "__SIZEOF_LONG__", "8" },
		{ "__SIZEOF_LONG_LONG__", "8" }, { "__SIZEOF_POINTER__", "8" },
		{ "__SIZEOF_SHORT__", "2" }, { "__ORDER_LITTLE_ENDIAN__", "1234" },
		{ "__ORDER_BIG_ENDIAN__", "4321" }, { "__BYTE_ORDER__", "1234" },
		{ "__STDC__", "1" }, { "__STDC_VERSION__", "201112L" },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(defs); i++)
		tab_set(&header_tab, defs[i][0], xstrdup(defs[i][1]));
	/*
	 * bpftrace defines this when the kernel has BTF; its tools then skip their hand-written
	 * copies of kernel structs and the headers that declared them.
	 */
	if (access("/sys/kernel/btf/vmlinux", R_OK) == 0)
		tab_set(&header_tab, "BPFTRACE_HAVE_BTF", xstrdup("1"));
}

int preprocess(const char *src, const struct pp_options *opts, char **out)
{
	static const char *const sys_dirs[] = {
		"/usr/local/include", "/usr/include/x86_64-linux-gnu", "/usr/include",
	};
	struct pp pp = { .opts = opts };
	struct src s = { .text = src, .dir_index = -1 };
	const char *name = diag_source_name();
	size_t i, cap = 0;
	int err = 0;

	pp.ndirs = (opts ? opts->ninclude_dirs : 0) + ARRAY_SIZE(sys_dirs);
	pp.dirs = xcalloc(pp.ndirs, sizeof(*pp.dirs));
	for (i = 0; opts && i < opts->ninclude_dirs; i++)
		pp.dirs[i] = opts->include_dirs[i];
	for (i = 0; i < ARRAY_SIZE(sys_dirs); i++)
		pp.dirs[pp.ndirs - ARRAY_SIZE(sys_dirs) + i] = sys_dirs[i];
	if (!tab_find(&header_tab, "__x86_64__"))
		predefine();

	s.out = xstrdup(src);
	s.dir = name && strcmp(name, "stdin") && strchr(name, '/') ? dir_of(name) : xstrdup(".");
	xgrow((void **)&s.lines, &cap, 1, sizeof(*s.lines));
	s.lines[s.nlines++] = 0;
	for (i = 0; src[i]; i++) {
		if (src[i] == '\n') {
			xgrow((void **)&s.lines, &cap, s.nlines + 1, sizeof(*s.lines));
			s.lines[s.nlines++] = i + 1;
		}
	}

	/* --include FILE: as if the script began with #include "FILE" */
	for (i = 0; opts && i < opts->ninclude_files && !err; i++) {
		err = do_include(&pp, &s, opts->include_files[i], true, false);
		if (err == -ENOENT) {
			diag_error(NULL, "--include: cannot find %s", opts->include_files[i]);
			err = -EINVAL;
		}
	}
	if (!err)
		err = process(&pp, &s);
	/* Definitions first: a #define may name one of the script's enum constants. */
	if (!err)
		err = definitions(&s);
	if (!err)
		err = check_script_macros();

	free(s.lines);
	free(s.dir);
	free(pp.dirs);
	if (err) {
		free(s.out);
		return -EINVAL;
	}
	*out = s.out;
	return 0;
}

void pp_cleanup(void)
{
	size_t i;

	tab_clear(&script_tab);
	tab_clear(&header_tab);
	tab_clear(&enum_tab);
	tab_clear(&value_tab);
	for (i = 0; i < nseen; i++)
		free(seen_files[i]);
	free(seen_files);
	seen_files = NULL;
	nseen = seen_cap = 0;
	cdecl_cleanup();
}
