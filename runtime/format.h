/*
 * format.h - printf format strings: parsed and checked at compile time (sema), rendered in
 * user space from decoded arguments (runtime/events.c).  bpftrace's conversions:
 * %s %c %d %i %u %x %X %o %p, flags "-+#0" (not " ": "50% done" is text), width,
 * precision, length modifiers h hh l ll j z t (as C reads a 64-bit value through them), %%
 * and %r / %rx / %rh for buf().
 */
#ifndef SONDE_FORMAT_H
#define SONDE_FORMAT_H

#include <stddef.h>

#include "common/util.h"
#include "value.h"

enum fmt_arg {
	FMT_ARG_INT,	/* d i u x X o c p */
	FMT_ARG_STR,	/* s */
	FMT_ARG_BUF,	/* r rx rh */
};

struct fmt_spec {
	size_t start, end;	/* byte range of the conversion in the format string */
	char conv;		/* 'd', 's', 'r', ... */
	char buf_mode;		/* for %r: 0, 'x' or 'h' */
	enum fmt_arg arg;
};

/*
 * Parse fmt into its conversions (%% is not one).  On a malformed conversion return
 * -EINVAL and set *err to a message such as "Invalid format string: %y" (caller frees).
 */
int fmt_parse(const char *fmt, struct fmt_spec **specs, size_t *nspecs, char **err);

/*
 * Render fmt with args (already decoded: VAL_INT/VAL_UINT for integer conversions, VAL_STR for
 * %s and %r) into out, as C printf would with 64-bit integers.
 *
 * As in bpftrace 0.17, which hands each 64-bit value to snprintf with the script's own
 * conversion: without a length modifier %d/%u/%x/%o use the low 32 bits, "hh" 8, "h" 16 and
 * l/ll/j/z/t all 64; %c the low byte; %p prints "(nil)" for 0.  Text after the last
 * conversion is copied as is ("%%" stays "%%"), text before a conversion has "%%" -> "%".
 * %r also accepts VAL_BUF (bytes with NULs); a %r with flags, width or precision is printed
 * literally, as bpftrace does.
 */
void fmt_render(struct strbuf *out, const char *fmt, const struct val *args, size_t nargs);

/*
 * bpftrace's buffer text: mode 0 (%r, map values) printable bytes 32..126 as they are and the
 * others as \xNN; 'x' (%rx) every byte as \xNN; 'h' (%rh) "61 62 0a".
 */
void fmt_buf(struct strbuf *out, const void *data, size_t len, char mode);

/* Turn C escapes in a script string literal into bytes (done by the lexer). */

#endif
