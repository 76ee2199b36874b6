/*
 * ustack.c - the user-stack walker in a script's module.
 *
 * The walker is C (bpf/ustack.bpf.c), compiled to LLVM bitcode when sonde is built and embedded
 * in the binary (src/codegen/ustack_bc.S).  A script that takes user stacks gets it linked into
 * its module, so its programs call it as an ordinary BPF-to-BPF call: a global function, which
 * the verifier checks once however many probes call it.  Writing the walker (a loop over frames,
 * a binary search per frame, the vma lookup callback) in C keeps it readable; building it with
 * irb_* calls would not.
 */
#include "cg.h"

#include <errno.h>
#include <string.h>

#include <llvm-c/BitReader.h>
#include <llvm-c/Linker.h>

#include "bpf/ustack.h"
#include "codegen.h"
#include "diag.h"

extern const char sonde_ustack_bc[], sonde_ustack_bc_end[];

int cg_ustack_link(struct cg *cg)
{
	LLVMMemoryBufferRef buf;
	LLVMModuleRef lib;

	buf = LLVMCreateMemoryBufferWithMemoryRange(sonde_ustack_bc,
						     (size_t)(sonde_ustack_bc_end - sonde_ustack_bc),
						     "ustack.bc", false);
	if (LLVMParseBitcodeInContext2(cg->ctx, buf, &lib)) {
		LLVMDisposeMemoryBuffer(buf);
		diag_error(NULL, "internal error: the embedded stack walker is not valid bitcode");
		return -EINVAL;
	}
	LLVMDisposeMemoryBuffer(buf);
	LLVMSetTarget(lib, LLVMGetTarget(cg->mod));
	LLVMSetDataLayout(lib, LLVMGetDataLayoutStr(cg->mod));
	/* the source module is destroyed by the link */
	if (LLVMLinkModules2(cg->mod, lib)) {
		diag_error(NULL, "internal error: linking the stack walker failed");
		return -EINVAL;
	}
	return 0;
}

LLVMValueRef codegen_ustack_call(struct cg *cg, bool dwarf, bool entry, uint32_t limit)
{
	LLVMValueRef fn = LLVMGetNamedFunction(cg->mod, USTK_FN_CAPTURE);
	uint32_t mode = (dwarf ? USTK_MODE_DWARF : USTK_MODE_FP) | (entry ? USTK_F_ENTRY : 0);
	LLVMValueRef args[2];

	if (!limit || limit > USTK_MAX_FRAMES)
		limit = USTK_MAX_FRAMES;
	args[0] = LLVMConstInt(cg->i32, mode, false);
	args[1] = LLVMConstInt(cg->i32, limit, false);
	return LLVMBuildCall2(cg->b, LLVMGlobalGetValueType(fn), fn, args, 2, "");
}
