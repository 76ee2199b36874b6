/* diag.c - located diagnostics in bpftrace's format. */
#include "diag.h"

#include <stdio.h>
#include <string.h>

#include "util.h"

static const char *src_name = "stdin";
static const char *src_text;
static unsigned nerrors;
static int verbose;
static bool no_warnings;	/* --no-warnings */
static bool muted;	/* the last message was a suppressed warning: so are its notes */

void diag_set_source(const char *name, const char *text)
{
	src_name = name;
	src_text = text;
}

const char *diag_source_name(void)
{
	return src_name;
}

/* Print source line n (1-based) and the ~~~ marker under [col, end). */
static void show_line(struct strbuf *sb, const struct loc *loc)
{
	const char *p = src_text, *eol;
	int line = 1, col, end, i;

	if (!p)
		return;
	while (line < loc->first_line && (p = strchr(p, '\n'))) {
		p++;
		line++;
	}
	if (!p)
		return;
	eol = strchr(p, '\n');
	if (!eol)
		eol = p + strlen(p);
	sb_putn(sb, p, (size_t)(eol - p));
	sb_putc(sb, '\n');
	col = loc->first_column;
	end = loc->last_line == loc->first_line ? loc->last_column : (int)(eol - p) + 1;
	if (end <= col)
		end = col + 1;
	for (i = 1; i < col; i++)
		sb_putc(sb, p[i - 1] == '\t' ? '\t' : ' ');
	for (; i < end; i++)
		sb_putc(sb, '~');
	sb_putc(sb, '\n');
}

static void format(struct strbuf *sb, const char *kind, const struct loc *loc, const char *fmt,
		   va_list ap)
{
	if (loc && loc->first_line > 0) {
		sb_printf(sb, "%s:%d:%d-%d: %s: ", src_name, loc->first_line, loc->first_column,
			  loc->last_line == loc->first_line ? loc->last_column : loc->first_column + 1,
			  kind);
	} else {
		sb_printf(sb, "%s: ", kind);
	}
	sb_vprintf(sb, fmt, ap);
	sb_putc(sb, '\n');
	if (loc && loc->first_line > 0)
		show_line(sb, loc);
}

char *diag_format_warning(const struct loc *loc, const char *fmt, ...)
{
	struct strbuf sb;
	va_list ap;

	if (no_warnings)
		return NULL;
	sb_init(&sb);
	va_start(ap, fmt);
	format(&sb, "WARNING", loc, fmt, ap);
	va_end(ap);
	return sb_steal(&sb);
}

static void report(const char *kind, const struct loc *loc, const char *fmt, va_list ap)
{
	struct strbuf sb;

	muted = false;
	sb_init(&sb);
	format(&sb, kind, loc, fmt, ap);
	fflush(stdout);
	fputs(sb.buf, stderr);
	sb_free(&sb);
}

void diag_verror(const struct loc *loc, const char *fmt, va_list ap)
{
	nerrors++;
	report("ERROR", loc, fmt, ap);
}

void diag_error(const struct loc *loc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_verror(loc, fmt, ap);
	va_end(ap);
}

void diag_warn(const struct loc *loc, const char *fmt, ...)
{
	va_list ap;

	muted = no_warnings;
	if (muted)
		return;
	va_start(ap, fmt);
	report("WARNING", loc, fmt, ap);
	va_end(ap);
}

void diag_set_no_warnings(bool on)
{
	no_warnings = on;
}

void diag_note(const char *fmt, ...)
{
	va_list ap;

	if (muted)
		return;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void diag_set_verbose(int level)
{
	verbose = level;
}

int diag_verbose_level(void)
{
	return verbose;
}

void diag_verbose(const char *fmt, ...)
{
	va_list ap;

	if (!verbose)
		return;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
}

unsigned diag_error_count(void)
{
	return nerrors;
}

void diag_reset(void)
{
	nerrors = 0;
}
