/*
 * expand.c - macro expansion as cpp does it at a use: object-like macros rescanned with
 * themselves blocked (linux/in.h's `#define IPPROTO_IP IPPROTO_IP` ends on the enum
 * constant), function-like ones with their arguments substituted, # and ## applied.
 */
#include "pp_impl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void push_copy(struct etoks *out, const struct etok *t)
{
	struct etok *o = pp_etoks_push(out, t->kind);

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
	err = pp_tokenize(sb.buf, &ts);
	sb_free(&sb);
	if (!err) {
		free(out->t[out->n - 1].text);
		out->n--;
		for (i = 0; i < ts.n; i++)
			push_copy(out, &ts.t[i]);
	}
	pp_etoks_free(&ts);
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

		if (level == 0 && pp_is_punct(t, ")"))
			break;
		if (pp_is_punct(t, "("))
			level++;
		else if (pp_is_punct(t, ")"))
			level--;
		if (level == 0 && pp_is_punct(t, ",") &&
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
	err = pp_tokenize(m->body, &body);
	for (j = 0; !err && j < body.n; j++) {
		const struct etok *t = &body.t[j];
		bool next_paste = j + 1 < body.n && pp_is_punct(&body.t[j + 1], "##");
		struct etoks expanded = { 0 };
		const struct etoks *arg = NULL;

		if (pp_is_punct(t, "##")) {
			pasting = true;
			continue;
		}
		if (pp_is_punct(t, "#") && j + 1 < body.n && body.t[j + 1].kind == E_IDENT) {
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
				o = pp_etoks_push(&subst, E_STR);
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
					err = pp_expand(arg, &expanded, ifmode, depth + 1);
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
		pp_etoks_free(&expanded);
		pasting = false;
	}
	if (!err) {
		m->busy = true;
		err = pp_expand(&subst, out, ifmode, depth + 1);
		m->busy = false;
	}
out:
	for (a = 0; a <= m->nparams; a++)
		pp_etoks_free(&args[a]);
	free(args);
	pp_etoks_free(&body);
	pp_etoks_free(&subst);
	return err;
}

int pp_expand(const struct etoks *in, struct etoks *out, bool ifmode, int depth)
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
			} else if (i + 3 < in->n && pp_is_punct(&in->t[i + 1], "(") &&
				   in->t[i + 2].kind == E_IDENT && pp_is_punct(&in->t[i + 3], ")")) {
				name = in->t[i + 2].text;
				i += 3;
			} else {
				return -EINVAL;
			}
			o = pp_etoks_push(out, E_NUM);
			o->val.v = pp_macro_defined(name);
			o->val.size = 8;
			o->text = xstrdup(o->val.v ? "1" : "0");
			continue;
		}
		if (t->kind == E_IDENT && !t->blocked && (m = pp_find_macro(t->text))) {
			struct etoks body = { 0 };
			int err;

			if (m->busy) {
				o = pp_etoks_push(out, E_IDENT);
				o->text = xstrdup(t->text);
				o->blocked = true;
				continue;
			}
			if (m->funclike) {
				if (i + 1 >= in->n || !pp_is_punct(&in->t[i + 1], "(")) {
					/* a function-like macro's name alone is just a name */
					o = pp_etoks_push(out, E_IDENT);
					o->text = xstrdup(t->text);
					continue;
				}
				err = expand_call(m, in, &i, out, ifmode, depth);
				if (err)
					return err;
				continue;
			}
			err = pp_tokenize(m->body, &body);
			if (!err) {
				m->busy = true;
				err = pp_expand(&body, out, ifmode, depth + 1);
				m->busy = false;
			}
			pp_etoks_free(&body);
			if (err)
				return err;
			continue;
		}
		push_copy(out, t);
	}
	return 0;
}

