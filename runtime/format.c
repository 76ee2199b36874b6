/*
 * format.c - printf format strings, parsed for sema and rendered at run time.
 *
 * bpftrace 0.17 splits a format into parts that each end with one conversion and hands every
 * part with its 64-bit argument to snprintf; whatever follows the last conversion is copied
 * unchanged.  We reproduce what that prints without passing the script's format to libc:
 * each conversion is rebuilt with an "ll" length and its value first truncated to the width
 * the script's own length modifier asks for (none: 32 bits, hh: 8, h: 16), which is what
 * snprintf does when it reads a 64-bit vararg through a narrower conversion.
 *
 * bpftrace 0.17 itself only knows the "-" flag and no %i; we also take "+", "#", "0" and %i
 * (scripts using them do not pass bpftrace's checks, so nothing that runs there changes),
 * but not the " " flag: "50% done" is text bpftrace prints as it is.
 */
#include "format.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct conv {
	size_t start, end;
	char flags[8];
	int width;		/* -1: none */
	int prec;		/* -1: none */
	char len[3];		/* "", "hh", "h", "l", "ll", "j", "z", "t" */
	char conv;
	char buf_mode;
};

/*
 * Parse the conversion starting at fmt[i] == '%'.  Return 1 with *c filled for a conversion,
 * 0 when the text is not one (it is then plain text, as in bpftrace), -EINVAL for a length
 * modifier on a conversion that takes none (%ls, %hhc, ...).
 */
static int parse_conv(const char *fmt, size_t i, struct conv *c)
{
	size_t j = i + 1, nflags = 0;

	memset(c, 0, sizeof(*c));
	c->start = i;
	c->width = c->prec = -1;
	while (fmt[j] && strchr("-+#0", fmt[j])) {
		if (nflags < sizeof(c->flags) - 1 && !strchr(c->flags, fmt[j]))
			c->flags[nflags++] = fmt[j];
		j++;
	}
	if (fmt[j] >= '0' && fmt[j] <= '9') {
		c->width = 0;
		while (fmt[j] >= '0' && fmt[j] <= '9') {
			if (c->width < 100000)
				c->width = c->width * 10 + (fmt[j] - '0');
			j++;
		}
	}
	if (fmt[j] == '.' && fmt[j + 1] >= '0' && fmt[j + 1] <= '9') {
		c->prec = 0;
		j++;
		while (fmt[j] >= '0' && fmt[j] <= '9') {
			if (c->prec < 100000)
				c->prec = c->prec * 10 + (fmt[j] - '0');
			j++;
		}
	}
	if ((fmt[j] == 'h' && fmt[j + 1] == 'h') || (fmt[j] == 'l' && fmt[j + 1] == 'l')) {
		memcpy(c->len, fmt + j, 2);
		j += 2;
	} else if (fmt[j] && strchr("hljzt", fmt[j])) {
		c->len[0] = fmt[j++];
	}
	if (!fmt[j])
		return 0;
	c->conv = fmt[j];
	if (strchr("diuxXop", c->conv)) {
		c->end = j + 1;
		return 1;
	}
	if (!strchr("scr", c->conv))
		return 0;
	if (c->len[0])
		return -EINVAL;
	if (c->conv == 'r' && (fmt[j + 1] == 'x' || fmt[j + 1] == 'h'))
		c->buf_mode = fmt[++j];
	c->end = j + 1;
	return 1;
}

int fmt_parse(const char *fmt, struct fmt_spec **specs, size_t *nspecs, char **err)
{
	struct fmt_spec *arr = NULL;
	size_t n = 0, cap = 0, i = 0;
	struct conv c;
	int r;

	*specs = NULL;
	*nspecs = 0;
	if (err)
		*err = NULL;
	while (fmt[i]) {
		if (fmt[i] != '%') {
			i++;
			continue;
		}
		if (fmt[i + 1] == '%') {
			i += 2;
			continue;
		}
		r = parse_conv(fmt, i, &c);
		if (r < 0) {
			/* bpftrace's wording for a token outside its table */
			if (err)
				*err = xasprintf("printf: Unknown format string token: %.*s",
						 (int)(strcspn(fmt + i + 1, "scr") + 2), fmt + i);
			free(arr);
			return r;
		}
		if (r == 0) {
			i++;
			continue;
		}
		xgrow((void **)&arr, &cap, n + 1, sizeof(*arr));
		arr[n].start = c.start;
		arr[n].end = c.end;
		arr[n].conv = c.conv;
		arr[n].buf_mode = c.buf_mode;
		arr[n].arg = c.conv == 's' ? FMT_ARG_STR : c.conv == 'r' ? FMT_ARG_BUF : FMT_ARG_INT;
		n++;
		i = c.end;
	}
	*specs = arr;
	*nspecs = n;
	return 0;
}

void fmt_buf(struct strbuf *out, const void *data, size_t len, char mode)
{
	const unsigned char *p = data;
	size_t i;

	for (i = 0; i < len; i++) {
		if (mode == 0 && p[i] >= 32 && p[i] <= 126)
			sb_putc(out, (char)p[i]);
		else if (mode != 'h')
			sb_printf(out, "\\x%02x", p[i]);
		else
			sb_printf(out, i + 1 == len ? "%02x" : "%02x ", p[i]);
	}
}

static uint64_t arg_bits(const struct val *v)
{
	if (!v)
		return 0;
	if (v->kind == VAL_INT)
		return (uint64_t)v->i;
	if (v->kind == VAL_UINT)
		return v->u;
	return 0;
}

/* The integer as snprintf reads it through the script's length modifier. */
static void render_int(struct strbuf *out, const struct conv *c, const char *spec,
		       const struct val *v)
{
	uint64_t u = arg_bits(v);
	bool sgn = c->conv == 'd' || c->conv == 'i';
	long long s;

	if (c->conv == 'p') {
		sb_printf(out, spec, (void *)(uintptr_t)u);
		return;
	}
	if (c->conv == 'c') {
		sb_printf(out, spec, (int)(unsigned char)u);
		return;
	}
	if (!c->len[0]) {
		s = (int32_t)u;
		u = (uint32_t)u;
	} else if (!strcmp(c->len, "hh")) {
		s = (int8_t)u;
		u = (uint8_t)u;
	} else if (!strcmp(c->len, "h")) {
		s = (int16_t)u;
		u = (uint16_t)u;
	} else {
		s = (int64_t)u;
	}
	if (sgn)
		sb_printf(out, spec, s);
	else
		sb_printf(out, spec, (unsigned long long)u);
}

/*
 * The common plain conversions (%d %i %u %x %X %s without flags, width or precision) written
 * directly: building a spec and going through vsnprintf was most of the cost of a printf line.
 */
static bool render_plain(struct strbuf *out, const struct conv *c, const struct val *v)
{
	static const char lower[] = "0123456789abcdef", upper[] = "0123456789ABCDEF";
	char num[24], *p = num + sizeof(num);
	uint64_t u;
	bool neg = false;

	if (c->flags[0] || c->width >= 0 || c->prec >= 0 || !v)
		return false;
	if (c->conv == 's') {
		if (v->kind != VAL_STR)
			return false;
		sb_puts(out, v->s);
		return true;
	}
	if (!strchr("diuxX", c->conv) || (v->kind != VAL_INT && v->kind != VAL_UINT))
		return false;
	u = arg_bits(v);
	if (!c->len[0])
		u = c->conv == 'd' || c->conv == 'i' ? (uint64_t)(int64_t)(int32_t)u : (uint32_t)u;
	else if (strcmp(c->len, "l") && strcmp(c->len, "ll") && strcmp(c->len, "j") &&
		 strcmp(c->len, "z") && strcmp(c->len, "t"))
		return false;	/* hh, h: left to snprintf */
	if ((c->conv == 'd' || c->conv == 'i') && (int64_t)u < 0) {
		neg = true;
		u = -u;
	}
	if (c->conv == 'x' || c->conv == 'X') {
		const char *digits = c->conv == 'x' ? lower : upper;

		do {
			*--p = digits[u & 15];
			u >>= 4;
		} while (u);
	} else {
		do {
			*--p = (char)('0' + u % 10);
			u /= 10;
		} while (u);
	}
	if (neg)
		*--p = '-';
	sb_putn(out, p, (size_t)(num + sizeof(num) - p));
	return true;
}

static void render_conv(struct strbuf *out, const char *fmt, const struct conv *c,
			const struct val *v)
{
	char spec[64];
	int n;

	if (render_plain(out, c, v))
		return;

	if (c->conv == 'r') {
		/* bpftrace only rewrites a bare %r/%rx/%rh; anything else reaches libc as is */
		if (c->flags[0] || c->width >= 0 || c->prec >= 0) {
			sb_putn(out, fmt + c->start, c->end - c->start);
			return;
		}
		if (v && v->kind == VAL_BUF)
			fmt_buf(out, v->buf.data, v->buf.len, c->buf_mode);
		else if (v && v->kind == VAL_STR)
			fmt_buf(out, v->s, strlen(v->s), c->buf_mode);
		return;
	}
	n = snprintf(spec, sizeof(spec), "%%%s", c->flags);
	if (c->width >= 0)
		n += snprintf(spec + n, sizeof(spec) - n, "%d", c->width);
	if (c->prec >= 0)
		n += snprintf(spec + n, sizeof(spec) - n, ".%d", c->prec);
	if (strchr("diuxXo", c->conv))
		n += snprintf(spec + n, sizeof(spec) - n, "ll");
	snprintf(spec + n, sizeof(spec) - n, "%c", c->conv);
	if (c->conv != 's') {
		render_int(out, c, spec, v);
		return;
	}
	if (v && v->kind == VAL_STR) {
		sb_printf(out, spec, v->s);
	} else if (v && v->kind == VAL_BUF) {
		char *s = xstrndup((const char *)v->buf.data, v->buf.len);

		sb_printf(out, spec, s);
		free(s);
	} else if (v && (v->kind == VAL_INT || v->kind == VAL_UINT)) {
		char num[32];

		if (v->kind == VAL_INT)
			snprintf(num, sizeof(num), "%lld", (long long)v->i);
		else
			snprintf(num, sizeof(num), "%llu", (unsigned long long)v->u);
		sb_printf(out, spec, num);
	} else {
		sb_printf(out, spec, "");
	}
}

/* Literal text that precedes a conversion went through snprintf in bpftrace: %% -> %. */
static void put_literal(struct strbuf *out, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		sb_putc(out, s[i]);
		if (s[i] == '%' && i + 1 < n && s[i + 1] == '%')
			i++;
	}
}

void fmt_render(struct strbuf *out, const char *fmt, const struct val *args, size_t nargs)
{
	size_t i = 0, lit = 0, argi = 0, part;
	struct conv c;
	char *nul;

	while (fmt[i]) {
		if (fmt[i] != '%') {
			i++;
			continue;
		}
		if (fmt[i + 1] == '%') {
			i += 2;
			continue;
		}
		if (parse_conv(fmt, i, &c) != 1) {
			i++;
			continue;
		}
		part = out->len;
		put_literal(out, fmt + lit, c.start - lit);
		render_conv(out, fmt, &c, argi < nargs ? &args[argi] : NULL);
		/* bpftrace streams each part as a C string: %c of 0 ends the part there */
		nul = out->len > part ? memchr(out->buf + part, '\0', out->len - part) : NULL;
		if (nul) {
			out->len = nul - out->buf;
			out->buf[out->len] = '\0';
		}
		argi++;
		i = lit = c.end;
	}
	sb_puts(out, fmt + lit);
}
