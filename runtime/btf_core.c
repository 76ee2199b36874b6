/*
 * btf_core.c - the kernel types an object's CO-RE relocations need, and only those, as the
 * BTF file libbpf relocates against (btf_custom_path).
 *
 * Why: the stack walker (bpf/ustack.bpf.c) reads a dozen kernel fields through CO-RE.  Handed
 * the kernel's whole BTF, libbpf reads its 5.5 MB back from a file and parses it a second time
 * (sema parsed it already) for those dozen offsets: 60-70 ms of the envoy script's start-up,
 * most of it page faults on two fresh copies.  Instead, for every named struct or union of the
 * object's own BTF that the kernel also has, this writes a struct of the same name and size
 * holding the local members that the kernel struct has, at the kernel's offsets (members of
 * anonymous structs and unions flattened to their absolute offsets), typed as libbpf's field
 * matching expects: an integer of the kernel's size, a pointer, or a nested struct built the
 * same way.  libbpf then relocates exactly as against the full BTF, from a file of a few
 * hundred bytes.  A local member the kernel lacks, or of a kind not handled here, is left out,
 * so its relocation fails as it would against the real types: never a silent wrong offset.
 *
 * The file is a memfd whose path is given to bpf_object__open_mem(); it is filled after the
 * open, from the object's BTF, and read by bpf_object__load().  An object without CO-RE
 * relocations (no user stacks) leaves it empty and the kernel's BTF unread.
 *
 * The walker's kfunc calls are resolved here too (btf_kfuncs_resolve, at the end), for the
 * same reason.
 */
#include "runtime/btf.h"

#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <gelf.h>
#include <libelf.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bpf/ustack.h"
#include "common/diag.h"
#include "common/util.h"

static int core_fd = -1;
static char core_path[32];

const char *btf_core_path(void)
{
	if (core_fd < 0) {
		core_fd = memfd_create("sonde-core-btf", MFD_CLOEXEC);
		if (core_fd < 0)
			return NULL;
		snprintf(core_path, sizeof(core_path), "/proc/self/fd/%d", core_fd);
	}
	return core_path;
}

void btf_core_cleanup(void)
{
	if (core_fd >= 0)
		close(core_fd);
	core_fd = -1;
}

struct builder {
	const struct btf *local, *kern;
	struct btf *out;
	int ptr_id;
	int int_ids[9];		/* by byte size 1, 2, 4, 8 */
	uint32_t *wanted;	/* local ids of the named structs, by name hash slot */
	uint32_t *found;	/* the kernel's id for the same slot */
	size_t nslots;
};

static uint32_t skip_mods(const struct btf *b, uint32_t id)
{
	const struct btf_type *t;

	while (id && (t = btf__type_by_id(b, id)) &&
	       (btf_is_typedef(t) || btf_is_mod(t) || btf_is_type_tag(t)))
		id = t->type;
	return id;
}

static size_t name_hash(const char *s)
{
	size_t h = 5381;

	while (*s)
		h = h * 33 + (unsigned char)*s++;
	return h;
}

static const char *type_name(const struct btf *b, const struct btf_type *t)
{
	const char *n = btf__name_by_offset(b, t->name_off);

	return n ? n : "";
}

/* The kernel member called name in struct kid, searched through anonymous members too. */
static bool find_member(const struct btf *kern, uint32_t kid, const char *name, uint32_t *bit_off,
			uint32_t *bit_size, uint32_t *type_id, int depth)
{
	const struct btf_type *t = btf__type_by_id(kern, kid);
	const struct btf_member *m;
	int i;

	if (!t || !btf_is_composite(t) || depth > 8)
		return false;
	m = btf_members(t);
	for (i = 0; i < btf_vlen(t); i++, m++) {
		const char *mn = btf__name_by_offset(kern, m->name_off);
		uint32_t off = btf_member_bit_offset(t, (uint32_t)i);

		if (mn && *mn) {
			if (strcmp(mn, name) != 0)
				continue;
			*bit_off = off;
			*bit_size = btf_member_bitfield_size(t, (uint32_t)i);
			*type_id = m->type;
			return true;
		}
		if (find_member(kern, skip_mods(kern, m->type), name, bit_off, bit_size, type_id,
				depth + 1)) {
			*bit_off += off;
			return true;
		}
	}
	return false;
}

static int int_type(struct builder *b, uint32_t size)
{
	char name[8];

	if (size != 1 && size != 2 && size != 4 && size != 8)
		return -ENOTSUP;
	if (!b->int_ids[size]) {
		snprintf(name, sizeof(name), "u%u", size * 8);
		b->int_ids[size] = btf__add_int(b->out, name, (size_t)size, 0);
	}
	return b->int_ids[size];
}

struct field {
	const char *name;
	int type;
	uint32_t bit_off, bit_size;
};

/*
 * Local struct lid as the kernel's kid lays it out; its id in the output, or < 0.  Nested
 * structs go in first: btf__add_field() only appends to the type added last.
 */
static int add_struct(struct builder *b, uint32_t lid, uint32_t kid, int depth)
{
	const struct btf_type *lt = btf__type_by_id(b->local, lid);
	const struct btf_type *kt = btf__type_by_id(b->kern, kid);
	const struct btf_member *m;
	struct field *fs;
	int i, n = 0, id;

	if (depth > 8 || !lt || !kt || !btf_is_composite(kt))
		return -EINVAL;
	fs = xcalloc(btf_vlen(lt) + 1, sizeof(*fs));
	m = btf_members(lt);
	for (i = 0; i < btf_vlen(lt); i++, m++) {
		const char *name = btf__name_by_offset(b->local, m->name_off);
		uint32_t off, size, ktype, lmt = skip_mods(b->local, m->type);
		const struct btf_type *lm = btf__type_by_id(b->local, lmt), *km;
		int type = -ENOTSUP;

		if (!name || !*name || !lm || !find_member(b->kern, kid, name, &off, &size, &ktype, 0))
			continue;
		ktype = skip_mods(b->kern, ktype);
		km = btf__type_by_id(b->kern, ktype);
		if (!km)
			continue;
		if (btf_is_int(lm) && btf_is_int(km))
			type = int_type(b, km->size);
		else if (btf_is_ptr(lm) && btf_is_ptr(km))
			type = b->ptr_id;
		else if (btf_is_composite(lm) && btf_is_composite(km))
			type = add_struct(b, lmt, ktype, depth + 1);
		if (type < 0)
			continue;
		fs[n].name = name;
		fs[n].type = type;
		fs[n].bit_off = off;
		fs[n++].bit_size = size;
	}
	id = btf_is_union(kt) ? btf__add_union(b->out, type_name(b->local, lt), kt->size) :
				btf__add_struct(b->out, type_name(b->local, lt), kt->size);
	for (i = 0; id > 0 && i < n; i++)
		if (btf__add_field(b->out, fs[i].name, fs[i].type, fs[i].bit_off, fs[i].bit_size))
			id = -EINVAL;
	free(fs);
	return id;
}

/* The kernel's struct (or union) for each wanted name: one pass over the kernel's types. */
static void find_kernel_structs(struct builder *b)
{
	uint32_t id, n = btf__type_cnt(b->kern);

	for (id = 1; id < n; id++) {
		const struct btf_type *t = btf__type_by_id(b->kern, id);
		const char *name;
		size_t slot;

		if (!btf_is_composite(t) || !t->name_off)
			continue;
		name = type_name(b->kern, t);
		for (slot = name_hash(name) % b->nslots; b->wanted[slot]; slot = (slot + 1) % b->nslots) {
			const struct btf_type *lt = btf__type_by_id(b->local, b->wanted[slot]);

			if (btf_kind(lt) == btf_kind(t) && strcmp(type_name(b->local, lt), name) == 0) {
				if (!b->found[slot])
					b->found[slot] = id;
				break;
			}
		}
	}
}

static int write_all(int fd, const void *data, uint32_t size)
{
	uint32_t done = 0;

	if (ftruncate(fd, 0) || lseek(fd, 0, SEEK_SET) < 0)
		return -errno;
	while (done < size) {
		ssize_t w = write(fd, (const char *)data + done, size - done);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? -errno : -EIO;
		done += (uint32_t)w;
	}
	return 0;
}

/* The head of .BTF.ext (libbpf's struct btf_ext_header, not in the UAPI headers). */
struct btf_ext_head {
	uint16_t magic;
	uint8_t version, flags;
	uint32_t hdr_len;
	uint32_t func_info_off, func_info_len, line_info_off, line_info_len;
	uint32_t core_relo_off, core_relo_len;
};

/* Whether the ELF object has CO-RE relocations: .BTF.ext with a core_relo section. */
static bool has_core_relos(const void *obj, size_t size)
{
	struct btf_ext_head h;
	Elf_Scn *scn = NULL;
	size_t shstrndx;
	bool found = false;
	Elf *e;

	elf_version(EV_CURRENT);
	e = elf_memory((char *)obj, size);
	if (!e)
		return true;	/* not for this file to decide: let libbpf see */
	if (elf_getshdrstrndx(e, &shstrndx) == 0) {
		while (!found && (scn = elf_nextscn(e, scn))) {
			GElf_Shdr sh;
			const char *name;
			Elf_Data *d;

			if (!gelf_getshdr(scn, &sh) || !(name = elf_strptr(e, shstrndx, sh.sh_name)) ||
			    strcmp(name, ".BTF.ext") != 0)
				continue;
			d = elf_getdata(scn, NULL);
			if (d && d->d_size >= sizeof(h)) {
				memcpy(&h, d->d_buf, sizeof(h));
				found = h.hdr_len >= sizeof(h) && h.core_relo_len > 0;
			}
			break;
		}
	}
	elf_end(e);
	return found;
}

int btf_core_fill(const struct btf *local, const void *obj, size_t size)
{
	struct builder b = { .local = local };
	uint32_t id, n;
	const void *raw;
	uint32_t raw_size;
	size_t slot, i;
	int err = 0;

	if (core_fd < 0 || !local || !has_core_relos(obj, size))
		return 0;	/* libbpf reads the file only for CO-RE relocations */
	b.kern = btf_vmlinux();
	if (!b.kern)
		return 0;	/* relocations, if any, fail in libbpf as without this file */
	n = btf__type_cnt(local);
	b.nslots = 2 * (size_t)n + 1;
	b.wanted = xcalloc(b.nslots, sizeof(*b.wanted));
	b.found = xcalloc(b.nslots, sizeof(*b.found));
	for (id = 1; id < n; id++) {
		const struct btf_type *t = btf__type_by_id(local, id);

		if (!btf_is_composite(t) || !t->name_off)
			continue;
		for (slot = name_hash(type_name(local, t)) % b.nslots; b.wanted[slot];
		     slot = (slot + 1) % b.nslots)
			;
		b.wanted[slot] = id;
	}
	find_kernel_structs(&b);
	b.out = btf__new_empty();
	if (!b.out) {
		err = -ENOMEM;
		goto out;
	}
	b.ptr_id = btf__add_ptr(b.out, 0);
	for (i = 0; i < b.nslots && b.ptr_id > 0; i++)
		if (b.found[i] && add_struct(&b, b.wanted[i], b.found[i], 0) < 0)
			diag_verbose("kernel type for CO-RE not built: %s\n",
				     type_name(local, btf__type_by_id(local, b.wanted[i])));
	raw = b.ptr_id > 0 ? btf__raw_data(b.out, &raw_size) : NULL;
	err = raw ? write_all(core_fd, raw, raw_size) : -EINVAL;
out:
	btf__free(b.out);
	free(b.wanted);
	free(b.found);
	return err;
}

/*
 * The walker's kernel function calls.  libbpf resolves an extern kfunc against the kernel's
 * BTF, which it reads from sysfs 4 KB per read(2) and parses a second time: 7 ms on a quiet
 * machine, 30 under load, for three ids.  So the walker calls placeholder helper numbers
 * (USTK_KFUNC_*, bpf/ustack.h) and a copy of the object gets the kernel's ids from the BTF
 * already mapped (btf_vmlinux), each placeholder a kfunc call, or "r0 = 0" on a kernel without
 * that function (the walker takes a 0 as "none").
 */
static const char *const kfunc_names[] = USTK_KFUNC_NAMES;
#define NKFUNCS (sizeof(kfunc_names) / sizeof(kfunc_names[0]))

static bool is_placeholder(const struct bpf_insn *in)
{
	return in->code == (BPF_JMP | BPF_CALL) && in->src_reg == 0 &&
	       in->imm > USTK_KFUNC_BASE && in->imm < USTK_KFUNC_BASE + (int)NKFUNCS;
}

static void kfunc_ids(int32_t *ids)
{
	const struct btf *k = btf_vmlinux();
	uint32_t id, n, found = 0;
	size_t i;

	for (i = 0; i < NKFUNCS; i++)
		ids[i] = 0;
	if (!k)
		return;
	n = btf__type_cnt(k);
	for (id = 1; id < n && found < NKFUNCS - 1; id++) {
		const struct btf_type *t = btf__type_by_id(k, id);
		const char *name;

		if (!btf_is_func(t) || !(name = btf__name_by_offset(k, t->name_off)) ||
		    strncmp(name, "bpf_iter_", 9) != 0)
			continue;
		for (i = 1; i < NKFUNCS; i++)
			if (!ids[i] && strcmp(name, kfunc_names[i]) == 0) {
				ids[i] = (int32_t)id;
				found++;
			}
	}
	for (i = 1; i < NKFUNCS; i++)
		if (ids[i])
			diag_verbose("stack walker: kernel function %s, BTF id %d\n", kfunc_names[i],
				     ids[i]);
		else
			diag_verbose("stack walker: the kernel has no %s; the walker does without it\n",
				     kfunc_names[i]);
}

/* The executable sections' bytes of the ELF image: calls fn(insns, count, arg) for each. */
static int for_each_text(void *image, size_t size,
			 bool (*fn)(struct bpf_insn *, size_t, void *), void *arg)
{
	Elf_Scn *scn = NULL;
	bool stop = false;
	Elf *e;

	elf_version(EV_CURRENT);
	e = elf_memory(image, size);
	if (!e)
		return -EINVAL;
	while (!stop && (scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_PROGBITS ||
		    !(sh.sh_flags & SHF_EXECINSTR) || sh.sh_offset > size ||
		    sh.sh_size > size - sh.sh_offset || (sh.sh_offset % 8))
			continue;
		stop = fn((struct bpf_insn *)((char *)image + sh.sh_offset),
			  sh.sh_size / sizeof(struct bpf_insn), arg);
	}
	elf_end(e);
	return 0;
}

static bool find_placeholder(struct bpf_insn *in, size_t n, void *found)
{
	size_t i;

	for (i = 0; i < n && !*(bool *)found; i++)
		*(bool *)found = is_placeholder(&in[i]);
	return *(bool *)found;
}

static bool patch_placeholders(struct bpf_insn *in, size_t n, void *ids)
{
	size_t i;

	for (i = 0; i < n; i++) {
		int32_t id;

		if (!is_placeholder(&in[i]))
			continue;
		id = ((int32_t *)ids)[in[i].imm - USTK_KFUNC_BASE];
		if (id > 0) {
			in[i].src_reg = BPF_PSEUDO_KFUNC_CALL;
			in[i].off = 0;
			in[i].imm = id;
		} else {
			in[i] = (struct bpf_insn){ .code = BPF_ALU64 | BPF_MOV | BPF_K };
		}
	}
	return false;
}

void *btf_kfuncs_resolve(const void *obj, size_t size)
{
	int32_t ids[NKFUNCS];
	bool found = false;
	void *copy = xmalloc(size);	/* aligned for the instructions, unlike obj may be */

	memcpy(copy, obj, size);
	if (for_each_text(copy, size, find_placeholder, &found) || !found) {
		free(copy);
		return NULL;
	}
	kfunc_ids(ids);
	for_each_text(copy, size, patch_placeholders, ids);
	return copy;
}
