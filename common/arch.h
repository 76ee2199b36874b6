/*
 * arch.h - the machine's registers as the kernel saves them (x86-64 struct pt_regs,
 * arch/x86/include/asm/ptrace.h): one table for reg(), argN/retval and stack arguments in
 * codegen, and the registers USDT argument specs name.
 */
#ifndef SONDE_ARCH_H
#define SONDE_ARCH_H

#include <stdint.h>

struct arch_reg {
	const char *name;		/* the pt_regs field, as reg() spells it: "ax", "r8", "orig_ax" */
	uint32_t offset;		/* bytes into struct pt_regs */
	const char *asm_names[4];	/* assembler spellings for 64, 32, 16, 8 bits ("rax", "eax",
					 * "ax", "al"); NULL where there is none */
};

/* The register reg("name") reads, or NULL. */
const struct arch_reg *arch_reg_by_name(const char *name);
/* The register an assembler operand names (without the '%': "eax", "r8d", "sil"), or NULL. */
const struct arch_reg *arch_reg_by_asm(const char *asm_name);

/* Function arguments passed in registers (System V): offset of the nth, n < ARCH_ARG_REGS. */
#define ARCH_ARG_REGS 6
uint32_t arch_arg_offset(int n);
/* The return value and the stack pointer. */
#define ARCH_RET_OFFSET 80	/* ax */
#define ARCH_SP_OFFSET 152	/* sp */

#endif
