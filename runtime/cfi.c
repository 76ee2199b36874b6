/*
 * cfi.c - compile a binary's call-frame information into the unwind rows that the BPF stack
 * walker searches (bpf/ustack.h, struct ustk_row).
 *
 * elfutils' libdw interprets .eh_frame: for an address, dwarf_cfi_addrframe gives the rules in
 * force and the address range they hold for.  Starting at every FDE (the sorted table in
 * .eh_frame_hdr lists them) and stepping range by range yields every row, in address order.
 * x86-64 code needs few kinds of rules: the CFA is rsp or rbp plus a constant, the return address
 * is at CFA - 8, rbp is unchanged or saved at CFA + n.  PLT stubs use one well-known expression;
 * anything else (signal trampolines, hand-written assembly with DW_CFA_expression) becomes a row
 * that sends the walker to its frame-pointer fallback.  Rows are keyed by FILE offset, the unit
 * the walker gets from the vma (DESIGN.md, "Uprobe offsets": vaddr -> PT_LOAD -> offset).
 */
#include "runtime/cfi.h"

#include <dwarf.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <elfutils/libdw.h>

#include "common/util.h"

#define REG_RBP 6
#define REG_RSP 7
#define REG_RA 16

struct rows {
	struct ustk_row *v;
	size_t n, cap;
	GElf_Phdr *loads;
	size_t nloads;
};

/* vaddr -> file offset through the executable PT_LOAD that holds it */
static int to_offset(const struct rows *r, uint64_t vaddr, uint64_t *off)
{
	for (size_t i = 0; i < r->nloads; i++) {
		const GElf_Phdr *p = &r->loads[i];

		if (vaddr >= p->p_vaddr && vaddr < p->p_vaddr + p->p_filesz) {
			*off = vaddr - p->p_vaddr + p->p_offset;
			return 0;
		}
	}
	return -ENOENT;
}

static void add_row(struct rows *r, uint64_t vaddr, const struct ustk_row *row)
{
	uint64_t off;

	if (to_offset(r, vaddr, &off) || off > UINT32_MAX)
		return;
	/* a row at the same place as the previous one replaces it */
	if (r->n && r->v[r->n - 1].pc == off) {
		r->v[r->n - 1] = *row;
		r->v[r->n - 1].pc = (uint32_t)off;
		return;
	}
	if (r->n && r->v[r->n - 1].cfa_reg == row->cfa_reg && r->v[r->n - 1].cfa_off == row->cfa_off &&
	    r->v[r->n - 1].rbp_rule == row->rbp_rule && r->v[r->n - 1].rbp_off == row->rbp_off &&
	    r->v[r->n - 1].pc < off)
		return;	/* same rules: the previous row covers this range too */
	xgrow((void **)&r->v, &r->cap, r->n + 1, sizeof(*r->v));
	r->v[r->n] = *row;
	r->v[r->n].pc = (uint32_t)off;
	r->n++;
}

/* The rules of one frame state as a row. */
static void frame_row(Dwarf_Frame *fr, struct ustk_row *row)
{
	Dwarf_Op ops_mem[3], *ops;
	size_t nops;

	memset(row, 0, sizeof(*row));
	row->cfa_reg = USTK_CFA_NONE;
	if (dwarf_frame_register(fr, REG_RA, ops_mem, &ops, &nops) == 0 && ops == ops_mem &&
	    nops == 0) {
		row->cfa_reg = USTK_CFA_END;	/* DW_CFA_undefined rip: the outermost frame */
		return;
	}
	if (dwarf_frame_cfa(fr, &ops, &nops) != 0)
		return;
	if (nops == 1 && ops[0].atom == DW_OP_bregx &&
	    (ops[0].number == REG_RSP || ops[0].number == REG_RBP)) {
		row->cfa_reg = ops[0].number == REG_RSP ? USTK_CFA_RSP : USTK_CFA_RBP;
		row->cfa_off = (int)(int64_t)ops[0].number2;
	} else if (nops == 1 && (ops[0].atom == DW_OP_breg7 || ops[0].atom == DW_OP_breg6)) {
		row->cfa_reg = ops[0].atom == DW_OP_breg7 ? USTK_CFA_RSP : USTK_CFA_RBP;
		row->cfa_off = (int)(int64_t)ops[0].number;
	} else if (nops >= 2 && ops[0].atom == DW_OP_breg7 && ops[0].number == 8 &&
		   ops[1].atom == DW_OP_breg16) {
		row->cfa_reg = USTK_CFA_PLT;	/* rsp + 8 + ((rip & 15) >= 11) << 3 */
	} else {
		return;
	}
	if (dwarf_frame_register(fr, REG_RBP, ops_mem, &ops, &nops) != 0 || nops == 0)
		return;		/* same value, or undefined: nothing to restore */
	if (ops[0].atom != DW_OP_call_frame_cfa) {
		row->cfa_reg = USTK_CFA_NONE;
		return;
	}
	if (nops == 1) {
		row->rbp_rule = USTK_RBP_AT;
	} else if (nops == 2 && ops[1].atom == DW_OP_plus_uconst) {
		row->rbp_rule = USTK_RBP_AT;
		row->rbp_off = (short)ops[1].number;
	} else if (nops == 3 && ops[1].atom == DW_OP_consts && ops[2].atom == DW_OP_plus) {
		row->rbp_rule = USTK_RBP_AT;
		row->rbp_off = (short)(int64_t)ops[1].number;
	} else {
		row->cfa_reg = USTK_CFA_NONE;	/* val_offset, expressions: not for the walker */
	}
}

/* A DW_EH_PE-encoded 4- or 8-byte value of .eh_frame_hdr. */
static int read_enc(const unsigned char *base, size_t size, size_t *pos, uint8_t enc,
		    uint64_t hdr_addr, uint64_t *out)
{
	const unsigned char *p = base + *pos;
	uint64_t v;
	int64_t sv;

	switch (enc & 0x0f) {
	case 0x03: /* udata4 */
	case 0x0b: /* sdata4 */
		if (*pos + 4 > size)
			return -EINVAL;
		{
			int32_t s32;
			uint32_t u32;

			memcpy(&u32, p, 4);
			memcpy(&s32, p, 4);
			sv = (enc & 0x0f) == 0x0b ? s32 : (int64_t)u32;
		}
		*pos += 4;
		break;
	case 0x00: /* absptr */
	case 0x04: /* udata8 */
	case 0x0c: /* sdata8 */
		if (*pos + 8 > size)
			return -EINVAL;
		memcpy(&v, p, 8);
		sv = (int64_t)v;
		*pos += 8;
		break;
	default:
		return -ENOTSUP;
	}
	switch (enc & 0x70) {
	case 0x00: v = (uint64_t)sv; break;
	case 0x10: v = hdr_addr + (uint64_t)(p - base) + (uint64_t)sv; break;	/* pcrel */
	case 0x30: v = hdr_addr + (uint64_t)sv; break;				/* datarel */
	default: return -ENOTSUP;
	}
	*out = v;
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The start addresses of every FDE, sorted, from .eh_frame_hdr's search table. */
static int fde_starts(Elf *e, uint64_t **out, size_t *n)
{
	Elf_Scn *scn = NULL;
	size_t shstrndx, pos = 4, i, count;
	uint64_t eh_ptr, cnt, *v;

	if (elf_getshdrstrndx(e, &shstrndx))
		return -EINVAL;
	while ((scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh;
		const char *name;
		Elf_Data *d;
		const unsigned char *b;

		if (!gelf_getshdr(scn, &sh) || !(name = elf_strptr(e, shstrndx, sh.sh_name)) ||
		    strcmp(name, ".eh_frame_hdr") != 0)
			continue;
		d = elf_getdata(scn, NULL);
		if (!d || !d->d_buf || d->d_size < 4)
			return -EINVAL;
		b = d->d_buf;
		if (b[0] != 1 || b[3] == 0xff)
			return -ENOTSUP;
		if (read_enc(b, d->d_size, &pos, b[1], sh.sh_addr, &eh_ptr) ||
		    read_enc(b, d->d_size, &pos, b[2], sh.sh_addr, &cnt))
			return -ENOTSUP;
		count = (size_t)cnt;
		if (count > d->d_size / 8)
			return -EINVAL;
		v = xcalloc(count ? count : 1, sizeof(*v));
		for (i = 0; i < count; i++) {
			uint64_t fde;

			if (read_enc(b, d->d_size, &pos, b[3], sh.sh_addr, &v[i]) ||
			    read_enc(b, d->d_size, &pos, b[3], sh.sh_addr, &fde)) {
				free(v);
				return -EINVAL;
			}
		}
		qsort(v, count, sizeof(*v), cmp_u64);
		*out = v;
		*n = count;
		return 0;
	}
	return -ENOENT;
}

int cfi_build(const char *path, struct ustk_row **rows_out, size_t *n_out)
{
	struct rows r = { 0 };
	uint64_t *starts = NULL;
	size_t nstarts = 0, i, nph;
	Dwarf_CFI *cfi = NULL;
	Elf *e;
	int fd, err;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	elf_version(EV_CURRENT);
	e = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!e || elf_kind(e) != ELF_K_ELF) {
		err = -ENOEXEC;
		goto out;
	}
	if (elf_getphdrnum(e, &nph)) {
		err = -ENOEXEC;
		goto out;
	}
	r.loads = xcalloc(nph ? nph : 1, sizeof(*r.loads));
	for (i = 0; i < nph; i++) {
		GElf_Phdr ph;

		if (gelf_getphdr(e, (int)i, &ph) && ph.p_type == PT_LOAD && (ph.p_flags & PF_X))
			r.loads[r.nloads++] = ph;
	}
	err = fde_starts(e, &starts, &nstarts);
	if (err)
		goto out;
	cfi = dwarf_getcfi_elf(e);
	if (!cfi) {
		err = -ENOENT;
		goto out;
	}
	for (i = 0; i < nstarts; i++) {
		uint64_t pc = starts[i], next = i + 1 < nstarts ? starts[i + 1] : UINT64_MAX;
		struct ustk_row row;

		if (i && starts[i] == starts[i - 1])
			continue;
		while (pc < next) {
			Dwarf_Frame *fr;
			Dwarf_Addr lo, hi;
			bool signalp;

			if (dwarf_cfi_addrframe(cfi, pc, &fr) != 0) {
				/* past the FDE's end: no rule until the next FDE */
				memset(&row, 0, sizeof(row));
				row.cfa_reg = USTK_CFA_NONE;
				if (pc != starts[i])
					add_row(&r, pc, &row);
				break;
			}
			if (dwarf_frame_info(fr, &lo, &hi, &signalp) < 0 || hi <= pc) {
				free(fr);
				break;
			}
			frame_row(fr, &row);
			if (signalp)
				row.cfa_reg = USTK_CFA_NONE;
			free(fr);
			add_row(&r, pc, &row);
			pc = hi;
		}
	}
	*rows_out = r.v;
	*n_out = r.n;
	r.v = NULL;
	err = 0;
out:
	free(starts);
	free(r.loads);
	free(r.v);
	/* the CFI of an Elf handle is the caller's to end (libdw keeps only a Dwarf's) */
	if (cfi)
		dwarf_cfi_end(cfi);
	if (e)
		elf_end(e);
	close(fd);
	return err;
}
