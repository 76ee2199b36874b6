/*
 * fuzz_compile.c - libFuzzer harness over sonde's front end: preprocess -> parse -> sema ->
 * codegen, never loading anything into the kernel.
 *
 * Each input is one script, fed through the same calls src/main.c makes, with the default
 * options of the command line.  Between inputs every piece of global state the passes keep is
 * reset (diagnostics, macros, C definitions, the type arena and the caches pointing into it), so
 * an input behaves as in a fresh sonde process and a crash reproduces from that input alone.
 * Diagnostics go to stderr: run with -close_fd_mask=2 to silence them.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ast.h"
#include "cdecl.h"
#include "codegen/codegen.h"
#include "diag.h"
#include "preprocess.h"
#include "probes/probe.h"
#include "runtime/btf.h"
#include "runtime/features.h"
#include "runtime/ksyms.h"
#include "runtime/tracefs.h"
#include "script.h"
#include "util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct kernel_features fuzz_kf;

static int fuzz_resolve_record(const char *name, bool is_union, struct record **out)
{
	return btf_find_record(name, is_union, out);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	features_detect(&fuzz_kf);
	return 0;
}

static void fuzz_compile(const char *text)
{
	struct pp_options ppo = { 0 };
	struct codegen_opts copts = { 0 };
	struct script s;
	char *pp = NULL;
	void *obj = NULL;
	size_t objsize = 0;

	script_init(&s);
	s.opts.strlen = 64;
	s.opts.map_keys_max = 4096;
	s.opts.stack_max = 127;
	probe_pid = 0;
	probe_uprobe_multi = fuzz_kf.uprobe_multi;
	diag_set_source("stdin", text);
	cdecl_set_record_resolver(fuzz_resolve_record);
	if (preprocess(text, &ppo, &pp) || diag_error_count())
		goto out;
	if (parse_script(pp, &s.prog) || s.prog.nprobes == 0)
		goto out;
	if (sema_run(&s) || s.nattach == 0)
		goto out;
	copts.ringbuf_pages = 64;
	if (codegen_object(&s, &copts, &obj, &objsize) == 0 && (!obj || objsize == 0))
		abort();	/* success must produce an object */
out:
	free(obj);
	script_free(&s);
	free(pp);
	pp_cleanup();
	cdecl_cleanup();
	tracefs_cleanup();
	btf_forget_types();
	ksyms_cleanup();
	types_free_all();
	diag_reset();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text;

	/* a script is a C string: the bytes up to the first NUL, as read_file() would pass */
	text = xmalloc(size + 1);
	memcpy(text, data, size);
	text[size] = '\0';
	fuzz_compile(text);
	free(text);
	return 0;
}
