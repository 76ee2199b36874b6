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
 *
 * This file is the driver (the script's lines, the scan for directives, the top-level C
 * definitions); the other jobs are the modules listed in pp_impl.h.
 */
#include "pp_impl.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cdecl.h"

/* ---- the script's text ---- */

struct loc pp_loc_at(const struct src *s, size_t off, size_t len)
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

void pp_blank(char *out, size_t from, size_t to)
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

/* ---- the scan ---- */

int pp_process(struct pp *pp, struct src *s)
{
	struct conds cs = { .active = true };
	size_t off = 0, n;
	int err = 0, e;

	s->clean = make_clean(s->text);
	n = strlen(s->clean);
	if (!s->path && s->text[0] == '#' && s->text[1] == '!') {
		off = line_end(s->clean, 0);
		pp_blank(s->out, 0, off);
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

			e = pp_directive(pp, s, d, q, q + 1, &cs);
			free(d);
			if (e && !err)
				err = e;
			if (s->out)
				pp_blank(s->out, ls, end);
		} else if (!cs.active) {
			if (s->out)
				pp_blank(s->out, ls, end);
		} else if (s->path) {
			char *l = join_lines(s->clean, ls, end);

			sb_puts(&s->ctext, l);
			sb_putc(&s->ctext, '\n');
			free(l);
		}
		off = end + 1;
	}
	if (cs.n && !s->path && !err) {
		diag_error(&cs.v[cs.n - 1].loc, "unterminated conditional directive");
		err = -EINVAL;
	}
	if (s->path) {
		if (s->ctext.buf)
			pp_collect_enums(s->ctext.buf);
		sb_free(&s->ctext);
	}
	free(cs.v);
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
		start = pp_loc_at(s, off, kwlen);
		err = cdecl_parse_definitions(c + off, &start, &consumed);
		if (err)
			return err;
		if (!consumed)
			return 0;
		pp_blank(c, off, off + consumed);
		off += consumed;
	}
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
	if (!pp_tab_find(&pp_header_tab, "__x86_64__"))
		pp_predefine();

	s.out = xstrdup(src);
	s.dir = name && strcmp(name, "stdin") && strchr(name, '/') ? pp_dir_of(name) : xstrdup(".");
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
		err = pp_include(&pp, &s, opts->include_files[i], true, false);
		if (err == -ENOENT) {
			diag_error(NULL, "--include: cannot find %s", opts->include_files[i]);
			err = -EINVAL;
		}
	}
	if (!err)
		err = pp_process(&pp, &s);
	/* Definitions first: a #define may name one of the script's enum constants. */
	if (!err)
		err = definitions(&s);
	if (!err)
		err = pp_check_script_macros();

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
	pp_macros_cleanup();
	pp_include_cleanup();
	cdecl_cleanup();
}
