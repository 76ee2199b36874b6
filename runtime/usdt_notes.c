/*
 * usdt_notes.c - SystemTap SDT probes: the notes that locate them and the argument specs.
 *
 * Each probe is an NT_STAPSDT (3) note owned by "stapsdt" in .note.stapsdt; its descriptor holds
 * three addresses (probe pc, the link-time address of .stapsdt.base, the semaphore) followed by
 * "provider\0name\0args\0".  When the file was prelinked, .stapsdt.base moved and its recorded
 * address did not: per the SDT spec the pc is adjusted by (actual .stapsdt.base address - recorded
 * base).  The semaphore is used as recorded (as libbpf does).  File offsets go through the
 * program headers like every uprobe offset (elf.c).  64-bit ELF only (x86-64).
 */
#include "runtime/usdt_notes.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/arch.h"
#include "runtime/elf.h"
#include "common/util.h"

#define NT_STAPSDT 3

struct nhdr {
	uint32_t namesz, descsz, type;
};

int usdt_notes_foreach(struct elf_file *ef, int (*cb)(const struct usdt_note *note, void *ctx),
		       void *ctx)
{
	const void *data, *bdata;
	size_t size, bsize, pos = 0;
	uint64_t base_addr = 0;
	bool have_base;

	if (elf_section(ef, ".note.stapsdt", &data, &size, NULL))
		return -ENOENT;
	have_base = elf_section(ef, ".stapsdt.base", &bdata, &bsize, &base_addr) == 0;

	while (pos + sizeof(struct nhdr) <= size) {
		const char *p = (const char *)data + pos;
		struct nhdr nh;
		const char *name, *desc, *end, *prov, *pname, *args;
		struct usdt_note n = { 0 };
		size_t desc_off, next;
		int r;

		memcpy(&nh, p, sizeof(nh));
		desc_off = sizeof(nh) + ALIGN_UP((size_t)nh.namesz, 4);
		next = desc_off + ALIGN_UP((size_t)nh.descsz, 4);
		if (next > size - pos)
			return -EINVAL;
		pos += next;
		name = p + sizeof(nh);
		if (nh.type != NT_STAPSDT || nh.namesz != 8 || memcmp(name, "stapsdt", 8) != 0)
			continue;
		if (nh.descsz < 3 * 8 + 3)
			return -EINVAL;
		desc = p + desc_off;
		end = desc + nh.descsz;
		memcpy(&n.pc, desc, 8);
		memcpy(&n.base, desc + 8, 8);
		memcpy(&n.semaphore, desc + 16, 8);
		prov = desc + 24;
		pname = memchr(prov, '\0', end - prov);
		if (!pname++ || pname >= end)
			return -EINVAL;
		args = memchr(pname, '\0', end - pname);
		if (!args++)
			return -EINVAL;
		if (args >= end || !memchr(args, '\0', end - args))
			args = "";
		n.provider = prov;
		n.name = pname;
		n.args = args;
		if (have_base && n.base)
			n.pc += base_addr - n.base;
		r = elf_vaddr_to_offset(ef, n.pc, &n.pc_offset);
		if (r)
			return r;
		if (n.semaphore) {
			r = elf_vaddr_to_offset(ef, n.semaphore, &n.sema_offset);
			if (r)
				return r;
		}
		r = cb(&n, ctx);
		if (r)
			return r;
	}
	return 0;
}

int usdt_reg_lookup(const char *reg, const char **field, int *offset)
{
	const struct arch_reg *r = arch_reg_by_asm(reg);

	if (!r)
		return -ENOTSUP;
	*field = r->name;
	*offset = (int)r->offset;
	return 0;
}

/* "%rdi" at *s: store field/offset, advance *s. */
static int parse_reg(const char **s, char *field, size_t fsz, int *off)
{
	char name[16];
	size_t n = 0;
	const char *f;
	int err;

	if (**s != '%')
		return -EINVAL;
	(*s)++;
	while (isalnum((unsigned char)**s) && n + 1 < sizeof(name))
		name[n++] = *(*s)++;
	name[n] = '\0';
	if (!n)
		return -EINVAL;
	err = usdt_reg_lookup(name, &f, off);
	if (err)
		return err;
	snprintf(field, fsz, "%s", f);
	return 0;
}

static int parse_one(const char *s, size_t len, struct usdt_arg *a)
{
	char buf[256];
	const char *p, *at;
	char *endp;
	int err;

	if (len >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, len);
	buf[len] = '\0';
	memset(a, 0, sizeof(*a));
	a->reg_off = a->idx_off = -1;
	a->scale = 1;

	p = buf;
	at = strchr(buf, '@');
	if (at) {
		long sz = strtol(buf, &endp, 10);

		if (endp != at)
			return -EINVAL;
		a->is_signed = sz < 0;
		a->size = (int)(sz < 0 ? -sz : sz);
		if (a->size != 1 && a->size != 2 && a->size != 4 && a->size != 8)
			return -EINVAL;
		p = at + 1;
	} else {
		/* very old notes carry no size: a signed long */
		a->size = 8;
		a->is_signed = true;
	}

	if (*p == '$') {
		errno = 0;
		a->kind = USDT_ARG_CONST;
		a->val = strtoll(p + 1, &endp, 0);
		return (endp == p + 1 || *endp || errno) ? -EINVAL : 0;
	}
	if (*p == '%') {
		a->kind = USDT_ARG_REG;
		err = parse_reg(&p, a->reg, sizeof(a->reg), &a->reg_off);
		if (err)
			return err;
		return *p ? -EINVAL : 0;
	}

	/* memory: [disp|sym[+-disp]](%base[,%index[,scale]]) */
	a->kind = USDT_ARG_MEM;
	if (isalpha((unsigned char)*p) || *p == '_') {
		size_t n = 0;

		while ((isalnum((unsigned char)*p) || *p == '_' || *p == '.') && n + 1 < sizeof(a->sym))
			a->sym[n++] = *p++;
		a->sym[n] = '\0';
	}
	if (*p && *p != '(') {
		errno = 0;
		a->val = strtoll(p, &endp, 0);
		if (endp == p || errno)
			return -EINVAL;
		p = endp;
	}
	if (*p != '(')
		return -EINVAL;
	p++;
	if (*p == '%') {
		err = parse_reg(&p, a->reg, sizeof(a->reg), &a->reg_off);
		if (err)
			return err;
	}
	if (*p == ',') {
		p++;
		err = parse_reg(&p, a->idx_reg, sizeof(a->idx_reg), &a->idx_off);
		if (err)
			return err;
		if (*p == ',') {
			long sc = strtol(p + 1, &endp, 10);

			if (endp == p + 1 || (sc != 1 && sc != 2 && sc != 4 && sc != 8))
				return -EINVAL;
			a->scale = (int)sc;
			p = endp;
		}
	}
	if (*p != ')' || p[1])
		return -EINVAL;
	if (a->reg_off < 0 && a->idx_off < 0)
		return -EINVAL;
	return 0;
}

int usdt_parse_args(const char *spec, struct usdt_arg *args, int *nargs)
{
	int cap = *nargs, n = 0, err;
	const char *p = spec;

	*nargs = 0;
	while (p && *p) {
		const char *start;

		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			break;
		start = p;
		while (*p && *p != ' ' && *p != '\t')
			p++;
		if (n >= cap)
			return -E2BIG;
		err = parse_one(start, (size_t)(p - start), &args[n]);
		if (err)
			return err;
		n++;
	}
	*nargs = n;
	return 0;
}
