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

/*
 * The bitcode is read lazily: only its declarations, not the function bodies, until the link.
 * Programs call the entry point through a declaration of the same type; the object cache
 * hashes the module in that state (the walker is part of sonde's build, which the key has), and
 * a cache hit never reads the walker's code (8-11 ms of parsing and linking).
 */
int cg_ustack_link(struct cg *cg)
{
	LLVMMemoryBufferRef buf;
	LLVMModuleRef lib;
	LLVMValueRef fn;

	buf = LLVMCreateMemoryBufferWithMemoryRange(sonde_ustack_bc,
						     (size_t)(sonde_ustack_bc_end - sonde_ustack_bc),
						     "ustack.bc", false);
	/* on success the module owns the buffer */
	if (LLVMGetBitcodeModuleInContext2(cg->ctx, buf, &lib)) {
		LLVMDisposeMemoryBuffer(buf);
		diag_error(NULL, "internal error: the embedded stack walker is not valid bitcode");
		return -EINVAL;
	}
	LLVMSetTarget(lib, LLVMGetTarget(cg->mod));
	LLVMSetDataLayout(lib, LLVMGetDataLayoutStr(cg->mod));
	fn = LLVMGetNamedFunction(lib, USTK_FN_CAPTURE);
	if (!fn) {
		LLVMDisposeModule(lib);
		diag_error(NULL, "internal error: the embedded stack walker has no %s", USTK_FN_CAPTURE);
		return -EINVAL;
	}
	LLVMAddFunction(cg->mod, USTK_FN_CAPTURE, LLVMGlobalGetValueType(fn));
	cg->ustack_lib = lib;
	return 0;
}

int cg_ustack_link_body(struct cg *cg)
{
	LLVMModuleRef lib = cg->ustack_lib;

	if (!lib)
		return 0;
	cg->ustack_lib = NULL;
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
