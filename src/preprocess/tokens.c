/*
 * tokens.c - C tokens, for macro bodies and #if expressions: numbers typed with C's rules
 * (suffixes, octal, hex, characters), string literals decoded, identifiers and punctuators.
 */
#include "pp_impl.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

void pp_etoks_free(struct etoks *ts)
{
	size_t i;

	for (i = 0; i < ts->n; i++)
		free(ts->t[i].text);
	free(ts->t);
	ts->t = NULL;
	ts->n = ts->cap = 0;
}

struct etok *pp_etoks_push(struct etoks *ts, enum etok_kind kind)
{
	struct etok *t;

	xgrow((void **)&ts->t, &ts->cap, ts->n + 1, sizeof(*ts->t));
	t = &ts->t[ts->n++];
	memset(t, 0, sizeof(*t));
	t->kind = kind;
	return t;
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
int pp_tokenize(const char *s, struct etoks *ts)
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
			t = pp_etoks_push(ts, E_IDENT);
			t->text = xstrndup(s, n);
			s += n;
			continue;
		}
		if (isdigit((unsigned char)*s) || (*s == '.' && isdigit((unsigned char)s[1]))) {
			for (n = 1; isalnum((unsigned char)s[n]) || s[n] == '_' || s[n] == '.'; n++)
				;
			t = pp_etoks_push(ts, E_NUM);
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
			t = pp_etoks_push(ts, E_NUM);
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
			t = pp_etoks_push(ts, E_STR);
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
		t = pp_etoks_push(ts, E_PUNCT);
		t->text = xstrndup(s, n);
		s += n;
	}
	return 0;
}

bool pp_is_punct(const struct etok *t, const char *s)
{
	return t->kind == E_PUNCT && strcmp(t->text, s) == 0;
}

