/*
 * main.c - sonde's command line: read the script, run the compiler passes, then the session.
 *
 *	preprocess -> parse -> sema -> codegen -> load -> attach -> BEGIN -> poll -> END -> maps
 */
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
#include "cdecl.h"
#include "codegen/codegen.h"
#include "diag.h"
#include "preprocess.h"
#include "probes/probe.h"
#include "runtime/btf.h"
#include "runtime/elf.h"
#include "runtime/features.h"
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
	int verbose;
	const char **incdirs, **incfiles;
	size_t nincdirs, nincfiles, capdirs, capfiles;
	char **params;
	int nparams;
};

static void usage(FILE *f)
{
	fputs("USAGE:\n"
	      "    sonde [options] filename [args...]\n"
	      "    sonde [options] - < filename\n"
	      "    sonde [options] -e 'program' [args...]\n"
	      "\n"
	      "OPTIONS:\n"
	      "    -B MODE        output buffering mode ('full', 'none', 'line')\n"
	      "    -f FORMAT      output format ('text', 'json')\n"
	      "    -o FILE        redirect program output to file\n"
	      "    -d             dump the AST and the generated IR, then exit (dry run)\n"
	      "    -e 'program'   execute this program\n"
	      "    -h, --help     show this help message\n"
	      "    -I DIR         add the directory to the include search path\n"
	      "    --include FILE add an #include file before preprocessing\n"
	      "    -l [search]    list probes\n"
	      "    -p PID         enable USDT probes on PID and filter every probe to PID\n"
	      "    -c 'CMD'       run CMD and enable USDT probes on resulting process\n"
	      "    -q             keep messages quiet\n"
	      "    --unsafe       allow unsafe builtin functions (system, signal, ...)\n"
	      "    --debug-file F use F for the symbols of a stripped binary\n"
	      "    -v             verbose messages (libbpf and the verifier log)\n"
	      "    --info         print information about kernel BPF support\n"
	      "    -V, --version  sonde version\n"
	      "\n"
	      "ENVIRONMENT:\n"
	      "    BPFTRACE_STRLEN           [default: 64] bytes on BPF stack per str()\n"
	      "    BPFTRACE_MAP_KEYS_MAX     [default: 4096] max keys in a map\n"
	      "    BPFTRACE_PERF_RB_PAGES    [default: 64] pages of the event ring buffer\n"
	      "    BPFTRACE_MAX_STACK        [default: 127] frames per stack\n"
	      "    BPFTRACE_NO_CPP_DEMANGLE  [default: 0] disable C++ symbol demangling\n"
	      "    (each also accepted with the SONDE_ prefix)\n"
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

enum { OPT_UNSAFE = 256, OPT_INCLUDE, OPT_INFO, OPT_DEBUG_FILE };

static int parse_args(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "unsafe", no_argument, NULL, OPT_UNSAFE },
		{ "include", required_argument, NULL, OPT_INCLUDE },
		{ "info", no_argument, NULL, OPT_INFO },
		{ "debug-file", required_argument, NULL, OPT_DEBUG_FILE },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	o->format = OUTPUT_TEXT;
	opterr = 0;	/* unknown options are reported below, in sonde's format */
	/* '+': stop at the first non-option so script arguments may look like options */
	while ((c = getopt_long(argc, argv, "+B:f:o:de:hI:lp:c:qvV", longopts, NULL)) != -1) {
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
		case 'd': o->dump = true; break;
		case 'e': o->program = optarg; break;
		case 'h': usage(stdout); exit(0);
		case 'I': push(&o->incdirs, &o->nincdirs, &o->capdirs, optarg); break;
		case OPT_INCLUDE: push(&o->incfiles, &o->nincfiles, &o->capfiles, optarg); break;
		case 'l': o->listing = true; break;
		case 'p': o->pid = optarg; break;
		case 'c': o->cmd = optarg; break;
		case 'q': o->quiet = true; break;
		case 'v': o->verbose++; break;
		case 'V': printf("sonde v%s\n", PACKAGE_VERSION); exit(0);
		case OPT_UNSAFE: o->unsafe = true; break;
		case OPT_INFO: o->info = true; break;
		case OPT_DEBUG_FILE: elf_set_debug_file(optarg); break;
		default:
			if (optopt && strchr("BfoeIpc", optopt))
				diag_error(NULL, "option -%c requires an argument", optopt);
			else
				diag_error(NULL, "unrecognized option '%s'", argv[optind - 1]);
			fputs("USAGE: sonde [options] filename [args...] (sonde -h for more)\n", stderr);
			return -EINVAL;
		}
	}
	if (o->listing) {
		o->list = optind < argc ? argv[optind++] : "";
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

static void on_signal(int sig)
{
	(void)sig;
	session_stop = 1;
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

static int run(struct options *o, struct script *s)
{
	struct codegen_opts copts = { 0 };
	struct session ss = { .s = s, .child_go_fd = -1 };
	struct kernel_features kf;
	struct rlimit rl = { RLIM_INFINITY, RLIM_INFINITY };
	FILE *out = stdout;
	void *obj = NULL;
	size_t objsize = 0;
	int err, ret = 1;

	features_detect(&kf);
	probe_uprobe_multi = kf.uprobe_multi;
	probe_dry_run = o->dump;
	err = sema_run(s);
	if (err)
		return 1;
	if (s->opts.listing)
		return list_probes(s);
	if (s->nattach == 0) {
		diag_error(NULL, "No probes to attach");
		return 1;
	}
	copts.ringbuf_pages = (uint32_t)env_u64("PERF_RB_PAGES", 64, 1, 1u << 20);
	if (copts.ringbuf_pages & (copts.ringbuf_pages - 1)) {
		diag_error(NULL, "BPFTRACE_PERF_RB_PAGES must be a power of two");
		return 1;
	}
	if (o->dump) {
		ast_dump(&s->prog, stdout);
		copts.dump_ir = stdout;
		err = codegen_object(s, &copts, &obj, &objsize);
		free(obj);
		return err ? 1 : 0;
	}
	if (o->cmd) {
		/* the child exists (waiting) before code generation: cpid is a constant */
		err = spawn_child(o->cmd, &ss.child_pid, &ss.child_go_fd);
		if (err) {
			diag_error(NULL, "failed to run '%s': %s", o->cmd, strerror(-err));
			return 1;
		}
		s->opts.cpid = ss.child_pid;
	}
	err = codegen_object(s, &copts, &obj, &objsize);
	if (err)
		goto out;
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
		int mode = strcmp(o->buffering, "none") == 0 ? _IONBF :
			   strcmp(o->buffering, "full") == 0 ? _IOFBF : _IOLBF;

		if (strcmp(o->buffering, "none") && strcmp(o->buffering, "full") &&
		    strcmp(o->buffering, "line")) {
			diag_error(NULL, "Invalid buffering mode \"%s\": expected line, full or none",
				   o->buffering);
			goto out;
		}
		setvbuf(out, NULL, mode, 0);
	} else {
		setvbuf(out, NULL, _IOLBF, 0);
	}
	ss.out = output_new(out, o->format);
	err = session_load(&ss, obj, objsize);
	if (err)
		goto out;
	err = session_attach(&ss);
	if (err)
		goto out;
	if (!o->quiet)
		output_attached(ss.out, s->nattach);
	err = session_run_special(&ss, &probe_begin);
	if (err)
		goto out;
	if (ss.child_go_fd >= 0) {
		if (write(ss.child_go_fd, "g", 1) != 1)
			diag_error(NULL, "failed to start '%s': %s", o->cmd, strerror(errno));
		close(ss.child_go_fd);
		ss.child_go_fd = -1;
	}
	session_drain(&ss);
	if (!ss.exited)
		err = session_poll(&ss);
	/* like bpftrace, nothing after exit() is printed, except END's output */
	if (ss.exited)
		session_discard(&ss);
	ss.exited = false;
	session_run_special(&ss, &probe_end);
	attach_set_release(&ss.links);
	session_drain(&ss);
	session_report_lost(&ss);
	output_exit_maps_begin(ss.out);
	maps_print_all(&ss);
	output_flush(ss.out);
	ret = err ? 1 : 0;
out:
	if (ss.child_go_fd >= 0)
		close(ss.child_go_fd);
	if (ss.child_pid > 0 && !ss.child_done) {
		kill(ss.child_pid, SIGTERM);
		waitpid(ss.child_pid, NULL, 0);
	}
	session_close(&ss);
	if (ss.out)
		output_free(ss.out);
	if (out != stdout)
		fclose(out);
	free(obj);
	return ret;
}

int main(int argc, char **argv)
{
	struct options o = { 0 };
	struct pp_options ppo = { 0 };
	struct script s;
	char *text = NULL, *pp = NULL;
	const char *name = "stdin";
	struct sigaction sa = { .sa_handler = on_signal };
	int ret = 1, err;

	if (parse_args(argc, argv, &o))
		return 1;
	diag_set_verbose(o.verbose);
	if (o.info) {
		features_print(stdout);
		return 0;
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	script_init(&s);
	s.opts.params = o.params;
	s.opts.nparams = o.nparams;
	s.opts.unsafe = o.unsafe;
	s.opts.strlen = (uint32_t)env_u64("STRLEN", 64, 1, 1024);
	s.opts.map_keys_max = (uint32_t)env_u64("MAP_KEYS_MAX", 4096, 1, 1u << 24);
	s.opts.stack_max = (uint32_t)env_u64("MAX_STACK", 127, 1, 1024);
	s.opts.cat_bytes_max = (uint32_t)env_u64("CAT_BYTES_MAX", 10240, 1, 1u << 30);
	s.opts.listing = o.listing;
	if (o.pid) {
		char *end;
		long pid = strtol(o.pid, &end, 10);

		if (*end || pid <= 0) {
			diag_error(NULL, "pid '%s' is not a valid process id", o.pid);
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
		ret = probe_list(o.list, o.verbose > 0, stdout) || diag_error_count() ? 1 : 0;
		goto out;
	}
	if (o.program) {
		text = xstrdup(o.program);
	} else {
		err = read_file(o.file, &text, NULL);
		if (err) {
			diag_error(NULL, "failed to open %s: %s", o.file, strerror(-err));
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
	ksyms_cleanup();
	types_free_all();
	return ret;
}
