/*
 * macros.c - the tables constants come from: the script's #defines, headers' #defines and
 * enum constants, and the values pp_lookup hands out for the script's enums and the built-in
 * kernel constants.  A macro is evaluated the first time it is asked for, and cached.
 */
#include "pp_impl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cdecl.h"

struct table pp_script_tab;	/* the script's #defines */
struct table pp_header_tab;	/* headers' #defines and the compiler's predefined macros */
struct table pp_enum_tab;	/* headers' enum constants */
struct table pp_value_tab;	/* script enum and built-in values, for pp_lookup to point at */

static unsigned hash(const char *s)
{
	unsigned h = 5381;

	while (*s)
		h = h * 33 + (unsigned char)*s++;
	return h % NBUCKETS;
}

struct macro *pp_tab_find(struct table *t, const char *name)
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

void pp_tab_remove(struct table *t, const char *name)
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

struct macro *pp_tab_set(struct table *t, const char *name, char *body)
{
	struct macro *m = xcalloc(1, sizeof(*m));
	unsigned h = hash(name);

	pp_tab_remove(t, name);
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

struct macro *pp_find_macro(const char *name)
{
	struct macro *m = pp_tab_find(&pp_script_tab, name);

	return m ? m : pp_tab_find(&pp_header_tab, name);
}

bool pp_macro_defined(const char *name)
{
	return pp_find_macro(name) != NULL;
}

/* Evaluate m once; its value is cached. */
int pp_macro_eval(struct macro *m)
{
	if (!m->state) {
		if (!m->body || m->funclike) {
			m->state = -1;
		} else {
			m->busy = true;
			m->state = pp_evaluate(m->body, false, &m->val) ? -1 : 1;
			m->busy = false;
		}
	}
	return m->state > 0 ? 0 : -ENOENT;
}

int pp_lookup(const char *name, const struct pp_macro **out)
{
	struct macro *m;
	int64_t v;

	if ((m = pp_tab_find(&pp_script_tab, name)) && pp_macro_eval(m) == 0)
		goto found;
	if ((m = pp_tab_find(&pp_header_tab, name)) && pp_macro_eval(m) == 0)
		goto found;
	if ((m = pp_tab_find(&pp_enum_tab, name)))
		goto found;
	/* The script's own enum constants before the built-in ones. */
	if (cdecl_find_enum_value(name, &v) && kconst_lookup(name, &v))
		return -ENOENT;
	m = pp_tab_find(&pp_value_tab, name);
	if (!m)
		m = pp_tab_set(&pp_value_tab, name, NULL);
	m->state = 1;
	m->val.kind = PP_INT;
	m->val.value = v;
found:
	*out = &m->val;
	return 0;
}


static int cmp_loc(const void *a, const void *b)
{
	const struct macro *x = *(struct macro *const *)a, *y = *(struct macro *const *)b;

	if (x->loc.first_line != y->loc.first_line)
		return x->loc.first_line - y->loc.first_line;
	return x->loc.first_column - y->loc.first_column;
}

int pp_check_script_macros(void)
{
	struct macro **all = NULL;
	size_t n = 0, cap = 0, i;
	int err = 0;

	for (i = 0; i < NBUCKETS; i++) {
		struct macro *m;

		for (m = pp_script_tab.b[i]; m; m = m->next) {
			xgrow((void **)&all, &cap, n + 1, sizeof(*all));
			all[n++] = m;
		}
	}
	if (n)
		qsort(all, n, sizeof(*all), cmp_loc);
	for (i = 0; i < n; i++) {
		if (!all[i]->body[0] || pp_macro_eval(all[i]) == 0)
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
void pp_predefine(void)
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
		pp_tab_set(&pp_header_tab, defs[i][0], xstrdup(defs[i][1]));
	/*
	 * bpftrace defines this when the kernel has BTF; its tools then skip their hand-written
	 * copies of kernel structs and the headers that declared them.
	 */
	if (access("/sys/kernel/btf/vmlinux", R_OK) == 0)
		pp_tab_set(&pp_header_tab, "BPFTRACE_HAVE_BTF", xstrdup("1"));
}

void pp_collect_enums(const char *text)
{
	struct etoks ts = { 0 };
	const char *p = text;
	size_t i;

	/* Tokenize loosely: anything the tokenizer rejects (floats, '#', '\\') is skipped. */
	while (*p) {
		const char *nl = strchr(p, '\n');
		char *line = nl ? xstrndup(p, (size_t)(nl - p)) : xstrdup(p);
		struct etoks lt = { 0 };

		if (pp_tokenize(line, &lt) == 0 && lt.n) {
			xgrow((void **)&ts.t, &ts.cap, ts.n + lt.n, sizeof(*ts.t));
			memcpy(ts.t + ts.n, lt.t, lt.n * sizeof(*lt.t));
			ts.n += lt.n;
			free(lt.t);
		} else {
			pp_etoks_free(&lt);
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
		if (i >= ts.n || !pp_is_punct(&ts.t[i], "{"))
			continue;
		for (i++; i < ts.n && !pp_is_punct(&ts.t[i], "}");) {
			const char *name;
			struct macro *m;

			if (ts.t[i].kind != E_IDENT)
				break;
			name = ts.t[i++].text;
			if (i < ts.n && pp_is_punct(&ts.t[i], "=")) {
				struct etoks slice;
				struct pp_macro v = { 0 };
				int depth = 0;
				size_t from = ++i;

				for (; i < ts.n; i++) {
					const struct etok *t = &ts.t[i];

					if (depth == 0 && (pp_is_punct(t, ",") || pp_is_punct(t, "}")))
						break;
					if (pp_is_punct(t, "("))
						depth++;
					else if (pp_is_punct(t, ")"))
						depth--;
				}
				slice = (struct etoks){ .t = ts.t + from, .n = i - from };
				known = pp_evaluate_tokens(&slice, false, &v) == 0 && v.kind == PP_INT;
				free(v.str);
				next_val = v.value;
			}
			if (known && !pp_tab_find(&pp_enum_tab, name)) {
				m = pp_tab_set(&pp_enum_tab, name, NULL);
				m->state = 1;
				m->val.kind = PP_INT;
				m->val.value = next_val;
			}
			next_val++;
			if (i < ts.n && pp_is_punct(&ts.t[i], ","))
				i++;
		}
	}
	pp_etoks_free(&ts);
}


void pp_macros_cleanup(void)
{
	tab_clear(&pp_script_tab);
	tab_clear(&pp_header_tab);
	tab_clear(&pp_enum_tab);
	tab_clear(&pp_value_tab);
}
