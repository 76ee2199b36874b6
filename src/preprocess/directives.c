/*
 * directives.c - one row per directive name, each with its handler.  Conditionals run in
 * skipped regions too (to track nesting); every other directive only where lines are
 * active.  The script's mistakes are located errors; headers are read leniently (their
 * unknown or malformed directives are ignored), since sonde only wants their constants.
 */
#include "pp_impl.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

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
	m = pp_tab_set(&pp_header_tab, name, trim(p + 1));
	m->funclike = true;
	m->variadic = variadic;
	m->params = params;
	m->nparams = n;
	return;
bad:
	while (n)
		free(params[--n]);
	free(params);
	pp_tab_remove(&pp_header_tab, name);
}

/* A directive being handled. */
struct dctx {
	struct pp *pp;
	struct src *s;
	struct conds *cs;
	const char *name;	/* its name, as written */
	const char *d;		/* its joined text after '#' */
	const char *p;		/* just after the name */
	size_t doff;		/* the offset of d[0] in the file */
	struct loc loc;		/* '#' and the name (the script only) */
	bool script;		/* in the script, not a header */
};

/* ---- conditionals ---- */

static void cond_push(struct dctx *x, bool val)
{
	/* x->loc is only set in the script: a header's conditional has no location */
	struct cond c = { .parent_active = x->cs->active, .loc = x->loc };

	c.taken = val || !x->cs->active;
	xgrow((void **)&x->cs->v, &x->cs->cap, x->cs->n + 1, sizeof(*x->cs->v));
	x->cs->v[x->cs->n++] = c;
	x->cs->active = x->cs->active && val;
}

static int d_if(struct dctx *x)
{
	struct pp_macro v = { 0 };
	bool val = false;
	int err = 0;

	if (x->cs->active) {
		int e = pp_evaluate(x->p, true, &v);

		/* headers are lenient (false); the script gets told */
		if ((e || v.kind != PP_INT) && x->script) {
			diag_error(&x->loc, "#%s: invalid integer constant expression", x->name);
			err = -EINVAL;
		}
		val = e == 0 && v.kind == PP_INT && v.value != 0;
	}
	cond_push(x, val);
	return err;
}

/* #ifdef and #ifndef */
static int d_ifdef(struct dctx *x)
{
	bool val = false;
	int err = 0;

	if (x->cs->active) {
		const char *p = x->p;
		char *id = read_ident(&p);

		if (!id && x->script) {
			diag_error(&x->loc, "#%s expects a macro name", x->name);
			err = -EINVAL;
		}
		val = id && pp_macro_defined(id) == !strcmp(x->name, "ifdef");
		free(id);
	}
	cond_push(x, val);
	return err;
}

/* The innermost conditional, for #elif and #else; NULL (reported in the script) if none. */
static struct cond *cond_current(struct dctx *x, int *err)
{
	struct cond *c;

	if (!x->cs->n) {
		if (x->script) {
			diag_error(&x->loc, "#%s without #if", x->name);
			*err = -EINVAL;
		}
		return NULL;
	}
	c = &x->cs->v[x->cs->n - 1];
	if (c->seen_else && x->script) {
		diag_error(&x->loc, "#%s after #else", x->name);
		*err = -EINVAL;
		return NULL;
	}
	return c;
}

static int d_elif(struct dctx *x)
{
	struct pp_macro v = { 0 };
	int err = 0;
	struct cond *c = cond_current(x, &err);
	bool val = false;

	if (!c)
		return err;
	if (c->parent_active && !c->taken)
		val = pp_evaluate(x->p, true, &v) == 0 && v.value != 0;
	x->cs->active = val;
	c->taken = c->taken || val;
	return 0;
}

static int d_else(struct dctx *x)
{
	int err = 0;
	struct cond *c = cond_current(x, &err);

	if (!c)
		return err;
	c->seen_else = true;
	x->cs->active = c->parent_active && !c->taken;
	c->taken = true;
	return 0;
}

static int d_endif(struct dctx *x)
{
	if (!x->cs->n) {
		if (x->script) {
			diag_error(&x->loc, "#endif without #if");
			return -EINVAL;
		}
		return 0;
	}
	x->cs->active = x->cs->v[--x->cs->n].parent_active;
	return 0;
}

/* ---- macros ---- */

static int d_define(struct dctx *x)
{
	const char *d = x->d, *p = x->p, *q = p;
	char *mname = read_ident(&q);
	struct src *s = x->s;
	struct macro *m;

	if (!mname) {
		if (x->script) {
			struct loc l = pp_loc_at(s, x->doff + (size_t)(q - d), strcspn(q, " \t"));

			diag_error(*q ? &l : &x->loc, "macro names must be identifiers");
			return -EINVAL;
		}
		return 0;
	}
	if (*q == '(') {
		int err = 0;

		if (x->script) {
			struct loc l = pp_loc_at(s, x->doff + (size_t)(p - d) +
						 (size_t)strspn(p, " \t"), strlen(mname));

			diag_error(&l, "function-like macros are not supported: '%s'", mname);
			err = -EINVAL;
		} else {
			define_funclike(mname, q + 1);
		}
		free(mname);
		return err;
	}
	if (*q && !isspace((unsigned char)*q)) {
		int err = 0;

		if (x->script) {
			struct loc l = pp_loc_at(s, x->doff + (size_t)(q - d), 1);

			diag_error(&l, "missing whitespace after the macro name");
			err = -EINVAL;
		}
		free(mname);
		return err;
	}
	m = pp_tab_set(x->script ? &pp_script_tab : &pp_header_tab, mname, trim(q));
	if (x->script) {
		size_t bo = (size_t)(q - d) + strspn(q, " \t");

		m->loc = pp_loc_at(s, x->doff + bo, MAX(strlen(m->body), (size_t)1));
		if (!m->body[0])
			m->loc = pp_loc_at(s, x->doff + (size_t)(p - d) + strspn(p, " \t"),
					   strlen(mname));
	}
	free(mname);
	return 0;
}

static int d_undef(struct dctx *x)
{
	const char *p = x->p;
	char *id = read_ident(&p);

	if (!id) {
		if (x->script) {
			diag_error(&x->loc, "macro names must be identifiers");
			return -EINVAL;
		}
		return 0;
	}
	pp_tab_remove(&pp_script_tab, id);
	pp_tab_remove(&pp_header_tab, id);
	free(id);
	return 0;
}

/* ---- files and messages ---- */

/* #include and #include_next */
static int d_include(struct dctx *x)
{
	const char *q = x->p;
	char close, *file;
	const char *e;
	int err;

	while (*q == ' ' || *q == '\t')
		q++;
	close = *q == '<' ? '>' : *q == '"' ? '"' : 0;
	e = close ? strchr(q + 1, close) : NULL;
	if (!e) {
		if (x->script) {
			diag_error(&x->loc, "#include expects \"FILENAME\" or <FILENAME>");
			return -EINVAL;
		}
		return 0;
	}
	file = xstrndup(q + 1, (size_t)(e - q - 1));
	err = pp_include(x->pp, x->s, file, close == '"', x->name[7] == '_');
	if (err == -ENOENT) {
		if (x->script)
			diag_error(&x->loc, "'%s' file not found", file);
		else
			diag_verbose("sonde: header %s not found in %s\n", file, x->s->path);
		err = x->script ? -EINVAL : 0;
	}
	free(file);
	return err;
}

static int d_error(struct dctx *x)
{
	char *msg = trim(x->p);
	int err = 0;

	if (x->script) {
		diag_error(&x->loc, "#error %s", msg);
		err = -EINVAL;
	} else {
		diag_verbose("sonde: ignoring #error in %s: %s\n", x->s->path, msg);
	}
	free(msg);
	return err;
}

/* Directives sonde has no use for. */
static int d_ignore(struct dctx *x)
{
	(void)x;
	return 0;
}

static const struct {
	const char *name;
	int (*handle)(struct dctx *x);
	bool in_skipped;	/* also in a skipped region: the conditionals */
} directives[] = {
	{ "if", d_if, true },
	{ "ifdef", d_ifdef, true },
	{ "ifndef", d_ifdef, true },
	{ "elif", d_elif, true },
	{ "else", d_else, true },
	{ "endif", d_endif, true },
	{ "define", d_define, false },
	{ "undef", d_undef, false },
	{ "include", d_include, false },
	{ "include_next", d_include, false },
	{ "error", d_error, false },
	{ "pragma", d_ignore, false },
	{ "warning", d_ignore, false },
	{ "line", d_ignore, false },
	{ "ident", d_ignore, false },
	{ "sccs", d_ignore, false },
	{ "assert", d_ignore, false },
	{ "unassert", d_ignore, false },
};

int pp_directive(struct pp *pp, struct src *s, const char *d, size_t dstart, size_t doff,
		 struct conds *cs)
{
	struct dctx x = { .pp = pp, .s = s, .cs = cs, .d = d, .doff = doff, .script = !s->path };
	const char *p = d;
	char *name = read_ident(&p);
	size_t i;
	int err = 0;

	if (x.script)
		x.loc = pp_loc_at(s, dstart, (size_t)(p - d) + 1);
	if (!name) {
		while (isspace((unsigned char)*p))
			p++;
		if (!*p)
			return 0;	/* the null directive */
		if (cs->active && x.script) {
			diag_error(&x.loc, "invalid preprocessing directive");
			return -EINVAL;
		}
		return 0;
	}
	x.name = name;
	x.p = p;
	for (i = 0; i < ARRAY_SIZE(directives) && strcmp(directives[i].name, name); i++)
		;
	if (i < ARRAY_SIZE(directives) && (cs->active || directives[i].in_skipped)) {
		err = directives[i].handle(&x);
	} else if (cs->active && x.script) {
		diag_error(&x.loc, "invalid preprocessing directive #%s", name);
		err = -EINVAL;
	}
	free(name);
	return err;
}
