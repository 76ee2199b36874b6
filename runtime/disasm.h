/* disasm.h - is func+N an instruction boundary?  (x86-64, LLVM's disassembler) */
#ifndef SONDE_DISASM_H
#define SONDE_DISASM_H

#include <stdint.h>

struct elf_file;
struct elf_sym;

/*
 * 0 if add is the start of an instruction of sym's function, decoding from the function's first
 * byte (read from the real binary at its file offset).  -EINVAL if add falls inside an
 * instruction, -ERANGE if add is at or past the function's end (size known), -EILSEQ if bytes
 * before add do not decode, -ENOENT if the function's bytes are not in the file.
 */
int disasm_check_boundary(struct elf_file *ef, const struct elf_sym *sym, uint64_t add);

#endif
