/*
 * main.c - sonde's command line: read the script, run the compiler passes, then the session.
 *
 *	preprocess -> parse -> sema -> codegen -> load -> BEGIN -> attach -> poll -> END -> maps
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <wordexp.h>

#include "ast.h"
#include "builtins/builtins.h"
#include "cdecl.h"
#include "codegen/codegen.h"
#include "diag.h"
#include "preprocess.h"
#include "probes/probe.h"
#include "runtime/btf.h"
#include "runtime/dwarf_types.h"
#include "runtime/elf.h"
#include "runtime/features.h"
#include "runtime/flamegraph.h"
#include "runtime/ksyms.h"
#include "runtime/output.h"
#include "runtime/session.h"
#include "runtime/tracefs.h"
#include "script.h"
#include "util.h"

struct options {
	const char *program;	/* -e */
	const char *file;
	const char *list;	/* -l pattern ("" for all) */
	const char *pid;
	const char *cmd;
	const char *outfile;
	const char *buffering;
	enum output_format format;
	bool quiet, dump, unsafe, info, listing;
	unsigned helper_errors;	/* -k, -kk */
	int verbose;
	int ustack;		/* STACK_UNWIND_*, -1 unless --ustack */
	const char **incdirs, **incfiles;
	size_t nincdirs, nincfiles, capdirs, capfiles;
	char **params;
	int nparams;
	unsigned dump_stages;	/* -d [STAGE]: DUMP_* bits */
	const char *emit_elf, *emit_llvm;	/* --emit-elf FILE, --emit-llvm FILE */
	bool dry_run;		/* --dry-run: through the verifier, no attach */
	const char *flamegraph, *folded;	/* --flamegraph FILE.svg, --folded FILE */
};

/* -d stages */
enum { DUMP_AST = 1, DUMP_IR = 2, DUMP_ASM = 4 };

/*
 * The ring buffer of a script that prints from its probes: room for what the producers on each
 * CPU write while the reader is kept off its CPU (two producers on two CPUs at full speed, two
 * million lines a second, lose nothing in 1 MiB per CPU).  The kernel allocates, zeroes and maps
 * it at every start, ~0.35 ms per MiB, so it is not made larger than that.
 */
static uint32_t print_ringbuf_pages(void)
{
	long cpus = sysconf(_SC_NPROCESSORS_CONF);
	uint32_t pages = 256;

	while (pages < 4096 && pages < 256 * (cpus > 0 ? (uint32_t)cpus : 1))
		pages <<= 1;
	return pages;
}

static void usage(FILE *f)
{
	fputs("USAGE:\n"
	      "    sonde [options] filename [args...]\n"
	      "    sonde [options] - < filename\n"
	      "    sonde [options] -e 'program' [args...]\n"
	      "\n"
	      "OPTIONS:\n"
	      "    -B, --buffering MODE  output buffering mode ('full', 'none', 'line')\n"
	      "    -f, --format FORMAT   output format ('text', 'json')\n"
	      "    -o, --output FILE     redirect program output to file\n"
	      "    -d [STAGE]     dump a compilation stage, then exit: 'ast', 'ir', 'asm' or\n"
	      "                   'all' (without STAGE: the AST and the IR)\n"
	      "    --dry-run      load the programs through the kernel verifier, attach nothing\n"
	      "    --emit-elf FILE   write the BPF ELF object to FILE, then exit\n"
	      "    --emit-llvm FILE  write the optimized LLVM IR to FILE, then exit\n"
	      "    --flamegraph FILE.svg  at exit, draw the maps keyed by stacks as a flame graph\n"
	      "    --folded FILE  at exit, write the maps keyed by stacks as folded stacks\n"
	      "    -e 'program'   execute this program\n"
	      "    -h, --help     show this help message\n"
	      "    -I DIR         add the directory to the include search path\n"
	      "    --include FILE add an #include file before preprocessing\n"
	      "    -l, --list [search]   list probes\n"
	      "    -p, --pid PID  enable USDT probes on PID and filter every probe to PID\n"
	      "    -c, --cmd 'CMD'       run CMD and enable USDT probes on resulting process\n"
	      "    -q, --quiet    keep messages quiet\n"
	      "    -k             warn when a BPF helper fails at run time (-kk: reads and lookups too)\n"
	      "    --no-warnings  do not print warnings\n"
	      "    --unsafe       allow unsafe builtin functions (system, signal, ...)\n"
	      "    --debug-file F use F for the symbols of a stripped binary\n"
	      "    --ustack MODE  how ustack walks user stacks: 'fp' (frame pointers, the default)\n"
	      "                   or 'dwarf' (call-frame information: whole stacks without them)\n"
	      "    -v, --verbose  verbose messages (libbpf and the verifier log)\n"
	      "    --info         print information about kernel BPF support\n"
	      "    -V, --version  sonde version\n"
	      "\n"
	      "ENVIRONMENT:\n"
	      "    BPFTRACE_STRLEN           [default: 64] bytes on BPF stack per str()\n"
	      "    BPFTRACE_MAP_KEYS_MAX     [default: 4096] max keys in a map\n"
	      "    BPFTRACE_PERF_RB_PAGES    [default: 256 per CPU if the script prints, else 64]\n"
	      "                              pages of the event ring buffer\n"
	      "    BPFTRACE_MAX_STACK        [default: 127] frames per stack\n"
	      "    BPFTRACE_NO_CPP_DEMANGLE  [default: 0] disable C++ symbol demangling\n"
	      "    (each also accepted with the SONDE_ prefix)\n"
	      "    SONDE_USTACK              [default: fp] 'dwarf': plain ustack unwinds by CFI\n"
	      "    SONDE_CACHE_DIR           [default: /var/cache/sonde for root] compiled objects,\n"
	      "                              unwind tables and inlined copies; '' for none\n"
	      "    SONDE_CACHE               [default: 1] 0 turns every cache off\n"
	      "    SONDE_UNWIND_SPARE_ROWS   [default: 1048576] unwind table rows for binaries met later\n"
	      "\n"
	      "EXAMPLES:\n"
	      "sonde -l '*sleep*'\n"
	      "    list probes containing \"sleep\"\n"
	      "sonde -e 'tracepoint:syscalls:sys_enter_openat { printf(\"%s %s\\n\", comm, str(args->filename)); }'\n"
	      "    trace files opened, with the process name\n"
	      "sonde " SONDE_DATADIR "/scripts/trace-envoy-socket.bt $(pidof envoy)\n"
	      "    trace an Envoy process's binds, socket options and accepts with stacks\n", f);
}

/* An environment knob: SONDE_X wins over BPFTRACE_X. */
static uint64_t env_u64(const char *name, uint64_t def, uint64_t min, uint64_t max)
{
	char key[128];
	const char *v;
	char *end;
	unsigned long long n;

	snprintf(key, sizeof(key), "SONDE_%s", name);
	v = getenv(key);
	if (!v) {
		snprintf(key, sizeof(key), "BPFTRACE_%s", name);
		v = getenv(key);
	}
	if (!v || !*v)
		return def;
	n = strtoull(v, &end, 10);
	if (*end || n < min || n > max) {
		diag_error(NULL, "env var %s must be an integer between %llu and %llu", key,
			   (unsigned long long)min, (unsigned long long)max);
		exit(1);
	}
	return n;
}

static void push(const char ***arr, size_t *n, size_t *cap, const char *v)
{
	xgrow((void **)arr, cap, *n + 1, sizeof(**arr));
	(*arr)[(*n)++] = v;
}

enum { OPT_UNSAFE = 256, OPT_INCLUDE, OPT_INFO, OPT_DEBUG_FILE, OPT_USTACK };
enum { OPT_NO_WARNINGS = 300, OPT_DRY_RUN, OPT_EMIT_ELF, OPT_EMIT_LLVM, OPT_FLAMEGRAPH,
       OPT_FOLDED };

/* --ustack / SONDE_USTACK: how a plain ustack walks the stack. */
static int ustack_mode(const char *v, const char *what, int *mode)
{
	if (strcmp(v, "dwarf") == 0)
		*mode = STACK_UNWIND_DWARF;
	else if (strcmp(v, "fp") == 0)
		*mode = STACK_UNWIND_FP;
	else {
		diag_error(NULL, "%s: invalid stack mode '%s' (valid: 'fp', 'dwarf')", what, v);
		return -EINVAL;
	}
	return 0;
}

/* -d takes an optional stage as its own word (-d ir): getopt's "d::" only knows -dir. */
static unsigned dump_stage(int argc, char **argv)
{
	static const struct { const char *name; unsigned bits; } stages[] = {
		{ "ast", DUMP_AST }, { "ir", DUMP_IR }, { "asm", DUMP_ASM },
		{ "all", DUMP_AST | DUMP_IR | DUMP_ASM },
	};
	size_t i;

	if (optind < argc)
		for (i = 0; i < sizeof(stages) / sizeof(stages[0]); i++)
			if (strcmp(argv[optind], stages[i].name) == 0) {
				optind++;
				return stages[i].bits;
			}
	return DUMP_AST | DUMP_IR;
}

static int parse_args(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "unsafe", no_argument, NULL, OPT_UNSAFE },
		{ "include", required_argument, NULL, OPT_INCLUDE },
		{ "info", no_argument, NULL, OPT_INFO },
		{ "debug-file", required_argument, NULL, OPT_DEBUG_FILE },
		{ "ustack", required_argument, NULL, OPT_USTACK },
		{ "buffering", required_argument, NULL, 'B' },
		{ "format", required_argument, NULL, 'f' },
		{ "output", required_argument, NULL, 'o' },
		{ "list", no_argument, NULL, 'l' },
		{ "pid", required_argument, NULL, 'p' },
		{ "cmd", required_argument, NULL, 'c' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "no-warnings", no_argument, NULL, OPT_NO_WARNINGS },
		{ "dry-run", no_argument, NULL, OPT_DRY_RUN },
		{ "emit-elf", required_argument, NULL, OPT_EMIT_ELF },
		{ "emit-llvm", required_argument, NULL, OPT_EMIT_LLVM },
		{ "flamegraph", required_argument, NULL, OPT_FLAMEGRAPH },
		{ "folded", required_argument, NULL, OPT_FOLDED },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	o->format = OUTPUT_TEXT;
	opterr = 0;	/* unknown options are reported below, in sonde's format */
	/*
	 * Options may follow the script file (sonde script.bt -c cmd), as getopt's permutation
	 * allows in bpftrace: script arguments that look like options go after "--".
	 */
again:
	while ((c = getopt_long(argc, argv, "B:f:o:de:hI:klp:c:qvV", longopts, NULL)) != -1) {
		switch (c) {
		case 'B': o->buffering = optarg; break;
		case 'f':
			if (strcmp(optarg, "json") == 0)
				o->format = OUTPUT_JSON;
			else if (strcmp(optarg, "text") != 0) {
				diag_error(NULL, "Invalid output format \"%s\"\nValid formats: 'text', 'json'",
					   optarg);
				return -EINVAL;
			}
			break;
		case 'o': o->outfile = optarg; break;
		case 'd':
			o->dump = true;
			o->dump_stages |= dump_stage(argc, argv);
			break;
		case 'e': o->program = optarg; break;
		case 'h': usage(stdout); exit(0);
		case 'I': push(&o->incdirs, &o->nincdirs, &o->capdirs, optarg); break;
		case OPT_INCLUDE: push(&o->incfiles, &o->nincfiles, &o->capfiles, optarg); break;
		case 'l': o->listing = true; break;
		case 'p': o->pid = optarg; break;
		case 'c': o->cmd = optarg; break;
		case 'q': o->quiet = true; break;
		case 'k': o->helper_errors++; break;
		case 'v': o->verbose++; break;
		case 'V': printf("sonde v%s (bpftrace v0.17.0 compatible)\n", PACKAGE_VERSION); exit(0);
		case OPT_UNSAFE: o->unsafe = true; break;
		case OPT_INFO: o->info = true; break;
		case OPT_DEBUG_FILE: elf_set_debug_file(optarg); break;
		case OPT_USTACK:
			if (ustack_mode(optarg, "--ustack", &o->ustack))
				return -EINVAL;
			break;
		case OPT_NO_WARNINGS: diag_set_no_warnings(true); break;
		case OPT_DRY_RUN: o->dry_run = true; break;
		case OPT_EMIT_ELF: o->emit_elf = optarg; break;
		case OPT_EMIT_LLVM: o->emit_llvm = optarg; break;
		case OPT_FLAMEGRAPH: o->flamegraph = optarg; break;
		case OPT_FOLDED: o->folded = optarg; break;
		default:
			if (optopt >= 256 || (optopt && strncmp(argv[optind - 1], "--", 2) == 0))
				diag_error(NULL, "option '%s' requires an argument", argv[optind - 1]);
			else if (optopt && strchr("BfoeIpc", optopt))
				diag_error(NULL, "option -%c requires an argument", optopt);
			else
				diag_error(NULL, "unrecognized option '%s'", argv[optind - 1]);
			fputs("USAGE: sonde [options] filename [args...] (sonde -h for more)\n", stderr);
			return -EINVAL;
		}
	}
	if (o->listing) {
		/* -l PATTERN -p PID: options may follow the pattern, as in bpftrace */
		if (!o->list && !o->program && optind < argc) {
			o->list = argv[optind++];
			if (optind < argc)
				goto again;
		}
		if (!o->list)
			o->list = "";
		if (o->program) {
			o->list = NULL;		/* -l with -e: list the program's probes */
		}
		return 0;
	}
	if (!o->program && !o->info) {
		if (optind >= argc) {
			usage(stderr);
			return -EINVAL;
		}
		o->file = argv[optind++];
	}
	o->params = argv + optind;
	o->nparams = argc - optind;
	return 0;
}

/*
 * fds 0-2 closed by the caller would be taken by the first files sonde opens (a BPF map, a
 * probed binary) and the trace written into them: hold them with /dev/null.  True when stdout
 * was closed.
 */
static bool hold_std_fds(void)
{
	bool closed_stdout = false;
	int fd;

	for (fd = 0; fd <= 2; fd++) {
		if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
			continue;
		if (fd == STDOUT_FILENO)
			closed_stdout = true;
		if (open("/dev/null", fd ? O_WRONLY : O_RDONLY) != fd)
			exit(1);	/* the lowest free fd is fd, unless the process is out of them */
	}
	return closed_stdout;
}

/* -c: fork now, exec once the probes are attached (the child blocks on a pipe until then). */
static bool in_path(const char *name)
{
	const char *path = getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin";
	char *dirs = xstrdup(path), *save = NULL, *d;
	bool found = false;

	for (d = strtok_r(dirs, ":", &save); d && !found; d = strtok_r(NULL, ":", &save)) {
		char *full = xasprintf("%s/%s", *d ? d : ".", name);

		found = access(full, X_OK) == 0;
		free(full);
	}
	free(dirs);
	return found;
}

static int spawn_child(const char *cmd, int *pid, int *go_fd)
{
	wordexp_t we;
	bool found;
	int fds[2];
	pid_t p;

	if (wordexp(cmd, &we, WRDE_NOCMD) || we.we_wordc == 0)
		return -EINVAL;
	found = strchr(we.we_wordv[0], '/') ? access(we.we_wordv[0], X_OK) == 0 : in_path(we.we_wordv[0]);
	wordfree(&we);
	if (!found)
		return -ENOENT;
	if (pipe2(fds, O_CLOEXEC))
		return -errno;
	p = fork();
	if (p < 0)
		return -errno;
	if (p == 0) {
		wordexp_t we;
		char c;

		close(fds[1]);
		session_signals_restore();
		if (read(fds[0], &c, 1) != 1)
			_exit(0);	/* sonde gave up before attaching */
		if (wordexp(cmd, &we, WRDE_NOCMD) == 0 && we.we_wordc > 0)
			execvp(we.we_wordv[0], we.we_wordv);
		fprintf(stderr, "ERROR: failed to execute '%s': %s\n", cmd, strerror(errno));
		_exit(127);
	}
	close(fds[0]);
	*pid = (int)p;
	*go_fd = fds[1];
	return 0;
}

static int resolve_record_btf(const char *name, bool is_union, struct record **out)
{
	return btf_find_record(name, is_union, out);
}

/*
 * A -l search expression is an attach point: a character that the lexer would not take in a
 * script is an error located in it, as bpftrace says it ("invalid character '\\'").
 */
static bool list_pattern_invalid(const char *pattern)
{
	for (const char *c = pattern; *c; c++) {
		unsigned char ch = (unsigned char)*c;

		if (ch >= ' ' && ch < 0x7f && ch != '\\' && ch != '`' && ch != '\'')
			continue;
		int col = (int)(c - pattern) + 1;
		struct loc at = { 1, col, 1, col + 1 };

		diag_set_source("stdin", pattern);
		diag_error(&at, "invalid character '%c'", ch);
		return true;
	}
	return false;
}

/* -l -e 'program': the probes the program would attach (-l PATTERN is handled in main) */
static int list_probes(struct script *s)
{
	size_t i, j, k;

	for (i = 0; i < s->prog.nprobes; i++)
		for (j = 0; j < s->prog.probes[i]->naps; j++) {
			struct probe_targets *ts = s->prog.probes[i]->aps[j]->priv;

			for (k = 0; ts && k < ts->n; k++)
				printf("%s\n", ts->v[k].name);
		}
	return 0;
}

/* --flamegraph/--folded need a map to draw: say so before anything is attached. */
static int check_flame_maps(const struct options *o, const struct script *s)
{
	size_t i;

	if (!o->flamegraph && !o->folded)
		return 0;
	for (i = 0; i < s->nmaps; i++)
		if (flame_map_eligible(s->maps[i]))
			return 0;
	diag_error(NULL, "%s needs a map keyed by a stack with a count or sum value, "
		   "e.g. @[ustack] = count()", o->flamegraph ? "--flamegraph" : "--folded");
	return -EINVAL;
}

/* At exit: the maps keyed by stacks as folded stacks and as a flame graph. */
static int write_flame(const struct options *o, struct session *ss)
{
	const char *paths[2] = { o->folded, o->flamegraph };
	struct flame_set fs = { 0 };
	int i, err = 0;

	flame_collect(ss, &fs);
	for (i = 0; i < 2 && !err; i++) {
		FILE *f;

		if (!paths[i])
			continue;
		f = fopen(paths[i], "we");
		if (!f) {
			diag_error(NULL, "failed to open %s: %s", paths[i], strerror(errno));
			err = -errno;
			break;
		}
		err = i == 0 ? flame_write_folded(&fs, f) : flame_write_svg(&fs, "Flame Graph", f);
		if (fclose(f) && !err)
			err = -errno;
		if (err)
			diag_error(NULL, "failed to write %s: %s", paths[i], strerror(-err));
	}
	flame_free(&fs);
	return err;
}

/* --emit-elf, --emit-llvm and --dry-run: compile (and load), never attach. */
static int inspect(struct options *o, struct script *s, struct codegen_opts *copts)
{
	struct compiled_script cs;
	struct session ss = { .cs = &cs, .child_go_fd = -1 };
	FILE *ll = NULL, *elf = NULL;
	void *obj = NULL;
	size_t objsize = 0;
	int err, ret = 1;

	if (o->emit_llvm) {
		ll = fopen(o->emit_llvm, "we");
		if (!ll) {
			diag_error(NULL, "failed to open %s: %s", o->emit_llvm, strerror(errno));
			return 1;
		}
		copts->dump_ir = ll;
	}
	err = codegen_object(s, copts, &obj, &objsize);
	if (ll && fclose(ll) && !err) {
		diag_error(NULL, "failed to write %s: %s", o->emit_llvm, strerror(errno));
		err = -EIO;
	}
	if (err)
		goto out;
	if (o->emit_elf) {
		/* with the walker's kfunc calls resolved: loadable as it is, on this kernel */
		void *resolved = btf_kfuncs_resolve(obj, objsize);
		size_t n;

		elf = fopen(o->emit_elf, "we");
		if (!elf) {
			diag_error(NULL, "failed to open %s: %s", o->emit_elf, strerror(errno));
			free(resolved);
			goto out;
		}
		n = fwrite(resolved ? resolved : obj, 1, objsize, elf);
		free(resolved);
		if (n != objsize) {
			diag_error(NULL, "failed to write %s: %s", o->emit_elf, strerror(errno));
			fclose(elf);
			goto out;
		}
		if (fclose(elf)) {
			diag_error(NULL, "failed to write %s: %s", o->emit_elf, strerror(errno));
			goto out;
		}
	}
	if (o->dry_run) {
		struct rlimit rl = { RLIM_INFINITY, RLIM_INFINITY };

		setrlimit(RLIMIT_MEMLOCK, &rl);
		compiled_fill(&cs, s);
		ss.out = output_new(stdout, o->format);
		err = session_load(&ss, obj, objsize);
		session_close(&ss);
		output_free(ss.out);
		compiled_free(&cs);
		if (err)
			goto out;
		if (!o->quiet)
			printf("%zu program%s accepted by the kernel's BPF verifier\n",
				s->nprogs, s->nprogs == 1 ? "" : "s");
	}
	ret = 0;
out:
	free(obj);
	return ret;
}

static int run(struct options *o, struct script *s)
{
	struct codegen_opts copts = { 0 };
	struct compiled_script cs = { 0 };
	struct session ss = { .cs = &cs, .child_go_fd = -1 };
	struct rlimit rl = { RLIM_INFINITY, RLIM_INFINITY };
	FILE *out = stdout;
	enum output_buffering buffering = OUTPUT_BUF_LINE;
	void *obj = NULL;
	size_t objsize = 0;
	int err, ret = 1;

	/* only the features the script needs: one probe, for uprobes */
	probe_uprobe_multi = probe_program_uses(&s->prog, &probe_uprobe, &probe_uretprobe) &&
			     features_uprobe_multi();
	probe_dry_run = o->dump || ((o->emit_elf || o->emit_llvm) && !o->dry_run);
	err = sema_run(s);
	if (err)
		return 1;
	if (s->opts.listing)
		return list_probes(s);
	if (s->nattach == 0) {
		diag_error(NULL, "No probes to attach");
		return 1;
	}
	if (check_flame_maps(o, s))
		return 1;
	copts.ringbuf_pages = (uint32_t)env_u64("PERF_RB_PAGES", s->nfmts ? print_ringbuf_pages() : 64,
						1, 1u << 20);
	if (copts.ringbuf_pages & (copts.ringbuf_pages - 1)) {
		diag_error(NULL, "BPFTRACE_PERF_RB_PAGES must be a power of two");
		return 1;
	}
	if (o->dump) {
		if (o->dump_stages & DUMP_AST)
			ast_dump(&s->prog, stdout);
		if (!(o->dump_stages & (DUMP_IR | DUMP_ASM)))
			return 0;
		copts.dump_ir = o->dump_stages & DUMP_IR ? stdout : NULL;
		copts.dump_asm = o->dump_stages & DUMP_ASM ? stdout : NULL;
		err = codegen_object(s, &copts, &obj, &objsize);
		free(obj);
		return err ? 1 : 0;
	}
	if (o->emit_elf || o->emit_llvm || o->dry_run)
		return inspect(o, s, &copts);
	if (o->cmd) {
		/* the child exists (waiting) before code generation: cpid is a constant */
		err = spawn_child(o->cmd, &ss.child_pid, &ss.child_go_fd);
		if (err) {
			diag_error(NULL, "failed to run '%s': %s", o->cmd, strerror(-err));
			return 1;
		}
		s->opts.cpid = ss.child_pid;
		probe_child_pid = ss.child_pid;
	}
	err = codegen_object(s, &copts, &obj, &objsize);
	if (err)
		goto out;
	compiled_fill(&cs, s);
	setrlimit(RLIMIT_MEMLOCK, &rl);
	if (o->outfile) {
		out = fopen(o->outfile, "we");
		if (!out) {
			diag_error(NULL, "failed to open output file %s: %s", o->outfile, strerror(errno));
			out = stdout;
			goto out;
		}
	}
	if (o->buffering) {
		if (strcmp(o->buffering, "none") && strcmp(o->buffering, "full") &&
		    strcmp(o->buffering, "line")) {
			diag_error(NULL, "Invalid buffering mode \"%s\": expected line, full or none",
				   o->buffering);
			goto out;
		}
		buffering = strcmp(o->buffering, "none") == 0 ? OUTPUT_BUF_NONE :
			    strcmp(o->buffering, "full") == 0 ? OUTPUT_BUF_FULL : OUTPUT_BUF_LINE;
	}
	fflush(out);
	ss.out = output_new_fd(fileno(out), o->format, buffering);
	err = session_load(&ss, obj, objsize);
	if (!err)
		err = knames_fill(s, ss.obj);
	if (err)
		goto out;
	/*
	 * BEGIN runs before anything is attached, as in bpftrace: a probe never sees the state
	 * before BEGIN, and an interval starts counting after it.  Its output waits in the ring
	 * buffer, so it still prints after "Attaching N probes...", whose count leaves out the
	 * targets the kernel refused.
	 */
	session_tracing = 1;
	err = session_run_special(&ss, COMPILED_BEGIN);
	if (!err)
		err = session_attach(&ss);
	if (err)
		goto out;
	if (!o->quiet)
		output_attached(ss.out, s->nattach - (unsigned)ss.links.skipped);
	session_flush(&ss, true);
	if (ss.child_go_fd >= 0) {
		if (write(ss.child_go_fd, "g", 1) != 1)
			diag_error(NULL, "failed to start '%s': %s", o->cmd, strerror(errno));
		close(ss.child_go_fd);
		ss.child_go_fd = -1;
	}
	/* bpftrace's own runtime test runner starts its workload on this line */
	if (getenv("__BPFTRACE_NOTIFY_PROBES_ATTACHED")) {
		session_flush(&ss, true);
		fputs("__BPFTRACE_NOTIFY_PROBES_ATTACHED\n", stderr);
	}
	err = session_poll(&ss);
	/* detached first, as bpftrace does: what is left in the ring buffer is then finite */
	attach_set_release(&ss.links);
	/* like bpftrace, nothing after exit() is printed, except END's output */
	if (ss.exited)
		session_discard(&ss);
	else
		session_drain(&ss);
	ss.exited = false;
	session_run_special(&ss, COMPILED_END);
	session_drain(&ss);
	session_report_lost(&ss);
	output_exit_maps_begin(ss.out);
	maps_print_all(&ss);
	session_flush(&ss, false);
	if ((o->flamegraph || o->folded) && write_flame(o, &ss))
		err = -EIO;
	ret = err || (output_error(ss.out) && output_error(ss.out) != EPIPE) ? 1 : ss.exit_code;
out:
	if (ss.child_go_fd >= 0)
		close(ss.child_go_fd);
	if (ss.child_pid > 0 && !ss.child_done) {
		kill(ss.child_pid, SIGTERM);
		waitpid(ss.child_pid, NULL, 0);
	}
	session_close(&ss);
	compiled_free(&cs);
	if (ss.out)
		output_free(ss.out);
	if (out != stdout)
		fclose(out);
	free(obj);
	return ret;
}

int main(int argc, char **argv)
{
	struct options o = { .ustack = -1 };
	struct pp_options ppo = { 0 };
	struct script s;
	char *text = NULL, *pp = NULL;
	const char *name = "stdin";
	int ret = 1, err;

	bool closed_stdout = hold_std_fds();

	if (parse_args(argc, argv, &o))
		return 1;
	if (closed_stdout && !o.outfile) {
		diag_error(NULL, "standard output is closed: nothing can be printed (use -o FILE)");
		return 1;
	}
	diag_set_verbose(o.verbose);
	if (o.info) {
		features_print(stdout);
		return 0;
	}
	session_signals_install();

	script_init(&s);
	s.opts.params = o.params;
	s.opts.nparams = o.nparams;
	s.opts.unsafe = o.unsafe;
	s.opts.strlen = (uint32_t)env_u64("STRLEN", 64, 1, 1024);
	s.opts.map_keys_max = (uint32_t)env_u64("MAP_KEYS_MAX", 4096, 1, 1u << 24);
	s.opts.stack_max = (uint32_t)env_u64("MAX_STACK", 127, 1, 1024);
	s.opts.ustack_unwind = STACK_UNWIND_FP;
	if (o.ustack >= 0)
		s.opts.ustack_unwind = o.ustack;
	else if (getenv("SONDE_USTACK") && *getenv("SONDE_USTACK") &&
		 ustack_mode(getenv("SONDE_USTACK"), "SONDE_USTACK", &s.opts.ustack_unwind))
		return 1;
	s.opts.cat_bytes_max = (uint32_t)env_u64("CAT_BYTES_MAX", 10240, 1, 1u << 30);
	s.opts.listing = o.listing;
	probe_cmd = o.cmd;	/* watchpoint:FUNC+argN probes the command's program */
	s.opts.helper_errors = o.helper_errors;
	if (o.pid) {
		char *end;
		long pid;

		/* bpftrace's messages: digits only, then the kernel's largest pid_max */
		errno = 0;
		pid = strtol(o.pid, &end, 10);
		if (end == o.pid || *end || (!isdigit((unsigned char)o.pid[0]) && o.pid[0] != '-' &&
					    o.pid[0] != '+')) {
			diag_error(NULL, "pid '%s' is not a valid decimal number", o.pid);
			return 1;
		}
		if (errno == ERANGE || pid < 1 || pid > 4194304) {
			diag_error(NULL, "pid '%s' out of valid pid range [1,4194304]", o.pid);
			return 1;
		}
		if (kill((pid_t)pid, 0) && errno == ESRCH) {
			diag_error(NULL, "pid %ld does not exist", pid);
			return 1;
		}
		s.opts.pid = (int)pid;
		probe_pid = (int)pid;
	}

	if (o.listing && !o.program) {
		if (list_pattern_invalid(o.list))
			goto out;
		ret = probe_list(o.list, o.verbose > 0, stdout) || diag_error_count() ? 1 : 0;
		goto out;
	}
	if (o.program) {
		text = xstrdup(o.program);
	} else {
		err = read_file(o.file, &text, NULL);
		if (err) {
			diag_error(NULL, "failed to open file '%s': %s", o.file, strerror(-err));
			goto out;
		}
		name = strcmp(o.file, "-") == 0 ? "stdin" : o.file;
	}
	diag_set_source(name, text);
	cdecl_set_record_resolver(resolve_record_btf);
	ppo.include_dirs = o.incdirs;
	ppo.ninclude_dirs = o.nincdirs;
	ppo.include_files = o.incfiles;
	ppo.ninclude_files = o.nincfiles;
	if (preprocess(text, &ppo, &pp) || diag_error_count())
		goto out;
	if (parse_script(pp, &s.prog) || ast_check_depth(&s.prog))
		goto out;
	if (s.prog.nprobes == 0) {
		diag_error(NULL, "No probes to attach");
		goto out;
	}
	ret = run(&o, &s);
out:
	script_free(&s);
	free(pp);
	free(text);
	free(o.incdirs);
	free(o.incfiles);
	pp_cleanup();
	cdecl_cleanup();
	tracefs_cleanup();
	btf_cleanup();
	dwarf_types_cleanup();
	ksyms_cleanup();
	types_free_all();
	return ret;
}
