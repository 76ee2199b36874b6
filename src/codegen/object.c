/*
 * object.c - the LLVM module around the programs: map definitions as BTF-described globals in
 * .maps, the license, debug info, optimization and emission of the BPF ELF object in memory.
 *
 * A map is a global in section .maps whose debug type is
 *	struct { int (*type)[T]; int (*max_entries)[N]; int (*key_size)[K]; int (*value_size)[V]; }
 * which the BPF backend turns into BTF and libbpf turns into a map: the same shape as
 * libbpf's __uint() macros.
 */
#include "codegen.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <llvm-c/Analysis.h>
#include <llvm-c/Target.h>
#include <llvm-c/TargetMachine.h>
#include <llvm-c/Transforms/PassBuilder.h>

#include "builtins/builtins.h"
#include "cg.h"
#include "diag.h"
#include "util.h"

enum {
	MAP_HASH = 1,
	MAP_ARRAY = 2,
	MAP_PERCPU_HASH = 5,
	MAP_PERCPU_ARRAY = 6,
	MAP_STACK_TRACE = 7,
	MAP_LRU_HASH = 9,
	MAP_LRU_PERCPU_HASH = 10,
	MAP_RINGBUF_TYPE = 27,
};

void codegen_map_name(const struct map_info *mi, char *buf, size_t len)
{
	const char *n = mi->name[1] ? mi->name + 1 : "_";
	size_t i, o = 0;

	/* BPF object names: keep it short and identifier-like; the index makes it unique */
	o = (size_t)snprintf(buf, len, "m%d_", mi->id);
	for (i = 0; n[i] && o + 1 < len && o < 15; i++)
		buf[o++] = n[i];
	buf[o] = '\0';
}

struct map_def {
	LLVMValueRef global;
	uint32_t type, max_entries, key_size, value_size, map_flags;
};

static LLVMMetadataRef di_uint_field(struct cg *cg, const char *name, uint32_t value, uint64_t off)
{
	LLVMMetadataRef sub = LLVMDIBuilderGetOrCreateSubrange(cg->di, 0, value);
	LLVMMetadataRef arr = LLVMDIBuilderCreateArrayType(cg->di, (uint64_t)value * 32, 32,
							   cg->di_int, &sub, 1);
	LLVMMetadataRef ptr = LLVMDIBuilderCreatePointerType(cg->di, arr, 64, 0, 0, NULL, 0);

	return LLVMDIBuilderCreateMemberType(cg->di, cg->di_file, name, strlen(name), cg->di_file, 0,
					     64, 0, off, LLVMDIFlagZero, ptr);
}

static LLVMValueRef map_global(struct cg *cg, const char *name)
{
	LLVMTypeRef fields[5] = { cg->ptr, cg->ptr, cg->ptr, cg->ptr, cg->ptr };
	LLVMTypeRef t = LLVMStructTypeInContext(cg->ctx, fields, 5, false);
	LLVMValueRef g = LLVMAddGlobal(cg->mod, t, name);

	LLVMSetInitializer(g, LLVMConstNull(t));
	LLVMSetSection(g, ".maps");
	LLVMSetAlignment(g, 8);
	LLVMSetLinkage(g, LLVMExternalLinkage);
	return g;
}

static void map_describe(struct cg *cg, const struct map_def *d, const char *name)
{
	LLVMMetadataRef members[5], st, expr, gve;
	unsigned n = 0;

	members[n++] = di_uint_field(cg, "type", d->type, 0);
	members[n++] = di_uint_field(cg, "max_entries", d->max_entries, 64);
	if (d->key_size) {
		members[n] = di_uint_field(cg, "key_size", d->key_size, 64 * n);
		n++;
	}
	if (d->value_size) {
		members[n] = di_uint_field(cg, "value_size", d->value_size, 64 * n);
		n++;
	}
	if (d->map_flags) {
		members[n] = di_uint_field(cg, "map_flags", d->map_flags, 64 * n);
		n++;
	}
	st = LLVMDIBuilderCreateStructType(cg->di, cg->di_file, NULL, 0, cg->di_file, 0, 64 * n, 64,
					   LLVMDIFlagZero, NULL, members, n, 0, NULL, NULL, 0);
	expr = LLVMDIBuilderCreateExpression(cg->di, NULL, 0);
	gve = LLVMDIBuilderCreateGlobalVariableExpression(cg->di, cg->di_cu, name, strlen(name), name,
							  strlen(name), cg->di_file, 0, st, false,
							  expr, NULL, 64);
	LLVMGlobalSetMetadata(d->global, LLVMGetMDKindIDInContext(cg->ctx, "dbg", 3), gve);
}

static void license(struct cg *cg)
{
	LLVMValueRef str = LLVMConstStringInContext(cg->ctx, "GPL", 3, false);
	LLVMValueRef g = LLVMAddGlobal(cg->mod, LLVMTypeOf(str), "_license");

	LLVMSetInitializer(g, str);
	LLVMSetSection(g, "license");
}

static void setup(struct cg *cg, struct script *s)
{
	LLVMMetadataRef v;

	memset(cg, 0, sizeof(*cg));
	cg->s = s;
	cg->ctx = LLVMContextCreate();
	cg->mod = LLVMModuleCreateWithNameInContext("sonde", cg->ctx);
	LLVMSetTarget(cg->mod, "bpf-pc-linux");
	LLVMSetDataLayout(cg->mod, "e-m:e-p:64:64-i64:64-i128:128-n32:64-S128");
	cg->b = LLVMCreateBuilderInContext(cg->ctx);
	cg->di = LLVMCreateDIBuilder(cg->mod);
	cg->i1 = LLVMInt1TypeInContext(cg->ctx);
	cg->i8 = LLVMInt8TypeInContext(cg->ctx);
	cg->i16 = LLVMInt16TypeInContext(cg->ctx);
	cg->i32 = LLVMInt32TypeInContext(cg->ctx);
	cg->i64 = LLVMInt64TypeInContext(cg->ctx);
	cg->ptr = LLVMPointerTypeInContext(cg->ctx, 0);
	cg->vd = LLVMVoidTypeInContext(cg->ctx);

	v = LLVMValueAsMetadata(LLVMConstInt(cg->i32, LLVMDebugMetadataVersion(), false));
	LLVMAddModuleFlag(cg->mod, LLVMModuleFlagBehaviorWarning, "Debug Info Version", 18, v);
	v = LLVMValueAsMetadata(LLVMConstInt(cg->i32, 5, false));
	LLVMAddModuleFlag(cg->mod, LLVMModuleFlagBehaviorWarning, "Dwarf Version", 13, v);
	cg->di_file = LLVMDIBuilderCreateFile(cg->di, diag_source_name(), strlen(diag_source_name()),
					      ".", 1);
	cg->di_cu = LLVMDIBuilderCreateCompileUnit(cg->di, LLVMDWARFSourceLanguageC, cg->di_file,
						   "sonde", 5, true, "", 0, 0, "", 0,
						   LLVMDWARFEmissionFull, 0, false, false, "", 0, "", 0);
	cg->di_int = LLVMDIBuilderCreateBasicType(cg->di, "int", 3, 32, 5 /* DW_ATE_signed */,
						  LLVMDIFlagZero);
	cg->di_ptr = LLVMDIBuilderCreatePointerType(cg->di, cg->di_int, 64, 0, 0, NULL, 0);
}

static void teardown(struct cg *cg)
{
	free(cg->maps);
	free(cg->vars);
	free(cg->uses);
	LLVMDisposeDIBuilder(cg->di);
	LLVMDisposeBuilder(cg->b);
	if (cg->ustack_lib)
		LLVMDisposeModule(cg->ustack_lib);
	LLVMDisposeModule(cg->mod);
	LLVMContextDispose(cg->ctx);
}

static int emit(struct cg *cg, const struct codegen_opts *opts, void **obj, size_t *size)
{
	LLVMTargetRef target;
	LLVMTargetMachineRef tm;
	LLVMPassBuilderOptionsRef pbo;
	LLVMMemoryBufferRef buf;
	LLVMErrorRef lerr;
	struct objcache oc;
	char *err = NULL;
	int ret = 0;

	LLVMInitializeBPFTargetInfo();
	LLVMInitializeBPFTarget();
	LLVMInitializeBPFTargetMC();
	LLVMInitializeBPFAsmPrinter();
	LLVMInitializeBPFAsmParser();	/* the stack walker's inline asm (its kfunc calls) */
	if (LLVMGetTargetFromTriple("bpf-pc-linux", &target, &err)) {
		diag_error(NULL, "LLVM has no BPF target: %s", err);
		LLVMDisposeMessage(err);
		return -ENOTSUP;
	}
	if (LLVMVerifyModule(cg->mod, LLVMReturnStatusAction, &err)) {
		diag_error(NULL, "internal error: invalid IR generated: %s", err);
		LLVMDisposeMessage(err);
		return -EINVAL;
	}
	LLVMDisposeMessage(err);
	/* the same module compiled before: skip the passes (objcache.c) */
	if (objcache_lookup(&oc, cg->mod, cg->s, opts, obj, size) == 0) {
		objcache_free(&oc);
		return 0;
	}
	if (cg_ustack_link_body(cg)) {
		objcache_free(&oc);
		return -EINVAL;
	}
	tm = LLVMCreateTargetMachine(target, "bpf-pc-linux", "v2", "", LLVMCodeGenLevelDefault,
				     LLVMRelocDefault, LLVMCodeModelDefault);
	pbo = LLVMCreatePassBuilderOptions();
	lerr = LLVMRunPasses(cg->mod, "default<O2>", tm, pbo);
	LLVMDisposePassBuilderOptions(pbo);
	if (lerr) {
		char *msg = LLVMGetErrorMessage(lerr);

		diag_error(NULL, "internal error: LLVM optimization failed: %s", msg);
		LLVMDisposeErrorMessage(msg);
		LLVMDisposeTargetMachine(tm);
		objcache_free(&oc);
		return -EINVAL;
	}
	if (opts && opts->dump_ir) {
		char *ir = LLVMPrintModuleToString(cg->mod);

		fputs(ir, opts->dump_ir);
		LLVMDisposeMessage(ir);
	}
	if (opts && opts->dump_asm) {
		if (LLVMTargetMachineEmitToMemoryBuffer(tm, cg->mod, LLVMAssemblyFile, &err, &buf)) {
			diag_error(NULL, "internal error: BPF assembly emission failed: %s", err);
			LLVMDisposeMessage(err);
			LLVMDisposeTargetMachine(tm);
			objcache_free(&oc);
			return -EINVAL;
		}
		fwrite(LLVMGetBufferStart(buf), 1, LLVMGetBufferSize(buf), opts->dump_asm);
		LLVMDisposeMemoryBuffer(buf);
	}
	if (LLVMTargetMachineEmitToMemoryBuffer(tm, cg->mod, LLVMObjectFile, &err, &buf)) {
		diag_error(NULL, "internal error: BPF code emission failed: %s", err);
		LLVMDisposeMessage(err);
		ret = -EINVAL;
	} else {
		*size = LLVMGetBufferSize(buf);
		*obj = xmalloc(*size);
		memcpy(*obj, LLVMGetBufferStart(buf), *size);
		LLVMDisposeMemoryBuffer(buf);
		objcache_store(&oc, *obj, *size);
	}
	objcache_free(&oc);
	LLVMDisposeTargetMachine(tm);
	return ret;
}

int codegen_object(struct script *s, const struct codegen_opts *opts, void **obj, size_t *size)
{
	struct map_def *defs;
	struct cg cg;
	char name[32];
	size_t i, ndefs = 0;
	uint32_t pages = opts && opts->ringbuf_pages ? opts->ringbuf_pages : 64;
	int err;

	setup(&cg, s);
	defs = xcalloc(s->nmaps + 9, sizeof(*defs));
	cg.maps = xcalloc(s->nmaps ? s->nmaps : 1, sizeof(*cg.maps));
	for (i = 0; i < s->nmaps; i++) {
		struct map_info *mi = s->maps[i];
		struct map_def *d = &defs[ndefs++];

		codegen_map_name(mi, name, sizeof(name));
		d->global = cg.maps[i] = map_global(&cg, name);
		d->type = mi->percpu ? MAP_PERCPU_HASH : MAP_HASH;
		/* let @m = lruhash(N): an LRU map evicts instead of refusing new keys */
		if (mi->decl_kind == MAP_DECL_LRU_HASH || mi->decl_kind == MAP_DECL_PERCPU_LRU_HASH)
			d->type = mi->percpu ? MAP_LRU_PERCPU_HASH : MAP_LRU_HASH;
		d->max_entries = mi->max_entries ? mi->max_entries : s->opts.map_keys_max;
		d->key_size = script_map_key_size(mi);
		d->value_size = script_map_value_size(mi);
	}
	cg.ringbuf = defs[ndefs].global = map_global(&cg, MAP_RINGBUF);
	defs[ndefs].type = MAP_RINGBUF_TYPE;
	defs[ndefs++].max_entries = pages * 4096;
	cg.scratch = defs[ndefs].global = map_global(&cg, MAP_SCRATCH);
	defs[ndefs].type = MAP_PERCPU_ARRAY;
	defs[ndefs].key_size = 4;
	defs[ndefs++].max_entries = (uint32_t)(s->nprogs ? s->nprogs : 1);
	cg.globals = defs[ndefs].global = map_global(&cg, MAP_GLOBALS);
	defs[ndefs].type = MAP_ARRAY;
	defs[ndefs].key_size = 4;
	defs[ndefs].value_size = 8;
	defs[ndefs++].max_entries = GLOBAL_COUNT;
	/* per CPU: 0 the events lost, 1 when the reader was last woken (cg_event_end) */
	cg.lost = defs[ndefs].global = map_global(&cg, MAP_LOST);
	defs[ndefs].type = MAP_PERCPU_ARRAY;
	defs[ndefs].key_size = 4;
	defs[ndefs].value_size = 8;
	defs[ndefs++].max_entries = 2;
	/* one flag per map: set when it first refused a new key (irb_map_update) */
	cg.full = defs[ndefs].global = map_global(&cg, MAP_FULL);
	defs[ndefs].type = MAP_ARRAY;
	defs[ndefs].key_size = 4;
	defs[ndefs].value_size = 8;
	defs[ndefs++].max_entries = (uint32_t)(s->nmaps ? s->nmaps : 1);
	if (s->uses_syscall_names) {
		cg.sysnames = defs[ndefs].global = map_global(&cg, MAP_SYSNAMES);
		defs[ndefs].type = MAP_ARRAY;
		defs[ndefs].key_size = 4;
		defs[ndefs].value_size = KNAMES_SYSCALL_LEN;
		defs[ndefs++].max_entries = KNAMES_SYSCALL_MAX;
	}
	if (s->uses_signal_names) {
		cg.signames = defs[ndefs].global = map_global(&cg, MAP_SIGNAMES);
		defs[ndefs].type = MAP_ARRAY;
		defs[ndefs].key_size = 4;
		defs[ndefs].value_size = KNAMES_SIGNAL_LEN;
		defs[ndefs++].max_entries = KNAMES_SIGNAL_MAX;
	}
	/* kernel stacks only when the script takes them: the map is frames x entries large */
	if (s->uses_kstack) {
		cg.stacks = defs[ndefs].global = map_global(&cg, MAP_STACKS);
		defs[ndefs].type = MAP_STACK_TRACE;
		defs[ndefs].key_size = 4;
		defs[ndefs].value_size = 8 * s->opts.stack_max;
		defs[ndefs++].max_entries = 4096;
	}
	/* user stacks: the walker brings its own maps (bpf/ustack.bpf.c), linked in by emit() */
	if (s->uses_ustack && cg_ustack_link(&cg)) {
		free(defs);
		teardown(&cg);
		return -EINVAL;
	}
	license(&cg);

	for (i = 0; i < s->nprogs; i++)
		cg_program(&cg, &s->progs[i], i);

	/* the scratch frame is as large as the largest program needs */
	defs[s->nmaps + 1].value_size = ALIGN_UP(cg.frame_max ? cg.frame_max : 8, 8);
	if (defs[s->nmaps + 1].value_size > 32768) {
		diag_error(NULL, "the script needs %u bytes of scratch memory per program, more than "
			   "the 32768 a per-CPU map value can hold: use fewer or shorter strings",
			   defs[s->nmaps + 1].value_size);
		free(defs);
		teardown(&cg);
		return -E2BIG;
	}
	/* no program kept its frame lookup (codegen.c): the kernel need not allocate the map */
	if (!LLVMGetFirstUse(cg.scratch)) {
		LLVMDeleteGlobal(cg.scratch);
		memmove(&defs[s->nmaps + 1], &defs[s->nmaps + 2],
			(ndefs - s->nmaps - 2) * sizeof(*defs));
		ndefs--;
	}
	for (i = 0; i < ndefs; i++)
		map_describe(&cg, &defs[i], LLVMGetValueName(defs[i].global));
	LLVMDIBuilderFinalize(cg.di);
	err = emit(&cg, opts, obj, size);
	free(defs);
	teardown(&cg);
	return err;
}
