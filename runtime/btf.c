/*
 * btf.c - kernel types from vmlinux BTF.
 *
 * Conversion follows bpftrace's view of C: integers keep their size and signedness (plain
 * `char` is signed), enums are integers of their size, qualifiers and typedefs disappear,
 * `char[N]` is a string, pointers to functions or void are `void *`.  Kernel structs point at
 * each other in cycles (task_struct -> task_struct, sock -> sock_common -> ...), so every
 * struct/union record is cached by BTF id and inserted into the cache *before* its members are
 * converted: a cycle finds the record being built and stops there.
 */
#include "runtime/btf.h"

#include <bpf/btf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/diag.h"
#include "common/types.h"
#include "common/util.h"

#define VMLINUX_BTF "/sys/kernel/btf/vmlinux"

static struct btf *vmlinux;
static int load_err;		/* sticky: BTF is not retried after it failed once */
static struct record **records;	/* by BTF id */
static uint32_t nrecords;

/*
 * The kernel's BTF, mapped: kernels since 6.16 let /sys/kernel/btf/vmlinux be mmap'ed.
 * libbpf's btf__load_vmlinux_btf() reads it through stdio, and sysfs gives 4 KB per read(2):
 * 1,350 system calls and two copies for 5.5 MB, 5 ms on a quiet machine and tens under load.
 */
static struct btf *load_vmlinux(void)
{
	struct btf *b = NULL;
	struct stat st;
	void *p = MAP_FAILED;
	int fd = open(VMLINUX_BTF, O_RDONLY | O_CLOEXEC);

	if (fd >= 0 && fstat(fd, &st) == 0 && st.st_size > 0)
		p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (p != MAP_FAILED) {
		b = btf__new(p, (uint32_t)st.st_size);
		munmap(p, (size_t)st.st_size);
	}
	if (fd >= 0)
		close(fd);
	return b ? b : btf__load_vmlinux_btf();
}

static int load(bool report)
{
	if (vmlinux)
		return 0;
	if (!load_err) {
		vmlinux = load_vmlinux();
		if (!vmlinux) {
			load_err = errno ? -errno : -ENOENT;
		} else {
			nrecords = btf__type_cnt(vmlinux);
			records = xcalloc(nrecords, sizeof(*records));
			return 0;
		}
	}
	if (report)
		diag_error(NULL, "cannot load kernel BTF (%s): %s; kernel types are unavailable",
			   VMLINUX_BTF, strerror(-load_err));
	return load_err;
}

bool btf_available(void)
{
	return load(false) == 0;
}

const struct btf *btf_vmlinux(void)
{
	return load(false) == 0 ? vmlinux : NULL;
}

static struct type *convert(uint32_t id);

/* Skip typedefs and qualifiers. */
static uint32_t resolve(uint32_t id)
{
	const struct btf_type *t;

	for (;;) {
		if (!id)
			return 0;
		t = btf__type_by_id(vmlinux, id);
		if (!t)
			return 0;
		switch (btf_kind(t)) {
		case BTF_KIND_TYPEDEF:
		case BTF_KIND_CONST:
		case BTF_KIND_VOLATILE:
		case BTF_KIND_RESTRICT:
		case BTF_KIND_TYPE_TAG:
			id = t->type;
			break;
		default:
			return id;
		}
	}
}

static const char *name_of(const struct btf_type *t)
{
	const char *n = btf__name_by_offset(vmlinux, t->name_off);

	return n ? n : "";
}

/*
 * Kernel fields renamed since the bpftrace 0.17 tools were written, under their old names too
 * (same offset and type), so the tools still run: cfs_rq's nr_running became nr_queued in
 * Linux 6.14 (runqlen.bt reads it).
 */
static const struct {
	const char *rec, *old, *cur;
} renamed[] = {
	{ "cfs_rq", "nr_running", "nr_queued" },
	{ "cfs_rq", "h_nr_running", "h_nr_queued" },
};

static void add_old_names(struct record *rec)
{
	for (size_t i = 0; i < ARRAY_SIZE(renamed); i++) {
		const struct field *f;
		struct field *nf;
		uint32_t off;

		if (strcmp(rec->name, renamed[i].rec) != 0 ||
		    record_find_field(rec, renamed[i].old, &off) ||
		    !(f = record_find_field(rec, renamed[i].cur, &off)))
			continue;
		nf = record_add_field(rec, renamed[i].old, off, f->type);
		nf->bit_offset = f->bit_offset;
		nf->bit_width = f->bit_width;
	}
}

static struct record *convert_record(uint32_t id)
{
	const struct btf_type *t = btf__type_by_id(vmlinux, id);
	const struct btf_member *m = btf_members(t);
	struct record *rec;
	uint16_t i, n = btf_vlen(t);

	if (records[id])
		return records[id];
	rec = record_new(name_of(t), btf_is_union(t));
	records[id] = rec;
	rec->size = t->size;
	/* Complete before the members so a cycle back to this record sees its size. */
	rec->complete = true;
	for (i = 0; i < n; i++, m++) {
		uint32_t bits = btf_member_bit_offset(t, i);
		uint32_t width = btf_member_bitfield_size(t, i);
		const char *mname = btf__name_by_offset(vmlinux, m->name_off);
		struct field *f;

		f = record_add_field(rec, mname && *mname ? mname : NULL, bits / 8, convert(m->type));
		if (width) {
			f->bit_offset = bits % 8;
			f->bit_width = width;
		}
	}
	add_old_names(rec);
	return rec;
}

static struct type *convert_int(const struct btf_type *t)
{
	uint32_t enc = btf_int_encoding(t);
	bool sgn = (enc & BTF_INT_SIGNED) || strcmp(name_of(t), "char") == 0;

	if (enc & BTF_INT_BOOL)
		return type_int(1, false);
	if (t->size == 1 || t->size == 2 || t->size == 4 || t->size == 8)
		return type_int(t->size, sgn);
	/* __int128: no 128-bit values in BPF, keep the bytes. */
	return type_array(type_int(8, false), t->size / 8);
}

/* A forward declaration: the full definition when the kernel has one, else an empty record. */
static struct type *convert_fwd(const struct btf_type *t)
{
	bool is_union = btf_kflag(t);
	int id = btf__find_by_name_kind(vmlinux, name_of(t),
					is_union ? BTF_KIND_UNION : BTF_KIND_STRUCT);

	if (id > 0)
		return type_record(convert_record(id));
	return type_record(record_new(name_of(t), is_union));
}

static struct type *convert(uint32_t id)
{
	const struct btf_type *t;
	uint32_t target;

	id = resolve(id);
	if (!id)
		return type_void();
	t = btf__type_by_id(vmlinux, id);
	switch (btf_kind(t)) {
	case BTF_KIND_INT:
		return convert_int(t);
	case BTF_KIND_ENUM:
	case BTF_KIND_ENUM64:
		return type_int(t->size, btf_kflag(t));
	case BTF_KIND_PTR:
		target = resolve(t->type);
		if (!target || btf_is_func_proto(btf__type_by_id(vmlinux, target)))
			return type_pointer(type_void(), AS_KERNEL);
		return type_pointer(convert(target), AS_KERNEL);
	case BTF_KIND_ARRAY: {
		const struct btf_array *a = btf_array(t);
		const struct btf_type *et;

		target = resolve(a->type);
		et = target ? btf__type_by_id(vmlinux, target) : NULL;
		if (et && btf_is_int(et) && strcmp(name_of(et), "char") == 0)
			return type_string(a->nelems);
		return type_array(convert(a->type), a->nelems);
	}
	case BTF_KIND_STRUCT:
	case BTF_KIND_UNION:
		return type_record(convert_record(id));
	case BTF_KIND_FWD:
		return convert_fwd(t);
	case BTF_KIND_FLOAT:
		/* No floating point in BPF: the raw bytes. */
		return type_array(type_int(1, false), t->size);
	default:
		/* FUNC_PROTO and friends have no value of their own. */
		return type_void();
	}
}

int btf_find_record(const char *name, bool is_union, struct record **out)
{
	int err = load(true), id;

	if (err)
		return err;
	id = btf__find_by_name_kind(vmlinux, name, is_union ? BTF_KIND_UNION : BTF_KIND_STRUCT);
	if (id <= 0)
		return -ENOENT;
	*out = convert_record(id);
	return 0;
}

int btf_find_typedef(const char *name, struct type **out)
{
	int err = load(true), id;

	if (err)
		return err;
	id = btf__find_by_name_kind(vmlinux, name, BTF_KIND_TYPEDEF);
	if (id <= 0)
		id = btf__find_by_name_kind(vmlinux, name, BTF_KIND_INT);
	if (id <= 0)
		return -ENOENT;
	*out = convert(id);
	return 0;
}

int btf_find_enum_value(const char *name, int64_t *value)
{
	uint32_t id, n;
	int err = load(true);

	if (err)
		return err;
	n = btf__type_cnt(vmlinux);
	for (id = 1; id < n; id++) {
		const struct btf_type *t = btf__type_by_id(vmlinux, id);
		uint16_t i, vlen;

		if (!btf_is_any_enum(t))
			continue;
		vlen = btf_vlen(t);
		for (i = 0; i < vlen; i++) {
			if (btf_is_enum(t)) {
				const struct btf_enum *e = btf_enum(t) + i;

				if (strcmp(btf__name_by_offset(vmlinux, e->name_off), name) == 0) {
					/* Unsigned enums keep values above INT32_MAX positive. */
					*value = btf_kflag(t) ? (int64_t)e->val : (int64_t)(uint32_t)e->val;
					return 0;
				}
			} else {
				const struct btf_enum64 *e = btf_enum64(t) + i;

				if (strcmp(btf__name_by_offset(vmlinux, e->name_off), name) == 0) {
					*value = (int64_t)btf_enum64_value(e);
					return 0;
				}
			}
		}
	}
	return -ENOENT;
}

/* Forget the types converted so far (after types_free_all()), keep the parsed kernel BTF: the
 * fuzz harness compiles thousands of scripts, and parsing vmlinux once per script dominated. */
void btf_forget_types(void)
{
	if (records)
		memset(records, 0, nrecords * sizeof(*records));
}

void btf_cleanup(void)
{
	btf__free(vmlinux);
	vmlinux = NULL;
	load_err = 0;
	free(records);
	records = NULL;
	nrecords = 0;
}
