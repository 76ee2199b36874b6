/*
 * dwarf_types.c - C types from a traced binary's DWARF (libdw).
 *
 * A uprobe's `args` are the probed function's DWARF parameters.  As bpftrace 0.17 does, the
 * N-th parameter is read from the N-th SysV x86-64 argument register, without evaluating DWARF
 * location expressions: at a function's entry the registers are where the ABI puts them, and
 * -O0 code has moved them to the stack only after the entry.  So an args record is laid out
 * over struct pt_regs: each register-passed parameter is a field at its register's offset, and
 * codegen reads it from the probe's context as it reads a tracepoint's fields.  Floating-point
 * parameters travel in SSE registers, which a uprobe does not see: they take no integer
 * register and are left out; parameters past the sixth are on the stack (sargN).
 *
 * Types convert as btf.c converts the kernel's: integers keep size and signedness, qualifiers
 * and typedefs disappear, char[N] is a string, pointers to functions or void are void *, and
 * every pointer points into user memory.  Records are cached per file by DIE offset and cached
 * before their members are converted, so pointer cycles end.  A struct declared in one compile
 * unit and defined in another is found by name in the file's index of definitions.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include "runtime/dwarf_types.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#ifdef HAVE_LIBDW
#include <dwarf.h>
#include <elfutils/libdw.h>
#endif

#include "runtime/elf.h"
#include "common/types.h"
#include "common/util.h"

/* struct pt_regs offsets of the integer argument registers, in ABI order */
static const uint32_t arg_regs[] = { 112 /* di */, 104 /* si */, 96 /* dx */, 88 /* cx */,
				     72 /* r8 */, 64 /* r9 */ };
#define PT_REGS_SIZE 168

/* An args record and the parameters it cannot hold (stack or SSE registers). */
struct args_ent {
	uint64_t vaddr;
	struct record *rec;
	char **absent;		/* "name" then its reason, pairs */
	size_t nabsent;
};

struct rec_ent {
	uint64_t off;		/* DIE offset + 1; 0 is a free slot */
	struct record *rec;
};

struct name_ent {
	char *name;
	bool is_union;
	uint64_t off;		/* DIE offset of the definition */
};

struct dw_file {
	char *path;
	struct elf_file *ef;
	int err;
#ifdef HAVE_LIBDW
	Dwarf *dw;
#endif
	struct rec_ent *recs;	/* open addressing by DIE offset */
	size_t nrecs, caprecs;
	struct name_ent *names;	/* definitions by tag name, sorted; built on first lookup */
	size_t nnames;
	bool indexed;
	struct args_ent *args;
	size_t nargs, capargs;
};

static struct dw_file **files;
static size_t nfiles, capfiles;
static char **scope;
static size_t nscope;

static struct dw_file *file_get(const char *path)
{
	struct dw_file *f;

	for (size_t i = 0; i < nfiles; i++)
		if (strcmp(files[i]->path, path) == 0)
			return files[i];
	f = xcalloc(1, sizeof(*f));
	f->path = xstrdup(path);
	f->err = elf_open(path, &f->ef);
#ifdef HAVE_LIBDW
	if (!f->err) {
		f->dw = (Dwarf *)elf_dwarf(f->ef);
		if (!f->dw)
			f->err = -ENODATA;
	}
#else
	if (!f->err)
		f->err = -ENODATA;
#endif
	xgrow((void **)&files, &capfiles, nfiles + 1, sizeof(*files));
	files[nfiles++] = f;
	return f;
}

void dwarf_types_scope(const char *const *paths, size_t n)
{
	for (size_t i = 0; i < nscope; i++)
		free(scope[i]);
	free(scope);
	scope = n ? xcalloc(n, sizeof(*scope)) : NULL;
	nscope = n;
	for (size_t i = 0; i < n; i++)
		scope[i] = xstrdup(paths[i]);
}

const char *dwarf_types_missing_param(const struct record *rec, const char *name)
{
	for (size_t i = 0; i < nfiles; i++)
		for (size_t k = 0; k < files[i]->nargs; k++) {
			const struct args_ent *a = &files[i]->args[k];

			if (a->rec != rec)
				continue;
			for (size_t j = 0; j < a->nabsent; j += 2)
				if (strcmp(a->absent[j], name) == 0)
					return a->absent[j + 1];
			return "";
		}
	return "";
}

bool dwarf_types_args_equal(const struct record *a, const struct record *b)
{
	if (a == b)
		return true;
	if (a->nfields != b->nfields)
		return false;
	for (uint32_t i = 0; i < a->nfields; i++)
		if (a->fields[i].offset != b->fields[i].offset ||
		    strcmp(a->fields[i].name, b->fields[i].name) != 0 ||
		    !type_equal(a->fields[i].type, b->fields[i].type))
			return false;
	return true;
}

void dwarf_types_cleanup(void)
{
	for (size_t i = 0; i < nfiles; i++) {
		struct dw_file *f = files[i];

		for (size_t k = 0; k < f->nargs; k++) {
			for (size_t j = 0; j < f->args[k].nabsent; j++)
				free(f->args[k].absent[j]);
			free(f->args[k].absent);
		}
		for (size_t k = 0; k < f->nnames; k++)
			free(f->names[k].name);
		free(f->names);
		free(f->args);
		free(f->recs);
		elf_close(f->ef);
		free(f->path);
		free(f);
	}
	free(files);
	files = NULL;
	nfiles = capfiles = 0;
	dwarf_types_scope(NULL, 0);
}

#ifdef HAVE_LIBDW

static uint64_t hash_off(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return x;
}

static struct rec_ent *rec_slot(struct dw_file *f, uint64_t off)
{
	size_t i;

	if (2 * (f->nrecs + 1) > f->caprecs) {
		struct rec_ent *old = f->recs;
		size_t oldcap = f->caprecs;

		f->caprecs = oldcap ? 2 * oldcap : 64;
		f->recs = xcalloc(f->caprecs, sizeof(*f->recs));
		for (size_t k = 0; k < oldcap; k++) {
			if (!old[k].off)
				continue;
			for (i = hash_off(old[k].off) & (f->caprecs - 1); f->recs[i].off;
			     i = (i + 1) & (f->caprecs - 1))
				;
			f->recs[i] = old[k];
		}
		free(old);
	}
	for (i = hash_off(off + 1) & (f->caprecs - 1); f->recs[i].off;
	     i = (i + 1) & (f->caprecs - 1))
		if (f->recs[i].off == off + 1)
			return &f->recs[i];
	return &f->recs[i];
}

static const char *die_name(Dwarf_Die *d)
{
	Dwarf_Attribute a;

	return dwarf_formstring(dwarf_attr_integrate(d, DW_AT_name, &a));
}

/* The DIE d's DW_AT_type refers to, or NULL (void). */
static Dwarf_Die *die_type(Dwarf_Die *d, Dwarf_Die *out)
{
	Dwarf_Attribute a;

	if (!dwarf_attr_integrate(d, DW_AT_type, &a))
		return NULL;
	return dwarf_formref_die(&a, out);
}

static uint64_t die_udata(Dwarf_Die *d, int at, uint64_t dflt)
{
	Dwarf_Attribute a;
	Dwarf_Word w;

	if (dwarf_formudata(dwarf_attr_integrate(d, at, &a), &w))
		return dflt;
	return w;
}

static bool die_flag(Dwarf_Die *d, int at)
{
	Dwarf_Attribute a;
	bool v = false;

	return dwarf_formflag(dwarf_attr_integrate(d, at, &a), &v) == 0 && v;
}

/* Skip typedefs and qualifiers: the DIE that decides the type, or NULL for void. */
static Dwarf_Die *strip(Dwarf_Die *d, Dwarf_Die *buf)
{
	for (int i = 0; d && i < 64; i++) {
		switch (dwarf_tag(d)) {
		case DW_TAG_typedef:
		case DW_TAG_const_type:
		case DW_TAG_volatile_type:
		case DW_TAG_restrict_type:
		case DW_TAG_atomic_type:
			d = die_type(d, buf);
			break;
		default:
			return d;
		}
	}
	return d;
}

static struct type *convert(struct dw_file *f, Dwarf_Die *d, int depth);

static int cmp_name_ent(const void *a, const void *b)
{
	const struct name_ent *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	if (c || x->is_union != y->is_union)
		return c ? c : x->is_union - y->is_union;
	/* equal names: the first compile unit's definition first */
	return x->off < y->off ? -1 : x->off > y->off;
}

/* Every struct/union definition at the top of a compile unit, by name (first one wins). */
static void build_index(struct dw_file *f)
{
	Dwarf_Off o = 0, next;
	size_t hsize, cap = 0;

	f->indexed = true;
	while (dwarf_nextcu(f->dw, o, &next, &hsize, NULL, NULL, NULL) == 0) {
		Dwarf_Die cu, c;

		if (dwarf_offdie(f->dw, o + hsize, &cu) && dwarf_child(&cu, &c) == 0) {
			do {
				int tag = dwarf_tag(&c);
				const char *name;

				if (tag != DW_TAG_structure_type && tag != DW_TAG_union_type &&
				    tag != DW_TAG_class_type)
					continue;
				name = die_name(&c);
				if (!name || die_flag(&c, DW_AT_declaration))
					continue;
				xgrow((void **)&f->names, &cap, f->nnames + 1, sizeof(*f->names));
				f->names[f->nnames].name = xstrdup(name);
				f->names[f->nnames].is_union = tag == DW_TAG_union_type;
				f->names[f->nnames].off = dwarf_dieoffset(&c);
				f->nnames++;
			} while (dwarf_siblingof(&c, &c) == 0);
		}
		o = next;
	}
	qsort(f->names, f->nnames, sizeof(*f->names), cmp_name_ent);
}

static const struct name_ent *index_find(struct dw_file *f, const char *name, bool is_union)
{
	size_t lo = 0, hi;
	struct name_ent key = { .name = (char *)name, .is_union = is_union };

	if (!f->indexed)
		build_index(f);
	hi = f->nnames;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (cmp_name_ent(&f->names[mid], &key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < f->nnames && strcmp(f->names[lo].name, name) == 0 &&
	       f->names[lo].is_union == is_union ? &f->names[lo] : NULL;
}

static void add_member(struct dw_file *f, struct record *rec, Dwarf_Die *m, int depth)
{
	Dwarf_Die tb, *t = die_type(m, &tb);
	uint64_t bit_size = die_udata(m, DW_AT_bit_size, 0), bits;
	struct field *fl;

	bits = 8 * die_udata(m, DW_AT_data_member_location, 0);
	if (bit_size) {
		Dwarf_Attribute a;

		if (dwarf_attr_integrate(m, DW_AT_data_bit_offset, &a)) {
			bits = die_udata(m, DW_AT_data_bit_offset, 0);
		} else if (dwarf_attr_integrate(m, DW_AT_bit_offset, &a)) {
			/* DWARF 2/3 counts from the storage unit's most significant bit */
			uint64_t unit = die_udata(m, DW_AT_byte_size, 0);

			if (!unit && t) {
				Dwarf_Die sb, *s = strip(t, &sb);

				unit = s ? die_udata(s, DW_AT_byte_size, 0) : 0;
			}
			bits += unit * 8 - die_udata(m, DW_AT_bit_offset, 0) - bit_size;
		}
	}
	fl = record_add_field(rec, die_name(m), (uint32_t)(bits / 8), t ? convert(f, t, depth + 1) :
			      type_void());
	if (bit_size) {
		fl->bit_offset = (uint32_t)(bits % 8);
		fl->bit_width = (uint32_t)bit_size;
	}
}

static struct record *convert_record(struct dw_file *f, Dwarf_Die *d, int depth)
{
	struct rec_ent *slot = rec_slot(f, dwarf_dieoffset(d));
	const char *name = die_name(d);
	bool is_union = dwarf_tag(d) == DW_TAG_union_type;
	struct record *rec;
	Dwarf_Die c;

	if (slot->off)
		return slot->rec;
	if (die_flag(d, DW_AT_declaration)) {
		/* defined in another compile unit, or nowhere */
		const struct name_ent *e = name ? index_find(f, name, is_union) : NULL;
		Dwarf_Die def;

		if (e && dwarf_offdie(f->dw, e->off, &def))
			return convert_record(f, &def, depth);
	}
	rec = record_new(name ? name : "", is_union);
	slot->off = dwarf_dieoffset(d) + 1;
	slot->rec = rec;
	f->nrecs++;
	if (die_flag(d, DW_AT_declaration))
		return rec;
	rec->size = (uint32_t)die_udata(d, DW_AT_byte_size, 0);
	/* complete before the members, so a cycle back to this record sees its size */
	rec->complete = true;
	if (dwarf_child(d, &c) != 0)
		return rec;
	do {
		int tag = dwarf_tag(&c);

		if ((tag == DW_TAG_member && !die_flag(&c, DW_AT_declaration) &&
		     !die_flag(&c, DW_AT_external)) || tag == DW_TAG_inheritance)
			add_member(f, rec, &c, depth);
	} while (dwarf_siblingof(&c, &c) == 0);
	return rec;
}

static bool is_char(Dwarf_Die *d)
{
	const char *n;

	if (!d || dwarf_tag(d) != DW_TAG_base_type)
		return false;
	n = die_name(d);
	return n && (strcmp(n, "char") == 0);
}

static struct type *convert_array(struct dw_file *f, Dwarf_Die *d, int depth)
{
	uint64_t dims[8];
	int ndims = 0;
	Dwarf_Die c, eb, sb, *e = die_type(d, &eb), *s;
	struct type *t;

	if (dwarf_child(d, &c) == 0) {
		do {
			Dwarf_Attribute a;
			uint64_t n = 0;

			if (dwarf_tag(&c) != DW_TAG_subrange_type || ndims == 8)
				continue;
			if (dwarf_attr_integrate(&c, DW_AT_count, &a))
				n = die_udata(&c, DW_AT_count, 0);
			else if (dwarf_attr_integrate(&c, DW_AT_upper_bound, &a))
				n = die_udata(&c, DW_AT_upper_bound, 0) + 1;
			dims[ndims++] = n;
		} while (dwarf_siblingof(&c, &c) == 0);
	}
	if (!ndims)
		dims[ndims++] = 0;
	s = e ? strip(e, &sb) : NULL;
	if (is_char(s))
		t = type_string((uint32_t)dims[--ndims]);
	else
		t = e ? convert(f, e, depth + 1) : type_int(1, false);
	while (ndims > 0)
		t = type_array(t, (uint32_t)dims[--ndims]);
	return t;
}

static struct type *convert_base(Dwarf_Die *d)
{
	uint64_t size = die_udata(d, DW_AT_byte_size, 8), enc = die_udata(d, DW_AT_encoding, 0);

	switch (enc) {
	case DW_ATE_boolean:
		return type_int(size == 1 || size == 2 || size == 4 || size == 8 ? (uint32_t)size : 1,
				false);
	case DW_ATE_float:
	case DW_ATE_complex_float:
		/* no floating point in BPF: the raw bytes */
		return type_array(type_int(1, false), (uint32_t)size);
	default:
		break;
	}
	if (size == 1 || size == 2 || size == 4 || size == 8)
		return type_int((uint32_t)size, enc == DW_ATE_signed || enc == DW_ATE_signed_char);
	return type_array(type_int(1, false), (uint32_t)size);
}

static struct type *convert(struct dw_file *f, Dwarf_Die *d, int depth)
{
	Dwarf_Die buf, tb, *t;

	d = strip(d, &buf);
	if (!d || depth > 64)
		return type_void();
	switch (dwarf_tag(d)) {
	case DW_TAG_base_type:
		return convert_base(d);
	case DW_TAG_enumeration_type: {
		uint64_t size = die_udata(d, DW_AT_byte_size, 4);
		Dwarf_Die ub, *u = die_type(d, &ub);
		bool sgn = false;

		if (u && (u = strip(u, &ub)) && dwarf_tag(u) == DW_TAG_base_type) {
			uint64_t enc = die_udata(u, DW_AT_encoding, 0);

			sgn = enc == DW_ATE_signed || enc == DW_ATE_signed_char;
		}
		return type_int(size == 1 || size == 2 || size == 8 ? (uint32_t)size : 4, sgn);
	}
	case DW_TAG_pointer_type:
	case DW_TAG_reference_type:
	case DW_TAG_rvalue_reference_type:
		t = die_type(d, &tb);
		t = t ? strip(t, &tb) : NULL;
		if (!t || dwarf_tag(t) == DW_TAG_subroutine_type)
			return type_pointer(type_void(), AS_USER);
		return type_pointer(convert(f, t, depth + 1), AS_USER);
	case DW_TAG_structure_type:
	case DW_TAG_class_type:
	case DW_TAG_union_type:
		return type_record(convert_record(f, d, depth));
	case DW_TAG_array_type:
		return convert_array(f, d, depth);
	default:
		return type_void();
	}
}

/* The compile unit holding vaddr (clang emits no .debug_aranges: walk the units' ranges). */
static int cu_at(struct dw_file *f, uint64_t vaddr, Dwarf_Die *cu)
{
	Dwarf_Off o = 0, next;
	size_t hsize;

	if (dwarf_addrdie(f->dw, vaddr, cu))
		return 0;
	while (dwarf_nextcu(f->dw, o, &next, &hsize, NULL, NULL, NULL) == 0) {
		if (dwarf_offdie(f->dw, o + hsize, cu) && dwarf_haspc(cu, vaddr) == 1)
			return 0;
		o = next;
	}
	return -ENOENT;
}

/* The (out-of-line) function whose code holds vaddr. */
static int function_at(struct dw_file *f, uint64_t vaddr, Dwarf_Die *out)
{
	Dwarf_Die cu, *scopes = NULL;
	int n, i, err = -ENOENT;

	if (cu_at(f, vaddr, &cu))
		return -ENOENT;
	n = dwarf_getscopes(&cu, vaddr, &scopes);
	for (i = 0; i < n; i++) {
		if (dwarf_tag(&scopes[i]) == DW_TAG_subprogram) {
			*out = scopes[i];
			err = 0;
			break;
		}
	}
	free(scopes);
	return err;
}

static bool is_float(Dwarf_Die *t)
{
	Dwarf_Die b, *s = t ? strip(t, &b) : NULL;
	uint64_t enc;

	if (!s || dwarf_tag(s) != DW_TAG_base_type)
		return false;
	enc = die_udata(s, DW_AT_encoding, 0);
	return enc == DW_ATE_float || enc == DW_ATE_complex_float;
}

static void absent(struct args_ent *a, const char *name, char *why)
{
	a->absent = xrealloc(a->absent, (a->nabsent + 2) * sizeof(*a->absent));
	a->absent[a->nabsent++] = xstrdup(name);
	a->absent[a->nabsent++] = why;
}

static struct args_ent *build_args(struct dw_file *f, uint64_t vaddr, Dwarf_Die *fn)
{
	struct args_ent *a;
	Dwarf_Die c;
	size_t reg = 0, nth = 0;

	xgrow((void **)&f->args, &f->capargs, f->nargs + 1, sizeof(*f->args));
	a = &f->args[f->nargs++];
	memset(a, 0, sizeof(*a));
	a->vaddr = vaddr;
	a->rec = record_new(DWARF_ARGS_RECORD, false);
	a->rec->size = PT_REGS_SIZE;
	a->rec->complete = true;
	if (dwarf_child(fn, &c) != 0)
		return a;
	do {
		Dwarf_Die tb, *t;
		const char *name;

		if (dwarf_tag(&c) != DW_TAG_formal_parameter)
			continue;
		nth++;
		name = die_name(&c);
		t = die_type(&c, &tb);
		if (!name)
			name = "";
		if (is_float(t)) {
			absent(a, name, xasprintf(" (parameter %zu is floating point: it is passed in an "
						  "SSE register, which a uprobe cannot read)", nth));
			continue;
		}
		if (reg >= sizeof(arg_regs) / sizeof(arg_regs[0])) {
			absent(a, name, xasprintf(" (parameter %zu is passed on the stack: read it with "
						  "sarg%zu)", nth, reg - 6));
			reg++;
			continue;
		}
		record_add_field(a->rec, name, arg_regs[reg++], t ? convert(f, t, 0) : type_void());
	} while (dwarf_siblingof(&c, &c) == 0);
	return a;
}

int dwarf_types_args(const char *path, uint64_t off, struct record **out)
{
	struct dw_file *f = file_get(path);
	uint64_t vaddr;
	Dwarf_Die fn;

	if (f->err)
		return f->err;
	if (elf_offset_to_vaddr(f->ef, off, &vaddr))
		return -ENOENT;
	for (size_t i = 0; i < f->nargs; i++)
		if (f->args[i].vaddr == vaddr) {
			*out = f->args[i].rec;
			return 0;
		}
	if (function_at(f, vaddr, &fn))
		return -ENOENT;
	*out = build_args(f, vaddr, &fn)->rec;
	return 0;
}

int dwarf_types_find_record(const char *name, bool is_union, struct record **out)
{
	for (size_t i = 0; i < nscope; i++) {
		struct dw_file *f = file_get(scope[i]);
		const struct name_ent *e;
		Dwarf_Die d;

		if (f->err)
			continue;
		e = index_find(f, name, is_union);
		if (e && dwarf_offdie(f->dw, e->off, &d)) {
			*out = convert_record(f, &d, 0);
			return 0;
		}
	}
	return -ENOENT;
}

/* A C type as bpftrace 0.17 lists it: "const char*", "struct Foo*", "char* const". */
static void type_spell(Dwarf_Die *d, struct strbuf *sb, int depth)
{
	Dwarf_Die tb, *t;
	const char *name;

	if (!d) {
		sb_puts(sb, "void");
		return;
	}
	if (depth > 32) {
		sb_puts(sb, "<unknown type>");
		return;
	}
	name = die_name(d);
	switch (dwarf_tag(d)) {
	case DW_TAG_base_type:
	case DW_TAG_typedef:
		sb_puts(sb, name ? name : "<unknown type>");
		break;
	case DW_TAG_structure_type:
	case DW_TAG_class_type:
		sb_printf(sb, "struct %s", name ? name : "");
		break;
	case DW_TAG_union_type:
		sb_printf(sb, "union %s", name ? name : "");
		break;
	case DW_TAG_enumeration_type:
		sb_printf(sb, "enum %s", name ? name : "");
		break;
	case DW_TAG_pointer_type:
		type_spell(die_type(d, &tb), sb, depth + 1);
		sb_putc(sb, '*');
		break;
	case DW_TAG_const_type:
		t = die_type(d, &tb);
		if (t && dwarf_tag(t) == DW_TAG_pointer_type) {
			type_spell(t, sb, depth + 1);
			sb_puts(sb, " const");
		} else {
			sb_puts(sb, "const ");
			type_spell(t, sb, depth + 1);
		}
		break;
	default:
		sb_puts(sb, "<unknown type>");
		break;
	}
}

int dwarf_types_print_params(const char *path, uint64_t vaddr, FILE *out)
{
	struct dw_file *f = file_get(path);
	Dwarf_Die fn, c;

	if (f->err)
		return f->err;
	if (function_at(f, vaddr, &fn) || dwarf_child(&fn, &c) != 0)
		return 0;
	do {
		struct strbuf sb;
		Dwarf_Die tb;
		const char *name = die_name(&c);

		if (dwarf_tag(&c) != DW_TAG_formal_parameter)
			continue;
		sb_init(&sb);
		type_spell(die_type(&c, &tb), &sb, 0);
		fprintf(out, "    %s%s%s\n", sb.buf, name ? " " : "", name ? name : "");
		sb_free(&sb);
	} while (dwarf_siblingof(&c, &c) == 0);
	return 0;
}

#else

int dwarf_types_args(const char *path, uint64_t off, struct record **out)
{
	return -ENODATA;
}

int dwarf_types_find_record(const char *name, bool is_union, struct record **out)
{
	return -ENOENT;
}

int dwarf_types_print_params(const char *path, uint64_t vaddr, FILE *out)
{
	return -ENODATA;
}

#endif
