/*
 * cdecl.c - a recursive-descent parser for the C declarations a script may define before its
 * first probe, building common/types.h types with the x86-64 SysV layout.
 *
 * Layout: members are collected first and laid out when the record is closed, so a trailing
 * __attribute__((packed)) applies to all of them.  A bitfield goes at the current bit position
 * unless it would straddle a storage unit of its declared type, in which case it starts the
 * next unit; a zero-width bitfield aligns to its type; unnamed bitfields do not raise the
 * record's alignment.  A bitfield's field->offset is the start of its (type-aligned) storage
 * unit and bit_offset counts from there, so reading type->size bytes at offset always stays
 * inside the record.
 *
 * Declarators use the classic inside-out trick: for `int (*fp[4])(void)` the parenthesized
 * inner declarator is skipped, the suffixes after it applied to the base type, and then the
 * inner part re-read with that type as its base.  A function type is represented as void, so
 * a pointer to a function is void *.
 *
 * Constant expressions (array sizes, enum values, bitfield widths) are evaluated by
 * pp_eval, so they may use #define constants, enum constants and casts.
 */
#include "cdecl.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "preprocess.h"

enum tok_kind { T_EOF, T_IDENT, T_NUM, T_PUNCT };

struct lexer {
	const char *text;
	size_t pos;
	int line, col;
};

struct token {
	enum tok_kind kind;
	size_t start, end;		/* byte range in text */
	struct loc loc;
};

struct parser {
	struct lexer lx;
	struct token tok;		/* current token */
	size_t prev_end;		/* end of the token before it */
	bool quiet;			/* cdecl_parse_type: no diagnostics */
	int err;
};

/* A base type from specifiers; plain `char` is remembered for char arrays as strings. */
struct spec {
	struct type *type;
	bool is_char;
};

struct named_type {
	char *name;
	struct type *type;
	bool is_char;
};

struct enum_const {
	char *name;
	int64_t value;
};

struct packed_rec {
	const struct record *rec;
};

static struct record **records;
static size_t nrecords, records_cap;
static struct named_type *typedefs;
static size_t ntypedefs, typedefs_cap;
static struct named_type *enum_tags;
static size_t nenum_tags, enum_tags_cap;
static struct enum_const *enum_consts;
static size_t nenum_consts, enum_consts_cap;
static const struct record **packed;
static size_t npacked, packed_cap;
static const struct record *defining[64];	/* records whose body is being parsed */
static size_t ndefining;
static int (*record_resolver)(const char *name, bool is_union, struct record **out);

void cdecl_set_record_resolver(int (*fn)(const char *name, bool is_union, struct record **out))
{
	record_resolver = fn;
}

/* ---- lexer ---- */

static void lx_advance(struct lexer *lx, size_t n)
{
	while (n-- && lx->text[lx->pos]) {
		if (lx->text[lx->pos] == '\n') {
			lx->line++;
			lx->col = 1;
		} else {
			lx->col++;
		}
		lx->pos++;
	}
}

static void lx_skip_space(struct lexer *lx)
{
	const char *t = lx->text;

	for (;;) {
		char c = t[lx->pos];

		if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
			lx_advance(lx, 1);
		} else if (c == '\\' && t[lx->pos + 1] == '\n') {
			lx_advance(lx, 2);
		} else if (c == '/' && t[lx->pos + 1] == '/') {
			while (t[lx->pos] && t[lx->pos] != '\n')
				lx_advance(lx, 1);
		} else if (c == '/' && t[lx->pos + 1] == '*') {
			lx_advance(lx, 2);
			while (t[lx->pos] && !(t[lx->pos] == '*' && t[lx->pos + 1] == '/'))
				lx_advance(lx, 1);
			lx_advance(lx, 2);
		} else {
			return;
		}
	}
}

static bool is_ident_start(char c)
{
	return isalpha((unsigned char)c) || c == '_';
}

static bool is_ident_char(char c)
{
	return isalnum((unsigned char)c) || c == '_';
}

static void lx_next(struct lexer *lx, struct token *tok)
{
	const char *t = lx->text;
	size_t n = 1;

	lx_skip_space(lx);
	tok->start = lx->pos;
	tok->loc.first_line = tok->loc.last_line = lx->line;
	tok->loc.first_column = lx->col;
	if (!t[lx->pos]) {
		tok->kind = T_EOF;
		n = 0;
	} else if (is_ident_start(t[lx->pos])) {
		tok->kind = T_IDENT;
		while (is_ident_char(t[lx->pos + n]))
			n++;
	} else if (isdigit((unsigned char)t[lx->pos])) {
		tok->kind = T_NUM;
		while (is_ident_char(t[lx->pos + n]))
			n++;
	} else {
		tok->kind = T_PUNCT;
	}
	lx_advance(lx, n);
	tok->end = lx->pos;
	tok->loc.last_column = tok->loc.first_column + (int)n;
	if (!n)
		tok->loc.last_column++;
}

/* ---- parser helpers ---- */

static void next(struct parser *p)
{
	p->prev_end = p->tok.end;
	lx_next(&p->lx, &p->tok);
}

static bool tok_is(const struct parser *p, const char *s)
{
	size_t n = strlen(s);

	return p->tok.kind != T_EOF && p->tok.end - p->tok.start == n &&
	       memcmp(p->lx.text + p->tok.start, s, n) == 0;
}

static char *tok_str(const struct parser *p)
{
	return xstrndup(p->lx.text + p->tok.start, p->tok.end - p->tok.start);
}

static int perr(struct parser *p, const struct loc *loc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int perr(struct parser *p, const struct loc *loc, const char *fmt, ...)
{
	va_list ap;

	if (!p->err && !p->quiet) {
		va_start(ap, fmt);
		diag_verror(loc, fmt, ap);
		va_end(ap);
	}
	if (!p->err)
		p->err = -EINVAL;
	return p->err;
}

/* "expected ';'": at the offending token, or "unexpected end" at EOF. */
static int expect(struct parser *p, const char *s)
{
	char *got;

	if (tok_is(p, s)) {
		next(p);
		return 0;
	}
	if (p->tok.kind == T_EOF)
		return perr(p, &p->tok.loc, "expected '%s' before end of input", s);
	got = tok_str(p);
	perr(p, &p->tok.loc, "expected '%s' before '%s'", s, got);
	free(got);
	return p->err;
}

/* ---- symbol tables ---- */

static struct record *find_local_record(const char *name, bool is_union)
{
	size_t i;

	for (i = 0; i < nrecords; i++)
		if (records[i]->is_union == is_union && strcmp(records[i]->name, name) == 0)
			return records[i];
	return NULL;
}

static void add_record(struct record *rec)
{
	xgrow((void **)&records, &records_cap, nrecords + 1, sizeof(*records));
	records[nrecords++] = rec;
}

static struct named_type *find_named(struct named_type *arr, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(arr[i].name, name) == 0)
			return &arr[i];
	return NULL;
}

static bool is_packed(const struct record *rec)
{
	size_t i;

	for (i = 0; i < npacked; i++)
		if (packed[i] == rec)
			return true;
	return false;
}

static bool is_defining(const struct record *rec)
{
	size_t i;

	for (i = 0; i < ndefining && i < ARRAY_SIZE(defining); i++)
		if (defining[i] == rec)
			return true;
	return false;
}

uint32_t cdecl_type_align(const struct type *t)
{
	uint32_t a = 1, i;

	if (!t)
		return 1;
	switch (t->kind) {
	case TYPE_INT:
		return t->size ? t->size : 1;
	case TYPE_POINTER:
		return 8;
	case TYPE_ARRAY:
		return cdecl_type_align(t->elem);
	case TYPE_RECORD:
		if (!t->rec->complete || is_packed(t->rec))
			return 1;
		for (i = 0; i < t->rec->nfields; i++)
			a = MAX(a, cdecl_type_align(t->rec->fields[i].type));
		return a;
	case TYPE_STRING:
	case TYPE_BUFFER:
	case TYPE_VOID:
		return 1;
	default:
		return t->size >= 8 ? 8 : (t->size ? t->size : 1);
	}
}

/* Typedefs every kernel-tracing script expects without a header. */
static const struct {
	const char *name;
	uint8_t size;
	bool is_signed;
} builtin_typedefs[] = {
	{ "s8", 1, true }, { "s16", 2, true }, { "s32", 4, true }, { "s64", 8, true },
	{ "u8", 1, false }, { "u16", 2, false }, { "u32", 4, false }, { "u64", 8, false },
	{ "__s8", 1, true }, { "__s16", 2, true }, { "__s32", 4, true }, { "__s64", 8, true },
	{ "__u8", 1, false }, { "__u16", 2, false }, { "__u32", 4, false }, { "__u64", 8, false },
	{ "__be16", 2, false }, { "__be32", 4, false }, { "__be64", 8, false },
	{ "__le16", 2, false }, { "__le32", 4, false }, { "__le64", 8, false },
	{ "__sum16", 2, false }, { "__wsum", 4, false },
	{ "int8_t", 1, true }, { "int16_t", 2, true }, { "int32_t", 4, true }, { "int64_t", 8, true },
	{ "uint8_t", 1, false }, { "uint16_t", 2, false }, { "uint32_t", 4, false },
	{ "uint64_t", 8, false }, { "intptr_t", 8, true }, { "uintptr_t", 8, false },
	{ "size_t", 8, false }, { "ssize_t", 8, true }, { "ptrdiff_t", 8, true },
	{ "off_t", 8, true }, { "loff_t", 8, true }, { "time_t", 8, true },
	{ "pid_t", 4, true }, { "uid_t", 4, false }, { "gid_t", 4, false },
	{ "mode_t", 4, false }, { "umode_t", 2, false }, { "dev_t", 4, false },
	{ "socklen_t", 4, false }, { "sa_family_t", 2, false }, { "__kernel_sa_family_t", 2, false },
	{ "in_addr_t", 4, false }, { "in_port_t", 2, false },
	{ "__kernel_pid_t", 4, true }, { "__kernel_size_t", 8, false },
	{ "__kernel_ssize_t", 8, true }, { "__kernel_off_t", 8, true },
	{ "__kernel_loff_t", 8, true }, { "__kernel_time64_t", 8, true },
};

static int lookup_typedef(const char *name, struct spec *out)
{
	struct named_type *nt = find_named(typedefs, ntypedefs, name);
	size_t i;

	if (nt) {
		out->type = nt->type;
		out->is_char = nt->is_char;
		return 0;
	}
	for (i = 0; i < ARRAY_SIZE(builtin_typedefs); i++) {
		if (strcmp(builtin_typedefs[i].name, name) == 0) {
			out->type = type_int(builtin_typedefs[i].size, builtin_typedefs[i].is_signed);
			out->is_char = false;
			return 0;
		}
	}
	return -ENOENT;
}

/* ---- constant expressions ---- */

/*
 * Evaluate the tokens from the current one up to (not including) a `,`, `;`, `}` or `]` at
 * nesting depth 0 (or `:`-free context), through pp_eval.
 */
static int parse_const(struct parser *p, int64_t *out)
{
	size_t start = p->tok.start, end = start;
	struct loc loc = p->tok.loc;
	int depth = 0;
	char *text;
	int err;

	while (p->tok.kind != T_EOF) {
		if (depth == 0 && (tok_is(p, ",") || tok_is(p, ";") || tok_is(p, "}") ||
				   tok_is(p, "]")))
			break;
		if (tok_is(p, "(") || tok_is(p, "["))
			depth++;
		else if (tok_is(p, ")"))
			depth--;
		if (depth < 0)
			break;
		end = p->tok.end;
		loc.last_line = p->tok.loc.last_line;
		loc.last_column = p->tok.loc.last_column;
		next(p);
	}
	if (end == start) {
		if (p->tok.kind == T_EOF)
			return perr(p, &p->tok.loc, "expected an expression before end of input");
		return perr(p, &p->tok.loc, "expected an expression");
	}
	text = xstrndup(p->lx.text + start, end - start);
	err = pp_eval(text, out);
	if (err)
		perr(p, &loc, "not an integer constant expression: '%s'", text);
	free(text);
	return err ? p->err : 0;
}

/* ---- declarations ---- */

static int parse_specifiers(struct parser *p, struct spec *out, bool *anon_record);
static int parse_declarator(struct parser *p, struct spec base, bool abstract, char **name,
			    struct loc *name_loc, struct type **out);

/* __attribute__((...)): skipped, except that `packed` is reported. */
static bool skip_attributes(struct parser *p, bool *is_packed)
{
	bool any = false;

	while (tok_is(p, "__attribute__") || tok_is(p, "__attribute")) {
		int depth = 0;

		any = true;
		next(p);
		do {
			if (tok_is(p, "("))
				depth++;
			else if (tok_is(p, ")"))
				depth--;
			else if (is_packed && (tok_is(p, "packed") || tok_is(p, "__packed__")))
				*is_packed = true;
			else if (p->tok.kind == T_EOF)
				return any;
			next(p);
		} while (depth > 0);
	}
	return any;
}

struct member {
	char *name;
	struct type *type;
	int64_t width;		/* -1: not a bitfield */
	struct loc loc;
};

static void layout_record(struct record *rec, struct member *m, size_t n, bool pack)
{
	uint64_t bitpos = 0, size = 0;
	uint32_t maxalign = 1;
	size_t i;

	for (i = 0; i < n; i++) {
		uint32_t align = pack ? 1 : cdecl_type_align(m[i].type);
		uint32_t tsize = m[i].type->size;
		struct field *f;

		if (m[i].width < 0) {
			uint64_t off = rec->is_union ? 0 : ALIGN_UP((bitpos + 7) / 8, align);

			record_add_field(rec, m[i].name, (uint32_t)off, m[i].type);
			bitpos = (off + tsize) * 8;
			maxalign = MAX(maxalign, align);
			size = MAX(size, off + tsize);
			continue;
		}
		if (rec->is_union)
			bitpos = 0;
		if (m[i].width == 0) {
			bitpos = ALIGN_UP(bitpos, (uint64_t)align * 8);
			size = MAX(size, bitpos / 8);
			continue;
		}
		if (!pack && bitpos / (align * 8) != (bitpos + m[i].width - 1) / (align * 8))
			bitpos = ALIGN_UP(bitpos, (uint64_t)align * 8);
		if (m[i].name) {
			uint64_t unit = pack ? bitpos / 8 : bitpos / (align * 8) * align;

			f = record_add_field(rec, m[i].name, (uint32_t)unit, m[i].type);
			f->bit_offset = (uint32_t)(bitpos - unit * 8);
			f->bit_width = (uint32_t)m[i].width;
			maxalign = MAX(maxalign, align);
		}
		bitpos += m[i].width;
		size = MAX(size, (bitpos + 7) / 8);
	}
	rec->size = (uint32_t)ALIGN_UP(size, maxalign);
	rec->complete = true;
}

static void free_members(struct member *m, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(m[i].name);
	free(m);
}

/* After `{` of a struct or union: members up to and including `}`. */
static int parse_record_body(struct parser *p, struct record *rec, const struct loc *kw_loc,
			     bool pack)
{
	struct member *m = NULL;
	size_t n = 0, cap = 0;
	int err = 0;
	struct record *kernel;
	bool shadows_btf = rec->name[0] && record_resolver &&
			   record_resolver(rec->name, rec->is_union, &kernel) == 0;

	while (!tok_is(p, "}")) {
		struct spec base;
		bool anon = false;

		if (p->tok.kind == T_EOF) {
			err = perr(p, kw_loc, "unterminated %s definition",
				   rec->is_union ? "union" : "struct");
			goto out;
		}
		if (tok_is(p, ";")) {
			next(p);
			continue;
		}
		err = parse_specifiers(p, &base, &anon);
		if (err)
			goto out;
		if (tok_is(p, ";") && anon) {
			/* C11 anonymous struct/union member */
			xgrow((void **)&m, &cap, n + 1, sizeof(*m));
			m[n++] = (struct member){ .name = NULL, .type = base.type, .width = -1 };
			next(p);
			continue;
		}
		for (;;) {
			struct member mb = { .width = -1 };

			if (tok_is(p, ":")) {
				mb.loc = p->tok.loc;
				mb.type = base.type;
			} else {
				err = parse_declarator(p, base, false, &mb.name, &mb.loc, &mb.type);
				if (err)
					goto out;
			}
			if (tok_is(p, ":")) {
				next(p);
				err = parse_const(p, &mb.width);
				if (!err && (mb.type->kind != TYPE_INT ||
					     mb.width > (int64_t)mb.type->size * 8 || mb.width < 0 ||
					     (mb.width == 0 && mb.name)))
					err = perr(p, &mb.loc, "invalid bit-field width for '%s'",
						   mb.name ? mb.name : "(anonymous)");
				if (err) {
					free(mb.name);
					goto out;
				}
			}
			skip_attributes(p, NULL);
			/*
			 * A script's redefinition of a kernel record (struct task_struct { ... }) may
			 * hold by value only records the script defines: bpftrace 0.17 gives clang no
			 * kernel definitions for it, so others are incomplete there.
			 */
			if (mb.type->kind == TYPE_RECORD && (!mb.type->rec->complete ||
			    (shadows_btf && mb.type->rec->name[0] &&
			     find_local_record(mb.type->rec->name, mb.type->rec->is_union) != mb.type->rec))) {
				err = perr(p, &mb.loc, "field '%s' has incomplete type '%s'",
					   mb.name ? mb.name : "", type_name(mb.type));
				free(mb.name);
				goto out;
			}
			if (mb.type->kind == TYPE_VOID) {
				err = perr(p, &mb.loc, "field '%s' has type void or function",
					   mb.name ? mb.name : "");
				free(mb.name);
				goto out;
			}
			for (size_t k = 0; mb.name && k < n; k++) {
				if (m[k].name && strcmp(m[k].name, mb.name) == 0) {
					err = perr(p, &mb.loc, "duplicate member '%s'", mb.name);
					free(mb.name);
					goto out;
				}
			}
			xgrow((void **)&m, &cap, n + 1, sizeof(*m));
			m[n++] = mb;
			if (!tok_is(p, ","))
				break;
			next(p);
		}
		if (p->tok.kind == T_EOF) {
			err = perr(p, kw_loc, "unterminated %s definition",
				   rec->is_union ? "union" : "struct");
			goto out;
		}
		/* bpftrace (clang) accepts the last member without its ';' */
		if (tok_is(p, "}"))
			break;
		err = expect(p, ";");
		if (err)
			goto out;
	}
	next(p);
	skip_attributes(p, &pack);
	if (pack) {
		xgrow((void **)&packed, &packed_cap, npacked + 1, sizeof(*packed));
		packed[npacked++] = rec;
	}
	layout_record(rec, m, n, pack);
out:
	free_members(m, n);
	return err;
}

/* After `enum`: [tag] [{ A [= expr], ... }] */
static int parse_enum(struct parser *p, const struct loc *kw_loc, struct spec *out)
{
	char *tag = NULL;
	struct loc tag_loc = p->tok.loc;
	int64_t next_val = 0, minv = 0, maxv = 0;
	struct type *t;
	int err = 0;

	if (p->tok.kind == T_IDENT) {
		tag = tok_str(p);
		next(p);
	}
	if (!tok_is(p, "{")) {
		struct named_type *nt = tag ? find_named(enum_tags, nenum_tags, tag) : NULL;

		if (!tag) {
			err = perr(p, &p->tok.loc, "expected '{' after 'enum'");
		} else {
			/* An enum the script did not define: int-sized, as in the kernel. */
			out->type = nt ? nt->type : type_int(4, false);
			out->is_char = false;
		}
		free(tag);
		return err;
	}
	if (tag && find_named(enum_tags, nenum_tags, tag)) {
		err = perr(p, &tag_loc, "redefinition of 'enum %s'", tag);
		free(tag);
		return err;
	}
	next(p);
	while (!tok_is(p, "}")) {
		struct enum_const ec;
		struct loc name_loc = p->tok.loc;
		int64_t v;

		if (p->tok.kind == T_EOF) {
			err = perr(p, kw_loc, "unterminated enum definition");
			goto out;
		}
		if (p->tok.kind != T_IDENT) {
			char *got = tok_str(p);

			err = perr(p, &p->tok.loc, "expected an enumerator name before '%s'", got);
			free(got);
			goto out;
		}
		ec.name = tok_str(p);
		next(p);
		if (tok_is(p, "=")) {
			next(p);
			err = parse_const(p, &next_val);
			if (err) {
				free(ec.name);
				goto out;
			}
		}
		if (cdecl_find_enum_value(ec.name, &v) == 0) {
			err = perr(p, &name_loc, "redefinition of enumerator '%s'", ec.name);
			free(ec.name);
			goto out;
		}
		ec.value = next_val++;
		minv = MIN(minv, ec.value);
		maxv = MAX(maxv, ec.value);
		xgrow((void **)&enum_consts, &enum_consts_cap, nenum_consts + 1, sizeof(*enum_consts));
		enum_consts[nenum_consts++] = ec;
		if (tok_is(p, ",")) {
			next(p);
		} else if (!tok_is(p, "}")) {
			if (p->tok.kind == T_EOF)
				err = perr(p, kw_loc, "unterminated enum definition");
			else
				err = expect(p, "}");
			goto out;
		}
	}
	next(p);
	skip_attributes(p, NULL);
	/* Like GCC: unsigned int unless a value is negative, 64 bits when one needs it. */
	if (minv < 0)
		t = type_int(minv >= INT32_MIN && maxv <= INT32_MAX ? 4 : 8, true);
	else
		t = type_int(maxv <= UINT32_MAX ? 4 : 8, false);
	out->type = t;
	out->is_char = false;
	if (tag) {
		xgrow((void **)&enum_tags, &enum_tags_cap, nenum_tags + 1, sizeof(*enum_tags));
		enum_tags[nenum_tags++] = (struct named_type){ .name = tag, .type = t };
		tag = NULL;
	}
out:
	free(tag);
	return err;
}

/* After `struct`/`union`: [attrs] [tag] [{ body }] */
static int parse_record(struct parser *p, bool is_union, const struct loc *kw_loc,
			struct spec *out, bool *anon)
{
	struct record *rec = NULL, *resolved;
	struct loc tag_loc;
	char *tag = NULL;
	bool pack = false;
	int err = 0;

	skip_attributes(p, &pack);
	tag_loc = p->tok.loc;
	if (p->tok.kind == T_IDENT) {
		tag = tok_str(p);
		next(p);
		skip_attributes(p, &pack);
	}
	if (!tok_is(p, "{")) {
		if (!tag) {
			return perr(p, &p->tok.loc, "expected a name or '{' after '%s'",
				    is_union ? "union" : "struct");
		}
		rec = find_local_record(tag, is_union);
		/* A script's placeholder for an unknown record yields to BTF when it knows it. */
		if (rec && !rec->complete && !is_defining(rec) && record_resolver &&
		    record_resolver(tag, is_union, &resolved) == 0)
			rec = resolved;
		if (!rec && record_resolver && record_resolver(tag, is_union, &rec) != 0)
			rec = NULL;
		if (!rec) {
			/* Incomplete until the script defines it (or never, behind a pointer). */
			rec = record_new(tag, is_union);
			add_record(rec);
		}
		free(tag);
		out->type = type_record(rec);
		out->is_char = false;
		return 0;
	}
	next(p);
	if (tag) {
		rec = find_local_record(tag, is_union);
		if (rec && rec->complete) {
			err = perr(p, &tag_loc, "redefinition of '%s %s'",
				   is_union ? "union" : "struct", tag);
			free(tag);
			return err;
		}
		if (rec && is_defining(rec)) {
			/* struct Foo { struct Foo { ... } a; }: the record would contain itself */
			err = perr(p, &tag_loc, "nested redefinition of '%s %s'",
				   is_union ? "union" : "struct", tag);
			free(tag);
			return err;
		}
		if (!rec) {
			rec = record_new(tag, is_union);
			add_record(rec);
		}
		free(tag);
	} else {
		rec = record_new("", is_union);
		*anon = true;
	}
	if (ndefining < ARRAY_SIZE(defining))
		defining[ndefining] = rec;
	ndefining++;
	err = parse_record_body(p, rec, kw_loc, pack);
	ndefining--;
	if (err)
		return err;
	out->type = type_record(rec);
	out->is_char = false;
	return 0;
}

/*
 * Declaration specifiers: qualifiers, storage classes and attributes are skipped; the
 * integer keywords combine; struct/union/enum specifiers and typedef names give the type.
 */
static int parse_specifiers(struct parser *p, struct spec *out, bool *anon_record)
{
	int nlong = 0, nshort = 0, nint = 0, nchar = 0, nsigned = 0, nunsigned = 0;
	int nbool = 0, nvoid = 0, nfloat = 0, ndouble = 0;
	bool have = false;
	struct loc first = p->tok.loc;

	out->type = NULL;
	out->is_char = false;
	for (;;) {
		struct loc kw = p->tok.loc;

		if (skip_attributes(p, NULL))
			continue;
		if (p->tok.kind != T_IDENT)
			break;
		if (tok_is(p, "const") || tok_is(p, "volatile") || tok_is(p, "restrict") ||
		    tok_is(p, "__restrict") || tok_is(p, "__restrict__") || tok_is(p, "static") ||
		    tok_is(p, "extern") || tok_is(p, "register") || tok_is(p, "inline") ||
		    tok_is(p, "__extension__") || tok_is(p, "__const") || tok_is(p, "__volatile__") ||
		    tok_is(p, "__user") || tok_is(p, "__kernel") || tok_is(p, "__iomem") ||
		    tok_is(p, "__rcu") || tok_is(p, "__percpu") || tok_is(p, "__bitwise")) {
			next(p);
		} else if (tok_is(p, "long")) {
			nlong++, have = true, next(p);
		} else if (tok_is(p, "short")) {
			nshort++, have = true, next(p);
		} else if (tok_is(p, "int")) {
			nint++, have = true, next(p);
		} else if (tok_is(p, "char")) {
			nchar++, have = true, next(p);
		} else if (tok_is(p, "signed") || tok_is(p, "__signed__")) {
			nsigned++, have = true, next(p);
		} else if (tok_is(p, "unsigned")) {
			nunsigned++, have = true, next(p);
		} else if (tok_is(p, "_Bool") || tok_is(p, "bool")) {
			nbool++, have = true, next(p);
		} else if (tok_is(p, "void")) {
			nvoid++, have = true, next(p);
		} else if (tok_is(p, "float")) {
			nfloat++, have = true, next(p);
		} else if (tok_is(p, "double")) {
			ndouble++, have = true, next(p);
		} else if (!have && !out->type && (tok_is(p, "struct") || tok_is(p, "union"))) {
			bool is_union = tok_is(p, "union");
			bool anon = false;
			int err;

			next(p);
			err = parse_record(p, is_union, &kw, out, &anon);
			if (err)
				return err;
			if (anon_record)
				*anon_record = anon;
		} else if (!have && !out->type && tok_is(p, "enum")) {
			int err;

			next(p);
			err = parse_enum(p, &kw, out);
			if (err)
				return err;
		} else if (!have && !out->type) {
			char *name = tok_str(p);
			int err = lookup_typedef(name, out);

			if (err) {
				perr(p, &p->tok.loc, "unknown type name '%s'", name);
				free(name);
				if (p->quiet)
					p->err = -ENOENT;
				return p->err;
			}
			free(name);
			next(p);
		} else {
			break;
		}
	}
	if (out->type) {
		if (have)
			return perr(p, &first, "cannot combine type specifiers");
		return 0;
	}
	if (!have) {
		char *got;

		if (p->tok.kind == T_EOF)
			return perr(p, &p->tok.loc, "expected a type before end of input");
		got = tok_str(p);
		perr(p, &p->tok.loc, "expected a type before '%s'", got);
		free(got);
		return p->err;
	}
	if (nvoid) {
		out->type = type_void();
	} else if (nbool) {
		out->type = type_int(1, false);
	} else if (nfloat) {
		out->type = type_int(4, false);		/* layout only: sonde has no floats */
	} else if (ndouble) {
		out->type = type_int(nlong ? 16 : 8, false);
	} else if (nchar) {
		out->type = type_int(1, !nunsigned);
		out->is_char = !nunsigned && !nsigned;
	} else if (nshort) {
		out->type = type_int(2, !nunsigned);
	} else if (nlong) {
		out->type = type_int(8, !nunsigned);
	} else {
		out->type = type_int(4, !nunsigned);
	}
	if (nunsigned && nsigned)
		return perr(p, &first, "cannot combine 'signed' and 'unsigned'");
	return 0;
}

/* Skip a balanced (...) or [...] group starting at the current token. */
static int skip_group(struct parser *p)
{
	int depth = 0;

	do {
		if (tok_is(p, "(") || tok_is(p, "["))
			depth++;
		else if (tok_is(p, ")") || tok_is(p, "]"))
			depth--;
		else if (p->tok.kind == T_EOF)
			return expect(p, ")");
		next(p);
	} while (depth > 0);
	return 0;
}

/* Array and function suffixes after a declarator's name. */
static int parse_suffixes(struct parser *p, struct spec base, struct type **out)
{
	int64_t dims[16];
	size_t ndims = 0;
	struct type *t;

	if (tok_is(p, "(")) {
		int err = skip_group(p);

		if (err)
			return err;
		skip_attributes(p, NULL);
		*out = type_void();	/* a function: only useful behind a pointer */
		return 0;
	}
	while (tok_is(p, "[")) {
		struct loc loc = p->tok.loc;
		int err;

		next(p);
		if (ndims == ARRAY_SIZE(dims))
			return perr(p, &loc, "too many array dimensions");
		if (tok_is(p, "]")) {
			dims[ndims++] = 0;	/* flexible array member */
		} else {
			err = parse_const(p, &dims[ndims]);
			if (err)
				return err;
			if (dims[ndims] < 0 || dims[ndims] > UINT32_MAX)
				return perr(p, &loc, "invalid array size %lld", (long long)dims[ndims]);
			ndims++;
		}
		err = expect(p, "]");
		if (err)
			return err;
	}
	t = base.type;
	while (ndims--) {
		if (t == base.type && base.is_char)
			t = type_string((uint32_t)dims[ndims]);
		else
			t = type_array(t, (uint32_t)dims[ndims]);
	}
	*out = t;
	return 0;
}

static int parse_declarator(struct parser *p, struct spec base, bool abstract, char **name,
			    struct loc *name_loc, struct type **out)
{
	*name = NULL;
	*name_loc = p->tok.loc;
	for (;;) {
		if (tok_is(p, "*")) {
			base.type = type_pointer(base.type, AS_NONE);
			base.is_char = false;
			next(p);
		} else if (tok_is(p, "const") || tok_is(p, "volatile") || tok_is(p, "restrict") ||
			   tok_is(p, "__restrict") || tok_is(p, "__user") || tok_is(p, "__rcu") ||
			   tok_is(p, "__percpu") || tok_is(p, "__iomem") || tok_is(p, "__kernel")) {
			next(p);
		} else if (!skip_attributes(p, NULL)) {
			break;
		}
	}
	if (tok_is(p, "(")) {
		struct lexer save;
		struct token save_tok;
		struct lexer inner;
		struct token inner_tok;
		int err;

		next(p);
		if (abstract && !tok_is(p, "*") && !tok_is(p, "(") && !tok_is(p, "[")) {
			/* `int (void)`: a function type's parameter list */
			int depth = 1;

			while (depth > 0) {
				if (p->tok.kind == T_EOF)
					return expect(p, ")");
				if (tok_is(p, "("))
					depth++;
				else if (tok_is(p, ")"))
					depth--;
				next(p);
			}
			*out = type_void();
			return 0;
		}
		inner = p->lx;
		inner_tok = p->tok;
		/* Skip to the matching ')' of the inner declarator. */
		{
			int depth = 1;

			while (depth > 0) {
				if (p->tok.kind == T_EOF)
					return expect(p, ")");
				if (tok_is(p, "(") || tok_is(p, "["))
					depth++;
				else if (tok_is(p, ")") || tok_is(p, "]"))
					depth--;
				next(p);
			}
		}
		err = parse_suffixes(p, base, &base.type);
		if (err)
			return err;
		base.is_char = false;
		save = p->lx;
		save_tok = p->tok;
		p->lx = inner;
		p->tok = inner_tok;
		err = parse_declarator(p, base, abstract, name, name_loc, out);
		if (!err)
			err = expect(p, ")");
		if (err) {
			free(*name);
			*name = NULL;
			return err;
		}
		p->lx = save;
		p->tok = save_tok;
		return 0;
	}
	if (p->tok.kind == T_IDENT && !abstract) {
		*name = tok_str(p);
		*name_loc = p->tok.loc;
		next(p);
	} else if (!abstract) {
		char *got;

		if (p->tok.kind == T_EOF)
			return perr(p, &p->tok.loc, "expected a declarator before end of input");
		got = tok_str(p);
		perr(p, &p->tok.loc, "expected a declarator before '%s'", got);
		free(got);
		return p->err;
	}
	{
		int err = parse_suffixes(p, base, out);

		if (err) {
			free(*name);
			*name = NULL;
		}
		return err;
	}
}

static int parse_typedef(struct parser *p)
{
	struct spec base;
	int err;

	next(p);
	err = parse_specifiers(p, &base, NULL);
	if (err)
		return err;
	for (;;) {
		struct named_type nt;
		struct loc loc;
		char *name;
		struct type *t;
		struct named_type *prev;

		err = parse_declarator(p, base, false, &name, &loc, &t);
		if (err)
			return err;
		prev = find_named(typedefs, ntypedefs, name);
		if (prev && !type_equal(prev->type, t)) {
			err = perr(p, &loc, "conflicting types for typedef '%s'", name);
			free(name);
			return err;
		}
		/* Name an anonymous record after its typedef, for diagnostics and type_equal. */
		if (t->kind == TYPE_RECORD && !t->rec->name[0])
			t->rec->name = types_strdup(name);
		if (prev) {
			free(name);	/* an identical redefinition, as C11 allows */
			if (!tok_is(p, ","))
				break;
			next(p);
			continue;
		}
		nt.name = name;
		nt.type = t;
		nt.is_char = t == base.type && base.is_char;
		xgrow((void **)&typedefs, &typedefs_cap, ntypedefs + 1, sizeof(*typedefs));
		typedefs[ntypedefs++] = nt;
		if (!tok_is(p, ","))
			break;
		next(p);
	}
	return expect(p, ";");
}

int cdecl_parse_definitions(const char *text, const struct loc *start, size_t *consumed)
{
	struct parser p = { .lx = { .text = text, .line = start->first_line,
				    .col = start->first_column } };
	size_t end = 0;

	next(&p);
	while (!p.err) {
		if (tok_is(&p, "typedef")) {
			parse_typedef(&p);
		} else if (tok_is(&p, "struct") || tok_is(&p, "union") || tok_is(&p, "enum")) {
			struct spec s;
			bool anon = false;

			if (parse_specifiers(&p, &s, &anon))
				break;
			if (tok_is(&p, ";"))
				next(&p);
			else if (anon || (s.type->kind == TYPE_RECORD && !s.type->rec->complete))
				expect(&p, ";");
		} else if (tok_is(&p, ";")) {
			next(&p);
		} else {
			break;
		}
		end = p.prev_end;
	}
	if (p.err)
		return p.err;
	*consumed = end;
	return 0;
}

int cdecl_parse_type(const char *text, struct type **out)
{
	struct parser p = { .lx = { .text = text, .line = 1, .col = 1 }, .quiet = true };
	struct spec base;
	struct loc loc;
	char *name;
	int err;

	next(&p);
	err = parse_specifiers(&p, &base, NULL);
	if (err)
		return err;
	err = parse_declarator(&p, base, true, &name, &loc, out);
	free(name);
	if (err)
		return err;
	if (p.tok.kind != T_EOF)
		return -EINVAL;
	return 0;
}

int cdecl_find_record(const char *name, bool is_union, struct record **out)
{
	struct record *rec = find_local_record(name, is_union);

	if (!rec || !rec->complete)
		return -ENOENT;
	*out = rec;
	return 0;
}

int cdecl_find_typedef(const char *name, struct type **out)
{
	struct spec s;

	if (lookup_typedef(name, &s))
		return -ENOENT;
	*out = s.type;
	return 0;
}

int cdecl_find_enum_value(const char *name, int64_t *out)
{
	size_t i;

	for (i = 0; i < nenum_consts; i++) {
		if (strcmp(enum_consts[i].name, name) == 0) {
			*out = enum_consts[i].value;
			return 0;
		}
	}
	return -ENOENT;
}

void cdecl_cleanup(void)
{
	size_t i;

	for (i = 0; i < ntypedefs; i++)
		free(typedefs[i].name);
	for (i = 0; i < nenum_tags; i++)
		free(enum_tags[i].name);
	for (i = 0; i < nenum_consts; i++)
		free(enum_consts[i].name);
	free(typedefs);
	free(enum_tags);
	free(enum_consts);
	free(records);
	free(packed);
	typedefs = NULL;
	enum_tags = NULL;
	enum_consts = NULL;
	records = NULL;
	packed = NULL;
	ntypedefs = typedefs_cap = nenum_tags = enum_tags_cap = 0;
	nenum_consts = enum_consts_cap = nrecords = records_cap = npacked = packed_cap = 0;
}
