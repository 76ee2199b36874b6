/*
 * uprobe_insn.c - the x86-64 instructions the kernel's uprobes refuse, as the kernel decides it
 * (arch/x86/kernel/uprobes.c, uprobe_init_insn): a LOCK or CS/DS/ES/SS segment prefix, or an
 * opcode outside its tables of instructions it can single-step out of line.  A VEX or EVEX
 * instruction is judged by its opcode byte against the one-byte table, which is why AVX
 * instructions such as vmovd (opcode 0x6e, the slot of outs) and vpxor (0xef, out) are refused.
 *
 * The same confusion is worse where the kernel accepts: it emulates branches instead of
 * single-stepping them, choosing by that opcode byte alone (branch_setup_xol_ops), so a VEX or
 * EVEX instruction whose opcode byte is a Jcc's (0x70-0x7f: vmovd/vmovq 0x7e, vpcmpeqb 0x74,
 * vpbroadcastb 0x7a...), a call's (0xe8: vpsubsb), a jmp's (0xe9, 0xeb) or nop's (0x90: kmovw)
 * is "emulated" as that branch and never executed.  The traced program then computes with a
 * register the instruction should have written: glibc's __strchrnul_evex (vpbroadcastb) made
 * every printf of every process print its format string unformatted.  Measured on 6.18 with
 * tests/runtime/fixtures/uprobe_vex.c; sonde refuses such probes (uprobe_insn_hazard).
 */
#include "runtime/uprobe_insn.h"

#include <stdbool.h>

#define ROW(b0, b1, b2, b3, b4, b5, b6, b7, b8, b9, ba, bb, bc, bd, be, bf)		\
	((uint16_t)((b0) << 0 | (b1) << 1 | (b2) << 2 | (b3) << 3 | (b4) << 4 | (b5) << 5 |	\
		    (b6) << 6 | (b7) << 7 | (b8) << 8 | (b9) << 9 | (ba) << 10 | (bb) << 11 |	\
		    (bc) << 12 | (bd) << 13 | (be) << 14 | (bf) << 15))

/* good_insns_64: one-byte opcodes (prefix bytes and 64-bit-invalid opcodes are 0) */
static const uint16_t good_1byte[16] = {
	ROW(1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1, 0, 0),	/* 00 */
	ROW(1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1, 0, 0),	/* 10 */
	ROW(1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1, 0, 0),	/* 20 */
	ROW(1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1, 0, 0),	/* 30 */
	ROW(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0),	/* 40 */
	ROW(1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1),	/* 50 */
	ROW(0, 0, 0, 1, 0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0),	/* 60 */
	ROW(1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1),	/* 70 */
	ROW(1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1),	/* 80 */
	ROW(1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1),	/* 90 */
	ROW(1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1),	/* a0 */
	ROW(1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1),	/* b0 */
	ROW(1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0),	/* c0 */
	ROW(1, 1, 1, 1, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1),	/* d0 */
	ROW(1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 0, 1, 0, 0, 0, 0),	/* e0 */
	ROW(0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1),	/* f0 */
};

/* good_2byte_insns: 0f xx */
static const uint16_t good_2byte[16] = {
	ROW(1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1),	/* 00 */
	ROW(1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1),	/* 10 */
	ROW(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1),	/* 20 */
	ROW(0, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1),	/* 30 */
	ROW(1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1),	/* 40 */
	ROW(1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1),	/* 50 */
	ROW(1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1),	/* 60 */
	ROW(1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1),	/* 70 */
	ROW(1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1),	/* 80 */
	ROW(1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1),	/* 90 */
	ROW(1, 1, 0, 1, 1, 1, 0, 0, 1, 1, 0, 1, 1, 1, 0, 1),	/* a0 */
	ROW(1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1),	/* b0 */
	ROW(1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1),	/* c0 */
	ROW(1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1),	/* d0 */
	ROW(1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1),	/* e0 */
	ROW(1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0),	/* f0 */
};

static bool good(const uint16_t *tab, uint8_t op)
{
	return tab[op >> 4] >> (op & 15) & 1;
}

/* The opcode byte of the instruction at code[0..len) (after its prefixes) at *op; false when
 * it cannot be decoded here.  *vex tells a VEX or EVEX encoding; *refusal is set when a prefix
 * alone makes the kernel refuse. */
static bool opcode_of(const uint8_t *code, size_t len, size_t *op, bool *vex, const char **refusal)
{
	size_t i = 0;

	*vex = false;
	*refusal = NULL;
	for (; i < len; i++) {
		switch (code[i]) {
		case 0xf0:
			*refusal = "a LOCK-prefixed instruction";
			return false;
		case 0x26: case 0x2e: case 0x36: case 0x3e:
			*refusal = "an instruction with a segment override prefix";
			return false;
		case 0x64: case 0x65: case 0x66: case 0x67: case 0xf2: case 0xf3:
			continue;
		}
		break;
	}
	if (i < len && (code[i] & 0xf0) == 0x40)
		i++;	/* REX */
	if (i + 1 < len && (code[i] == 0xc5 || code[i] == 0xc4 || code[i] == 0x62)) {
		/* VEX2, VEX3, EVEX: the map is implied, the opcode follows the prefix */
		i += code[i] == 0xc5 ? 2 : code[i] == 0xc4 ? 3 : 4;
		*vex = true;
	}
	if (i >= len)
		return false;
	*op = i;
	return true;
}

const char *uprobe_insn_hazard(const uint8_t *code, size_t len)
{
	const char *refusal;
	size_t i;
	bool vex;

	if (!opcode_of(code, len, &i, &vex, &refusal) || !vex)
		return NULL;
	if (code[i] >= 0x70 && code[i] <= 0x7f)
		return "an AVX instruction that the kernel would take for a conditional jump";
	switch (code[i]) {
	case 0xe8:
		return "an AVX instruction that the kernel would take for a call";
	case 0xe9: case 0xeb:
		return "an AVX instruction that the kernel would take for a jump";
	case 0x90:
		return "an AVX instruction that the kernel would take for a nop";
	}
	return NULL;
}

const char *uprobe_insn_refusal(const uint8_t *code, size_t len)
{
	const char *refusal;
	size_t i;
	bool vex;

	if (!opcode_of(code, len, &i, &vex, &refusal))
		return refusal;	/* NULL when not decodable here: let the kernel judge */
	if (!vex && code[i] == 0x0f) {
		if (i + 1 >= len)
			return NULL;
		return good(good_2byte, code[i + 1]) ? NULL :
		       "an instruction it cannot single-step";
	}
	if (good(good_1byte, code[i]))
		return NULL;
	return vex ? "an AVX instruction it cannot single-step" :
		     "an instruction it cannot single-step";
}
