/* test_cdecl.c - C definitions in scripts: x86-64 layout checked against the compiler's own. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>
#include <linux/types.h>

#include "cdecl.h"
#include "diag.h"
#include "preprocess.h"
#include "tap.h"
#include "types.h"
#include "util.h"

/* Each definition is compiled here and parsed by sonde from the same text. */
#define DEFINE(name, ...) __VA_ARGS__; static const char name[] = #__VA_ARGS__

DEFINE(foo_src, struct Foo { char a; int b; long c; });
DEFINE(bits_src, struct Bits { unsigned a : 3; unsigned b : 5; unsigned c : 30; char d;
			       unsigned short e : 4; unsigned : 0; unsigned char f : 2; });
DEFINE(anon_src, struct Anon { int kind; union { int i; long l; struct { short lo, hi; }; };
			       char tag[3]; });
DEFINE(arr_src, struct Arr { int m[2][3]; char names[4][8]; unsigned char bytes[5];
			     char *ptrs[2]; long long ll; });
DEFINE(fp_src, struct Fp { char c; void (*cb)(int, char *); int (*tab[2])(void); short s; });
DEFINE(uni_src, union Uni { char c; int i; long l; char s[13]; });
DEFINE(kt_src, struct Kt { __u8 flag; __be16 port; pid_t pid; size_t n; unsigned long long ts;
			   _Bool ok; signed char sc; short int si; unsigned long int uli; });
DEFINE(packed_src, struct __attribute__((packed)) Packed { char a; int b; long c; });

static struct record *get_record(const char *src, const char *name, bool is_union)
{
	struct loc start = { 1, 1, 1, 2 };
	struct record *rec = NULL;
	size_t consumed = 0;

	if (cdecl_parse_definitions(src, &start, &consumed))
		return NULL;
	if (consumed != strlen(src) && src[consumed] != '\n')
		printf("# consumed %zu of %zu\n", consumed, strlen(src));
	if (cdecl_find_record(name, is_union, &rec))
		return NULL;
	return rec;
}

static const struct field *field(const struct record *rec, const char *name, uint32_t *off)
{
	static uint32_t dummy;

	return rec ? record_find_field(rec, name, off ? off : &dummy) : NULL;
}

static int64_t offset_of(const struct record *rec, const char *name)
{
	uint32_t off;

	return field(rec, name, &off) ? (int64_t)off : -1;
}

static const char *ftype(const struct record *rec, const char *name)
{
	const struct field *f = field(rec, name, NULL);

	return f ? type_name(f->type) : "(none)";
}

static void test_padding(void)
{
	struct record *r = get_record(foo_src, "Foo", false);

	ok(r != NULL, "struct_foo_parses");
	is_int(r ? r->size : 0, 16, "struct_foo_size_16");
	is_int(offset_of(r, "a"), 0, "struct_foo_a_at_0");
	is_int(offset_of(r, "b"), 4, "struct_foo_b_at_4");
	is_int(offset_of(r, "c"), 8, "struct_foo_c_at_8");
	is_int(r ? r->size : 0, sizeof(struct Foo), "struct_foo_size_matches_compiler");
	is_str(ftype(r, "c"), "int64", "long_is_int64");
}

static void test_bitfields(void)
{
	struct record *r = get_record(bits_src, "Bits", false);
	const struct field *f;

	ok(r != NULL, "bitfields_parse");
	is_int(r ? r->size : 0, sizeof(struct Bits), "bitfield_struct_size_matches_compiler");
	f = field(r, "a", NULL);
	ok(f && f->offset == 0 && f->bit_offset == 0 && f->bit_width == 3, "bitfield_a_bits_0_to_2");
	f = field(r, "b", NULL);
	ok(f && f->offset == 0 && f->bit_offset == 3 && f->bit_width == 5, "bitfield_b_bits_3_to_7");
	f = field(r, "c", NULL);
	ok(f && f->offset == 4 && f->bit_offset == 0 && f->bit_width == 30,
	   "bitfield_that_would_straddle_starts_next_unit");
	is_int(offset_of(r, "d"), offsetof(struct Bits, d), "member_after_bitfields_matches_compiler");
	f = field(r, "e", NULL);
	ok(f && f->offset == 8 && f->bit_offset == 8 && f->bit_width == 4,
	   "short_bitfield_packs_after_char");
	f = field(r, "f", NULL);
	ok(f && f->offset == 12 && f->bit_offset == 0 && f->bit_width == 2,
	   "zero_width_bitfield_aligns_to_next_unit");
	{
		/* the compiler's view of f: set it and find the byte */
		struct Bits b;

		memset(&b, 0, sizeof(b));
		b.f = 3;
		ok(((unsigned char *)&b)[12] == 3, "compiler_agrees_f_is_at_byte_12");
	}
}

static void test_anonymous(void)
{
	struct record *r = get_record(anon_src, "Anon", false);

	ok(r != NULL, "nested_anonymous_union_parses");
	is_int(r ? r->size : 0, sizeof(struct Anon), "anon_size_matches_compiler");
	is_int(offset_of(r, "i"), offsetof(struct Anon, i), "anon_union_member_i");
	is_int(offset_of(r, "l"), offsetof(struct Anon, l), "anon_union_member_l");
	is_int(offset_of(r, "hi"), offsetof(struct Anon, hi), "anon_struct_in_anon_union_member");
	is_int(offset_of(r, "tag"), offsetof(struct Anon, tag), "member_after_anon_union");
	is_str(ftype(r, "tag"), "string[3]", "char_array_is_a_string");
	ok(r && r->nfields == 3 && r->fields[1].name == NULL, "anonymous_member_has_no_name");
}

static void test_arrays(void)
{
	struct record *r = get_record(arr_src, "Arr", false);

	ok(r != NULL, "arrays_parse");
	is_int(r ? r->size : 0, sizeof(struct Arr), "array_struct_size_matches_compiler");
	is_str(ftype(r, "m"), "int32[3][2]", "two_dimensional_int_array");
	is_str(ftype(r, "names"), "string[8][4]", "array_of_char_arrays_is_array_of_strings");
	is_str(ftype(r, "bytes"), "unsigned int8[5]", "unsigned_char_array_is_not_a_string");
	is_str(ftype(r, "ptrs"), "int8 *[2]", "array_of_pointers");
	is_int(offset_of(r, "ll"), offsetof(struct Arr, ll), "long_long_after_arrays");
}

static void test_function_pointers(void)
{
	struct record *r = get_record(fp_src, "Fp", false);

	ok(r != NULL, "function_pointers_parse");
	is_int(r ? r->size : 0, sizeof(struct Fp), "function_pointer_struct_size_matches_compiler");
	is_str(ftype(r, "cb"), "void *", "function_pointer_is_void_pointer");
	is_str(ftype(r, "tab"), "void *[2]", "array_of_function_pointers");
	is_int(offset_of(r, "s"), offsetof(struct Fp, s), "member_after_function_pointers");
}

static void test_union_and_kernel_types(void)
{
	struct record *u = get_record(uni_src, "Uni", true);
	struct record *k;
	struct record *p;

	ok(u && u->is_union, "union_parses");
	is_int(u ? u->size : 0, sizeof(union Uni), "union_size_matches_compiler");
	is_int(offset_of(u, "s"), 0, "union_members_at_0");
	ok(cdecl_find_record("Uni", false, &k) == -ENOENT, "union_is_not_found_as_struct");

	k = get_record(kt_src, "Kt", false);
	ok(k != NULL, "kernel_typedefs_parse");
	is_int(k ? k->size : 0, sizeof(struct Kt), "kernel_typedef_struct_size_matches_compiler");
	is_int(offset_of(k, "port"), offsetof(struct Kt, port), "be16_offset");
	is_int(offset_of(k, "pid"), offsetof(struct Kt, pid), "pid_t_offset");
	is_int(offset_of(k, "n"), offsetof(struct Kt, n), "size_t_offset");
	is_int(offset_of(k, "ok"), offsetof(struct Kt, ok), "bool_offset");
	is_int(offset_of(k, "uli"), offsetof(struct Kt, uli), "unsigned_long_int_offset");
	is_str(ftype(k, "port"), "unsigned int16", "be16_is_uint16");
	is_str(ftype(k, "pid"), "int32", "pid_t_is_int32");
	is_str(ftype(k, "sc"), "int8", "signed_char_is_int8");

	p = get_record(packed_src, "Packed", false);
	is_int(p ? p->size : 0, sizeof(struct Packed), "packed_struct_size_matches_compiler");
	is_int(offset_of(p, "c"), offsetof(struct Packed, c), "packed_member_offset");
}

static void test_typedefs_and_enums(void)
{
	const char *src =
		"typedef unsigned int uint;\n"
		"typedef uint myu, *myu_ptr;\n"
		"typedef struct { myu x; char name[16]; } S;\n"
		"typedef unsigned int u32;\n"
		"enum color { RED, GREEN = 5, BLUE, NEG = -2, AFTER, BIG = 1 << 4 };\n"
		"enum flags { F_A = 1, F_B = F_A << 1, F_C = AF_INET6 }\n"
		"struct User { S s; enum color c; myu_ptr p; struct User *next; }\n";
	struct type *t;
	struct record *r;
	int64_t v;

	r = get_record(src, "User", false);
	ok(r != NULL, "typedef_chain_and_enums_parse");
	ok(cdecl_find_typedef("myu", &t) == 0 && t->kind == TYPE_INT && t->size == 4 &&
	   !t->is_signed, "typedef_of_typedef_resolves");
	ok(cdecl_find_typedef("myu_ptr", &t) == 0 && t->kind == TYPE_POINTER,
	   "typedef_declarator_list_with_pointer");
	ok(cdecl_find_typedef("S", &t) == 0 && t->kind == TYPE_RECORD && t->size == 20,
	   "typedef_of_anonymous_struct");
	is_str(cdecl_find_typedef("S", &t) == 0 ? type_name(t) : NULL, "struct S",
	       "anonymous_struct_named_after_typedef");
	ok(cdecl_find_typedef("u32", &t) == 0 && t->size == 4, "redefining_builtin_typedef_is_allowed");
	ok(cdecl_find_enum_value("RED", &v) == 0 && v == 0, "enum_first_value_is_0");
	ok(cdecl_find_enum_value("GREEN", &v) == 0 && v == 5, "enum_explicit_value");
	ok(cdecl_find_enum_value("BLUE", &v) == 0 && v == 6, "enum_implicit_value_follows");
	ok(cdecl_find_enum_value("AFTER", &v) == 0 && v == -1, "enum_implicit_after_negative");
	ok(cdecl_find_enum_value("BIG", &v) == 0 && v == 16, "enum_value_expression");
	ok(cdecl_find_enum_value("F_B", &v) == 0 && v == 2, "enum_value_uses_earlier_enumerator");
	ok(cdecl_find_enum_value("F_C", &v) == 0 && v == 10, "enum_value_uses_builtin_constant");
	is_int(offset_of(r, "c"), 20, "enum_member_is_4_bytes");
	is_int(offset_of(r, "p"), 24, "pointer_member_aligned_8");
	is_str(ftype(r, "next"), "struct User *", "self_referencing_pointer");
	is_int(r ? r->size : 0, 40, "user_struct_size");
	ok(cdecl_find_enum_value("NOPE", &v) == -ENOENT, "unknown_enumerator_is_enoent");
}

/* A stand-in for BTF: knows struct sockaddr. */
static struct record *fake_sockaddr;

static int fake_resolver(const char *name, bool is_union, struct record **out)
{
	if (is_union || strcmp(name, "sockaddr"))
		return -ENOENT;
	*out = fake_sockaddr;
	return 0;
}

static void test_resolver(void)
{
	struct record *r;
	struct type *t;

	r = get_record("struct P { struct sockaddr *sa; struct nothere *n; }", "P", false);
	ok(r != NULL, "pointer_to_unknown_struct_parses");
	{
		const struct field *f = field(r, "sa", NULL);

		ok(f && f->type->kind == TYPE_POINTER && f->type->elem->kind == TYPE_RECORD &&
		   !f->type->elem->rec->complete, "unknown_struct_without_resolver_is_incomplete");
	}
	ok(cdecl_find_record("nothere", false, &r) == -ENOENT, "incomplete_record_is_not_found");

	fake_sockaddr = record_new("sockaddr", false);
	record_add_field(fake_sockaddr, "sa_family", 0, type_int(2, false));
	record_add_field(fake_sockaddr, "sa_data", 2, type_string(14));
	fake_sockaddr->size = 16;
	fake_sockaddr->complete = true;
	cdecl_set_record_resolver(fake_resolver);
	r = get_record("struct Q { struct sockaddr sa; int x; };", "Q", false);
	ok(r != NULL, "struct_by_value_from_resolver_parses");
	is_int(offset_of(r, "x"), 16, "resolver_record_size_used_for_layout");
	ok(cdecl_parse_type("struct sockaddr *", &t) == 0 && t->kind == TYPE_POINTER &&
	   t->elem->rec == fake_sockaddr, "parse_type_resolves_records_through_hook");
	cdecl_set_record_resolver(NULL);
}

static void test_parse_type(void)
{
	static const struct {
		const char *text, *want;
	} cases[] = {
		{ "unsigned long", "unsigned int64" }, { "const char *", "int8 *" }, { "u32", "unsigned int32" },
		{ "long long", "int64" }, { "unsigned", "unsigned int32" }, { "char [16]", "string[16]" },
		{ "int (*)(void)", "void *" }, { "short unsigned int", "unsigned int16" },
		{ "struct Foo", "struct Foo" }, { "int **", "int32 **" }, { "__be32", "unsigned int32" },
		{ "uint64_t", "unsigned int64" }, { "signed char", "int8" }, { "enum color", "int32" }, { "enum flags", "unsigned int32" },
	};
	struct type *t;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		char name[80];

		snprintf(name, sizeof(name), "parse_type '%s'", cases[i].text);
		is_str(cdecl_parse_type(cases[i].text, &t) == 0 ? type_name(t) : "(error)",
		       cases[i].want, name);
	}
	ok(cdecl_parse_type("foo_t", &t) == -ENOENT, "parse_type_unknown_name_is_enoent");
	ok(cdecl_parse_type("int x y", &t) == -EINVAL, "parse_type_trailing_garbage_is_einval");
	ok(cdecl_parse_type("struct", &t) == -EINVAL, "parse_type_bare_struct_is_einval");
}

static void test_definitions_stop_at_probe(void)
{
	const char *src = "struct A { int x; char c[8]; }\nstruct B { struct A a; };\n"
			  "typedef int T;\nBEGIN { printf(\"%d\\n\", 1); }\n";
	struct loc start = { 1, 1, 1, 2 };
	size_t consumed = 0;
	struct record *r;

	ok(cdecl_parse_definitions(src, &start, &consumed) == 0,
	   "definitions_followed_by_a_probe_parse");
	is_int(consumed, strstr(src, "\nBEGIN") - src, "definitions_end_before_the_probe");
	ok(cdecl_find_record("B", false, &r) == 0 && r->size == 12, "struct_containing_struct");
}

static void test_script_with_comments_and_directives(void)
{
	const char *src = "// leading comment\n#include <linux/in.h>\nstruct C {\n"
			  "  int a; // trailing\n  /* block */ char b;\n#define SZ 4\n"
			  "  char buf[SZ];\n}\n/* between */ BEGIN { @[SZ] = 1; }\n";
	char *out = NULL;
	struct record *r;

	pp_cleanup();
	diag_set_source("stdin", src);
	ok(preprocess(src, NULL, &out) == 0, "struct_with_comments_and_define_inside_preprocesses");
	ok(cdecl_find_record("C", false, &r) == 0 && r->size == 12, "struct_with_define_inside_layout");
	is_int(offset_of(r, "buf"), 5, "array_sized_by_define_inside_struct");
	ok(out && strstr(out, "\n \n/* between */ BEGIN { @[SZ] = 1; }\n") != NULL,
	   "comment_before_probe_survives_and_probe_keeps_its_column");
	free(out);
}

static void test_errors(void)
{
	static const struct {
		const char *src, *want, *name;
	} cases[] = {
		{ "struct A { int x; };\nstruct A { int y; };\n",
		  "stdin:2:8-9: ERROR: redefinition of 'struct A'\nstruct A { int y; };\n       ~\n",
		  "struct_redefinition" },
		{ "struct A { struct Z z; };\n",
		  "stdin:1:21-22: ERROR: field 'z' has incomplete type 'struct Z'\nstruct A { struct Z z; };\n                    ~\n",
		  "incomplete_member" },
		{ "struct A { int x : 40; };\n",
		  "stdin:1:16-17: ERROR: invalid bit-field width for 'x'\nstruct A { int x : 40; };\n               ~\n",
		  "bitfield_too_wide" },
		{ "typedef int T\nBEGIN { }\n",
		  "stdin:2:1-6: ERROR: expected ';' before 'BEGIN'\nBEGIN { }\n~~~~~\n",
		  "typedef_needs_semicolon" },
		{ "enum { A B }\n",
		  "stdin:1:10-11: ERROR: expected '}' before 'B'\nenum { A B }\n         ~\n",
		  "enum_missing_comma" },
		{ "struct A { int [3]; };\n",
		  "stdin:1:16-17: ERROR: expected a declarator before '['\nstruct A { int [3]; };\n               ~\n",
		  "member_without_name" },
		{ "union U { int x;\n  char c;\n",
		  "stdin:1:1-6: ERROR: unterminated union definition\nunion U { int x;\n~~~~~\n",
		  "unterminated_union" },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		char path[] = "/tmp/sonde-cdecl-XXXXXX";
		int fd = mkstemp(path), saved;
		char *out = NULL, *err;
		size_t len;
		int rc;

		pp_cleanup();
		diag_set_source("stdin", cases[i].src);
		fflush(stderr);
		saved = dup(2);
		dup2(fd, 2);
		rc = preprocess(cases[i].src, NULL, &out);
		fflush(stderr);
		dup2(saved, 2);
		close(saved);
		close(fd);
		if (read_file(path, &err, &len) || !len) {
			free(err);
			err = xstrdup("");
		}
		unlink(path);
		{
			char *failed = xasprintf("%s_fails", cases[i].name);

			ok(rc == -EINVAL, failed);
			free(failed);
		}
		is_str(err, cases[i].want, cases[i].name);
		free(err);
		free(out);
	}
}

int main(void)
{
	test_padding();
	test_bitfields();
	test_anonymous();
	test_arrays();
	test_function_pointers();
	test_union_and_kernel_types();
	test_typedefs_and_enums();
	test_resolver();
	test_parse_type();
	cdecl_cleanup();
	test_definitions_stop_at_probe();
	test_script_with_comments_and_directives();
	test_errors();
	pp_cleanup();
	types_free_all();
	return done_testing();
}
