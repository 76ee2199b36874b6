/* util.h - checked allocation, growable strings and small helpers shared by every module. */
#ifndef SONDE_UTIL_H
#define SONDE_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#define ALIGN_UP(x, a) (((x) + (a) - 1) / (a) * (a))

/* Allocation never returns NULL: out of memory ends the process with a message. */
void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t n);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Grow *arr (of *cap elements of size elsz) so that it holds at least need elements. */
void xgrow(void **arr, size_t *cap, size_t need, size_t elsz);

struct strbuf {
	char *buf;
	size_t len;
	size_t cap;
};

void sb_init(struct strbuf *sb);
void sb_free(struct strbuf *sb);
void sb_putc(struct strbuf *sb, char c);
void sb_puts(struct strbuf *sb, const char *s);
void sb_putn(struct strbuf *sb, const char *s, size_t n);
void sb_printf(struct strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sb_vprintf(struct strbuf *sb, const char *fmt, va_list ap);
/* Take ownership of the buffer (never NULL); the strbuf is reset. */
char *sb_steal(struct strbuf *sb);

/* Read a whole file (or "-" for stdin); NUL-terminated.  0 or -errno. */
int read_file(const char *path, char **out, size_t *len);

/* fnmatch-style glob with only '*' and '?' wildcards (bpftrace's attach point wildcards). */
bool glob_match(const char *pattern, const char *s);
bool has_wildcard(const char *s);

#endif
