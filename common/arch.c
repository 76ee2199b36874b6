/* arch.c - x86-64 struct pt_regs: register names, assembler spellings and offsets. */
#include "common/arch.h"

#include <string.h>

#include "common/util.h"

static const struct arch_reg regs[] = {
	{ "r15", 0, { "r15", "r15d", "r15w", "r15b" } },
	{ "r14", 8, { "r14", "r14d", "r14w", "r14b" } },
	{ "r13", 16, { "r13", "r13d", "r13w", "r13b" } },
	{ "r12", 24, { "r12", "r12d", "r12w", "r12b" } },
	{ "bp", 32, { "rbp", "ebp", "bp", "bpl" } },
	{ "bx", 40, { "rbx", "ebx", "bx", "bl" } },
	{ "r11", 48, { "r11", "r11d", "r11w", "r11b" } },
	{ "r10", 56, { "r10", "r10d", "r10w", "r10b" } },
	{ "r9", 64, { "r9", "r9d", "r9w", "r9b" } },
	{ "r8", 72, { "r8", "r8d", "r8w", "r8b" } },
	{ "ax", 80, { "rax", "eax", "ax", "al" } },
	{ "cx", 88, { "rcx", "ecx", "cx", "cl" } },
	{ "dx", 96, { "rdx", "edx", "dx", "dl" } },
	{ "si", 104, { "rsi", "esi", "si", "sil" } },
	{ "di", 112, { "rdi", "edi", "di", "dil" } },
	{ "orig_ax", 120, { NULL } },	/* the syscall number; no operand names it */
	{ "ip", 128, { "rip", "eip", "ip", NULL } },
	{ "cs", 136, { NULL } },
	{ "flags", 144, { NULL } },
	{ "sp", 152, { "rsp", "esp", "sp", "spl" } },
	{ "ss", 160, { NULL } },
};

/* System V integer argument registers: rdi, rsi, rdx, rcx, r8, r9 */
static const uint32_t arg_offsets[ARCH_ARG_REGS] = { 112, 104, 96, 88, 72, 64 };

const struct arch_reg *arch_reg_by_name(const char *name)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(regs); i++)
		if (strcmp(regs[i].name, name) == 0)
			return &regs[i];
	return NULL;
}

const struct arch_reg *arch_reg_by_asm(const char *asm_name)
{
	size_t i, j;

	for (i = 0; i < ARRAY_SIZE(regs); i++)
		for (j = 0; j < ARRAY_SIZE(regs[i].asm_names); j++)
			if (regs[i].asm_names[j] && strcmp(regs[i].asm_names[j], asm_name) == 0)
				return &regs[i];
	return NULL;
}

uint32_t arch_arg_offset(int n)
{
	return arg_offsets[n];
}
