/* usdt_notes.h - USDT probes of an ELF file (.note.stapsdt) and their x86-64 argument specs. */
#ifndef SONDE_USDT_NOTES_H
#define SONDE_USDT_NOTES_H

#include <stdbool.h>
#include <stdint.h>

struct elf_file;

struct usdt_note {
	const char *provider;
	const char *name;
	const char *args;	/* the raw argument spec, e.g. "-4@%edi 8@-16(%rbp)"; "" if none */
	uint64_t pc;		/* probe address (vaddr), already adjusted by the .stapsdt.base delta */
	uint64_t base;		/* the note's recorded .stapsdt.base address */
	uint64_t semaphore;	/* semaphore vaddr, 0 if none */
	uint64_t pc_offset;	/* file offset of pc (uprobe offset) */
	uint64_t sema_offset;	/* file offset of the semaphore (uprobe ref_ctr_offset), 0 if none */
};

/*
 * Call cb for each stapsdt note; a nonzero cb return stops and is returned.  -ENOENT if the file
 * has no .note.stapsdt; -EINVAL on a malformed note.  Strings live until elf_close.
 */
int usdt_notes_foreach(struct elf_file *ef, int (*cb)(const struct usdt_note *note, void *ctx),
		       void *ctx);

enum usdt_arg_kind {
	USDT_ARG_CONST,	/* value = const */
	USDT_ARG_REG,	/* value = reg */
	USDT_ARG_MEM,	/* value = *(size *)(reg + idx_reg * scale + disp) */
};

#define USDT_MAX_ARGS 12

struct usdt_arg {
	int size;		/* bytes: 1, 2, 4 or 8 */
	bool is_signed;
	enum usdt_arg_kind kind;
	int64_t val;		/* USDT_ARG_CONST: the constant; USDT_ARG_MEM: the displacement */
	char reg[8];		/* pt_regs field of the (base) register: "di", "r8", "ip"...; "" if none */
	int reg_off;		/* its byte offset in x86-64 struct pt_regs, -1 if none */
	char idx_reg[8];	/* USDT_ARG_MEM index register, "" if none */
	int idx_off;		/* its pt_regs offset, -1 if none */
	int scale;		/* index scale (1 when there is no index) */
	char sym[64];		/* USDT_ARG_MEM: symbolic displacement ("counter" in counter(%rip)), "" */
};

/*
 * Decode a space-separated x86-64 argument spec ("-4@%edi 8@-16(%rbp) 4@$5 8@8(%rax,%rbx,4)").
 * *nargs is the capacity of args on entry and the number decoded on return.  -EINVAL on a
 * malformed spec, -E2BIG with more arguments than capacity, -ENOTSUP for a register sonde cannot
 * read (%ah-style high bytes, vector registers).
 */
int usdt_parse_args(const char *spec, struct usdt_arg *args, int *nargs);

/* The pt_regs field name and offset of an x86-64 register name without '%' ("edi" -> "di", 112),
 * from the arch table (common/arch.c).  -ENOTSUP if unknown. */
int usdt_reg_lookup(const char *reg, const char **field, int *offset);

#endif
