/*
 * disasm.c - refuse uprobes in the middle of an instruction.
 *
 * A uprobe writes an int3 at its offset; inside an instruction that corrupts the program instead
 * of trapping.  x86 instructions have variable length, so the only way to know the boundaries
 * is to decode linearly from the function's entry, which is what this does with LLVM-C.
 */
#include "runtime/disasm.h"

#include <errno.h>
#include <llvm-c/Disassembler.h>
#include <llvm-c/Target.h>
#include <stdbool.h>
#include <stdlib.h>

#include "runtime/elf.h"
#include "common/util.h"

/* enough for any x86 instruction decoded past the last byte we must reach */
#define MAX_INSN 15

int disasm_check_boundary(struct elf_file *ef, const struct elf_sym *sym, uint64_t add)
{
	static bool initialized;
	LLVMDisasmContextRef dc;
	uint64_t off, len, pos = 0;
	uint8_t *code;
	char text[128];
	int err;

	if (add == 0)
		return 0;
	if (sym->size && add >= sym->size)
		return -ERANGE;
	if (!initialized) {
		LLVMInitializeX86TargetInfo();
		LLVMInitializeX86TargetMC();
		LLVMInitializeX86Disassembler();
		initialized = true;
	}
	err = elf_vaddr_to_offset(ef, sym->vaddr, &off);
	if (err)
		return err;
	len = sym->size ? sym->size : add + MAX_INSN;
	code = xmalloc(len);
	err = elf_read(ef, off, code, len);
	if (err && !sym->size) {
		/* sizeless symbol near the end of the file: only what precedes add is needed */
		len = add;
		err = elf_read(ef, off, code, len);
	}
	if (err) {
		free(code);
		return -ENOENT;
	}
	dc = LLVMCreateDisasm("x86_64-pc-linux-gnu", NULL, 0, NULL, NULL);
	if (!dc) {
		free(code);
		return -ENOTSUP;
	}
	err = -EINVAL;
	while (pos < add) {
		size_t n = LLVMDisasmInstruction(dc, code + pos, len - pos, sym->vaddr + pos, text,
						 sizeof(text));

		if (n == 0) {
			err = -EILSEQ;
			break;
		}
		pos += n;
		if (pos == add)
			err = 0;
	}
	LLVMDisasmDispose(dc);
	free(code);
	return err;
}
