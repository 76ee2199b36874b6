/*
 * diag.h - every message sonde shows a user goes through here.
 *
 * Located messages follow bpftrace's format:
 *	stdin:1:14-15: ERROR: Unknown identifier: 'y'
 *	BEGIN { @x = y; }
 *	             ~
 * Columns are 1-based, last_column is exclusive.  Messages without a location print as
 * "ERROR: message".
 */
#ifndef SONDE_DIAG_H
#define SONDE_DIAG_H

#include <stdarg.h>
#include <stdbool.h>

/* Field names match bison's YYLTYPE so the parser can use it directly. */
struct loc {
	int first_line;
	int first_column;
	int last_line;
	int last_column;
};

/* The script being compiled: its display name ("stdin" or the path) and its text. */
void diag_set_source(const char *name, const char *text);
const char *diag_source_name(void);

void diag_error(const struct loc *loc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void diag_warn(const struct loc *loc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The text diag_warn would print (malloc'ed), for a warning that goes to the trace's output;
 * NULL under --no-warnings. */
char *diag_format_warning(const struct loc *loc, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void diag_verror(const struct loc *loc, const char *fmt, va_list ap);
/* An extra line after the last message, e.g. a hint: "HINT: ..." is the caller's text. */
void diag_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Verbose-only information (-v), e.g. libbpf's own messages and the verifier log. */
void diag_verbose(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void diag_set_verbose(int level);
int diag_verbose_level(void);

/* --no-warnings: drop WARNING messages (and the notes that follow them). */
void diag_set_no_warnings(bool on);

unsigned diag_error_count(void);
void diag_reset(void);

#endif
