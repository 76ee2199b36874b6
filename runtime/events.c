/*
 * events.c - the poll loop: ring buffer events from the programs (printf, exit, print, clear,
 * time, cat, system), signals, the -c child, and lost-event accounting.
 *
 * Stopping must work whatever the event rate.  libbpf's consume loop keeps going while the
 * producers keep up, so the callback itself ends it: on a stop (signal, exit(), the -c child's
 * exit) and after every batch, so that the output of a batch goes out in one write and the
 * housekeeping (lost events, the child) runs between batches.  After a stop the backlog is
 * printed for at most DRAIN_BUDGET_NS; what is left then is dropped and reported as lost, so a
 * storm of slow events (system() per context switch) cannot keep sonde from ending.
 */
#include "runtime/session.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "common/diag.h"
#include "common/util.h"
#include "runtime/format.h"
#include "runtime/unwind.h"
#include "runtime/usyms.h"

volatile sig_atomic_t session_stop;

/* events per batch: the poll loop flushes the output (one write) and looks around after each */
#define BATCH_EVENTS 4096
/* after a stop: the backlog is printed for this long at most, END's output at least DRAIN_MIN */
#define DRAIN_BUDGET_NS 600000000ULL
#define DRAIN_MIN_NS 200000000ULL

/* What sonde changes, and what it found: restored in every child before exec. */
static const int changed_signals[] = { SIGINT, SIGTERM, SIGPIPE, SIGUSR1 };
static struct sigaction saved_actions[ARRAY_SIZE(changed_signals)];
/* SIGUSR1: print every map now, as bpftrace does, and go on tracing */
static volatile sig_atomic_t print_maps;

/* Set once BEGIN is about to run, before the probes are attached (main.c). */
volatile sig_atomic_t session_tracing;

static void on_signal(int sig)
{
	if (sig == SIGUSR1) {
		/* print the maps; before BEGIN there is nothing to print */
		if (session_tracing)
			print_maps = 1;
		return;
	}
	if (!session_tracing) {
		/* still compiling or loading: nothing has run that END or the maps would report,
		 * so the signal ends sonde as it would any program; the kernel frees what was
		 * loaded with the fds, and a -c child waiting for its start reads end-of-file and
		 * exits */
		signal(sig, SIG_DFL);
		raise(sig);
		return;
	}
	session_stop = 1;
}

void session_signals_install(void)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct sigaction ign = { .sa_handler = SIG_IGN };
	size_t i;

	sigemptyset(&sa.sa_mask);
	sigemptyset(&ign.sa_mask);
	for (i = 0; i < ARRAY_SIZE(changed_signals); i++)
		sigaction(changed_signals[i], changed_signals[i] == SIGPIPE ? &ign : &sa,
			  &saved_actions[i]);
}

void session_signals_restore(void)
{
	size_t i;

	/* a handler does not survive exec anyway; an ignored signal would (SIGPIPE) */
	for (i = 0; i < ARRAY_SIZE(changed_signals); i++)
		if (saved_actions[i].sa_handler != on_signal)
			sigaction(changed_signals[i], &saved_actions[i], NULL);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

int session_flush(struct session *ss, bool batch)
{
	int err = batch ? output_batch_end(ss->out) : output_flush(ss->out);

	if (err && !ss->write_error_reported) {
		ss->write_error_reported = true;
		/* a reader that went away (| head) is an ending, not an error */
		if (err != -EPIPE)
			diag_error(NULL, "failed to write the output: %s", strerror(-err));
	}
	return err;
}

/* The first time a stop is seen: when the drain budget starts. */
static void note_stop(struct session *ss)
{
	if (session_stop && !ss->stop_ns)
		ss->stop_ns = now_ns();
}

/* Decode the arguments of a printf-like event into values. */
static struct val *decode_args(struct session *ss, const struct fmt_info *fi, const char *payload)
{
	struct val *args = xcalloc(fi->nargs ? fi->nargs : 1, sizeof(*args));
	uint32_t i;

	for (i = 0; i < fi->nargs; i++) {
		const struct type *st = fi->args->fields[i];
		const struct value_kind *vk = fi->arg_types[i]->vk;
		const char *p = payload + fi->args->offsets[i];

		if (vk && vk->printf_text)
			args[i] = val_str_own(vk->printf_text(ss, fi->arg_types[i], p));
		else
			args[i] = decode_value(ss, st, p);
	}
	return args;
}

static void free_args(struct val *args, uint32_t n)
{
	uint32_t i;

	for (i = 0; i < n; i++)
		val_free(&args[i]);
	free(args);
}

static char *render(struct session *ss, const struct fmt_info *fi, const char *payload)
{
	struct val *args = decode_args(ss, fi, payload);
	struct strbuf sb;

	sb_init(&sb);
	fmt_render(&sb, fi->fmt, args, fi->nargs);
	free_args(args, fi->nargs);
	return sb_steal(&sb);
}

/* system(): sh -c CMD with the signal dispositions sonde found; its output goes to ours. */
static void run_system(struct session *ss, const char *cmd)
{
	char buf[4096];
	struct strbuf sb;
	int fds[2], status, err;
	ssize_t n;
	pid_t p;

	session_flush(ss, false);
	if (pipe2(fds, O_CLOEXEC)) {
		err = errno;
		diag_error(NULL, "system(): failed to run '%s': %s", cmd, strerror(err));
		return;
	}
	p = fork();
	if (p < 0) {
		err = errno;
		close(fds[0]);
		close(fds[1]);
		diag_error(NULL, "system(): failed to run '%s': %s", cmd, strerror(err));
		return;
	}
	if (p == 0) {
		session_signals_restore();
		if (dup2(fds[1], STDOUT_FILENO) < 0)
			_exit(127);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	sb_init(&sb);
	for (;;) {
		n = read(fds[0], buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;	/* a signal: the command still finishes, its output too */
		if (n <= 0)
			break;
		sb_putn(&sb, buf, (size_t)n);
	}
	close(fds[0]);
	while (waitpid(p, &status, 0) < 0 && errno == EINTR)
		;
	if (sb.len)
		output_message(ss->out, "syscall", sb.buf);
	sb_free(&sb);
}

static void run_cat(struct session *ss, const char *path)
{
	char *text;

	int err = read_file(path, &text, NULL);

	if (err) {
		diag_error(NULL, "failed to open file '%s': %s", path, strerror(-err));
		return;
	}
	/* bpftrace prints at most BPFTRACE_CAT_BYTES_MAX bytes of the file */
	if (strlen(text) > ss->cs->cat_bytes_max)
		text[ss->cs->cat_bytes_max] = '\0';
	output_message(ss->out, "cat", text);
	free(text);
}

static void print_time(struct session *ss, const char *fmt)
{
	char buf[512];
	time_t now = time(NULL);
	struct tm tm;

	localtime_r(&now, &tm);
	if (!strftime(buf, sizeof(buf), fmt, &tm))
		buf[0] = '\0';
	output_message(ss->out, "time", buf);
}

static int on_event(void *ctx, void *data, size_t size)
{
	struct session *ss = ctx;
	const struct compiled_script *cs = ss->cs;
	const struct event_hdr *h = data;
	const char *payload = (const char *)data + sizeof(*h);
	char *text;

	if (size < sizeof(*h))
		return 0;
	if (ss->discard) {
		/* a dropped EV_WATCH still continues the process its setup program stopped */
		if (h->kind == EV_WATCH && size >= sizeof(*h) + sizeof(struct event_watch))
			session_watch_dropped(ss, (const struct event_watch *)payload);
		ss->ndiscarded++;
		return 0;
	}
	switch (h->kind) {
	case EV_PRINTF:
	case EV_SYSTEM:
	case EV_CAT:
		if (h->id >= cs->nfmts)
			break;
		text = render(ss, &cs->fmts[h->id], payload);
		if (h->kind == EV_PRINTF)
			output_printf(ss->out, text);
		else if (h->kind == EV_SYSTEM)
			run_system(ss, text);
		else
			run_cat(ss, text);
		free(text);
		break;
	case EV_PRINT_VALUE: {
		struct val *args;

		if (h->id >= cs->nfmts)
			break;
		args = decode_args(ss, &cs->fmts[h->id], payload);
		output_value(ss->out, &args[0]);
		free_args(args, cs->fmts[h->id].nargs);
		break;
	}
	case EV_TIME:
		if (h->id < cs->nfmts)
			print_time(ss, cs->fmts[h->id].fmt);
		break;
	case EV_JOIN: {
		uint64_t count, i;
		uint32_t len = cs->strlen;
		struct strbuf sb;

		if (h->id >= cs->nfmts || size < sizeof(*h) + 8)
			break;
		memcpy(&count, payload, 8);
		sb_init(&sb);
		for (i = 0; i < count && i < 16 && sizeof(*h) + 8 + (i + 1) * len <= size; i++) {
			const char *str = payload + 8 + i * len;

			if (i)
				sb_puts(&sb, cs->fmts[h->id].fmt);
			sb_putn(&sb, str, strnlen(str, len));
		}
		/* JSON as bpftrace 0.17: {"type": "join", "data": "a b"}, no newline */
		if (output_format(ss->out) == OUTPUT_JSON) {
			output_message(ss->out, "join", sb.buf ? sb.buf : "");
			sb_free(&sb);
			break;
		}
		sb_putc(&sb, '\n');
		output_printf(ss->out, sb.buf);
		sb_free(&sb);
		break;
	}
	case EV_EXIT:
		if (size >= sizeof(*h) + 8) {
			int64_t code;

			memcpy(&code, payload, 8);
			ss->exit_code = (int)(code & 0xff);
		}
		ss->exited = true;
		session_stop = 1;
		break;
	case EV_PRINT_MAP: {
		uint64_t top, div;

		memcpy(&top, payload, 8);
		memcpy(&div, payload + 8, 8);
		if (h->id < cs->nmaps)
			maps_print(ss, cs->maps[h->id].info, top, div);
		break;
	}
	case EV_CLEAR_MAP:
		if (h->id < cs->nmaps)
			maps_clear(ss, cs->maps[h->id].info);
		break;
	case EV_MAP_FULL:
		if (h->id < cs->nmaps)
			maps_report_full(ss, cs->maps[h->id].info);
		break;
	case EV_HELPER_ERROR: {
		const struct fmt_info *fi;
		int64_t r;
		char *text;

		if (h->id >= cs->nfmts)
			break;
		fi = &cs->fmts[h->id];
		memcpy(&r, payload, 8);
		/* bpftrace 0.17's -k warning, at the call, in the trace's output */
		if (r < 0)
			text = diag_format_warning(&fi->loc, "Failed to %s: %s (%lld)", fi->fmt,
						   strerror((int)-r), (long long)r);
		else	/* a lookup that found nothing */
			text = diag_format_warning(&fi->loc, "Failed to %s: %lld", fi->fmt,
						   (long long)r);
		if (text)
			output_helper_error(ss->out, fi->fmt, r, fi->loc.first_line,
					    fi->loc.first_column, text);
		free(text);
		break;
	}
	case EV_ZERO_MAP:
		if (h->id < cs->nmaps)
			maps_zero(ss, cs->maps[h->id].info);
		break;
	case EV_WATCH:
		if (size >= sizeof(*h) + sizeof(struct event_watch))
			session_watch(ss, h->id, (const struct event_watch *)payload);
		break;
	case EV_UNWATCH:
		if (size >= sizeof(*h) + 8)
			session_unwatch(ss, *(const uint64_t *)payload);
		break;
	default:
		break;
	}
	/* libbpf keeps consuming while producers keep up (an event storm) and stops only on a
	 * negative return: after exit(), on a stop (unless draining the backlog, for a while), and
	 * when a batch is full */
	if (ss->exited)
		return -ECANCELED;
	if (session_stop) {
		note_stop(ss);
		if (!ss->draining)
			return -EINTR;
		if (now_ns() > ss->drain_deadline)
			return -ETIME;
	}
	return ++ss->batch >= BATCH_EVENTS ? -EAGAIN : 0;
}

static int ensure_rb(struct session *ss)
{
	struct bpf_map *map;
	int fd;

	if (ss->rb)
		return 0;
	map = bpf_object__find_map_by_name(ss->obj, MAP_RINGBUF);
	fd = map ? bpf_map__fd(map) : -ENOENT;
	if (fd < 0) {
		diag_error(NULL, "internal error: the ring buffer map is missing from the object");
		return -ENOENT;
	}
	ss->rb_bytes = bpf_map__max_entries(map);
	ss->rb = ring_buffer__new(fd, on_event, ss, NULL);
	if (!ss->rb) {
		int err = -errno;

		diag_error(NULL, "failed to open the ring buffer: %s", strerror(-err));
		return err;
	}
	return unwind_add_ring(ss->unwind, ss->rb);
}

uint64_t session_lost(struct session *ss)
{
	uint64_t *vals, total = 0;
	uint32_t key = 0;
	int i;

	if (ss->lost_fd < 0)
		return 0;
	vals = xcalloc((size_t)ss->ncpus, sizeof(*vals));
	if (bpf_map_lookup_elem(ss->lost_fd, &key, vals) == 0)
		for (i = 0; i < ss->ncpus; i++)
			total += vals[i];
	free(vals);
	return total;
}

/* Drop what is in the ring buffer (the probes are detached: it is finite); the count. */
static uint64_t discard_all(struct session *ss)
{
	ss->discard = true;
	ss->ndiscarded = 0;
	while (ring_buffer__consume(ss->rb) > 0)
		;
	ss->discard = false;
	return ss->ndiscarded;
}

int session_drain(struct session *ss)
{
	uint64_t start;
	int n;

	if (ensure_rb(ss))
		return -EINVAL;
	note_stop(ss);
	start = now_ns();
	ss->drain_deadline = MAX(ss->stop_ns + DRAIN_BUDGET_NS, start + DRAIN_MIN_NS);
	ss->draining = true;
	do {
		ss->batch = 0;
		n = ring_buffer__consume(ss->rb);
		session_flush(ss, true);
	} while (n == -EAGAIN && !ss->exited);
	ss->draining = false;
	if (n == -ETIME) {
		/* out of time: what was not printed is lost, and said so */
		ss->abandoned += discard_all(ss);
	}
	return 0;
}

void session_discard(struct session *ss)
{
	if (ensure_rb(ss))
		return;
	discard_all(ss);
}

static void check_child(struct session *ss)
{
	int status;

	if (ss->child_pid <= 0 || ss->child_done)
		return;
	if (waitpid(ss->child_pid, &status, WNOHANG) == ss->child_pid) {
		ss->child_done = true;
		session_stop = 1;
	}
}

/*
 * -p PID: when the process is gone the trace ends (END runs, maps print), as in bpftrace.
 * It is not sonde's child, so it is gone when kill() finds nothing or it is a zombie.
 */
static void check_target(struct session *ss)
{
	char path[64], buf[256], *p;
	FILE *f;
	bool gone;

	if (!ss->cs->pid)
		return;
	gone = kill(ss->cs->pid, 0) && errno == ESRCH;
	snprintf(path, sizeof(path), "/proc/%d/stat", ss->cs->pid);
	if (!gone && (f = fopen(path, "re"))) {
		/* "pid (comm) S ...": the state follows the last ')' */
		if (fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')) && p[1] && p[2] == 'Z')
			gone = true;
		fclose(f);
	}
	if (gone)
		session_stop = 1;
}

void session_report_lost(struct session *ss)
{
	uint64_t lost = session_lost(ss) + ss->abandoned;

	if (lost > ss->lost_reported) {
		output_lost(ss->out, lost - ss->lost_reported);
		ss->lost_reported = lost;
	}
}

/* how often the poll loop reports lost events and looks at the -c child and the -p target */
#define CHECK_INTERVAL_NS 10000000ULL
/* a batch smaller than this waits GATHER_NS for more before the next poll */
#define SMALL_BATCH 256
#define GATHER_NS 500000L
/* ... if the ring buffer holds far more than gathers meanwhile (BPFTRACE_PERF_RB_PAGES=1 does not) */
#define GATHER_MIN_RING (256u << 10)

int session_poll(struct session *ss)
{
	uint64_t last_checks = 0;
	bool busy = false, small;
	int err;

	if (ensure_rb(ss))
		return -EINVAL;
	while (!session_stop && !ss->exited) {
		ss->batch = 0;
		/* while events arrive, a record submitted without a wake-up (cg_event_end wakes
		 * the reader once a millisecond per CPU) is read at the next 2 ms timeout */
		err = ring_buffer__poll(ss->rb, busy ? 2 : 100);
		if (err == 0 && busy)
			err = ring_buffer__consume(ss->rb);
		busy = err > 0 || err == -ECANCELED || err == -EAGAIN;
		if (err < 0 && err != -EINTR && err != -ECANCELED && err != -EAGAIN) {
			diag_error(NULL, "failed to poll the ring buffer: %s", strerror(-err));
			return err;
		}
		small = err > 0 && ss->batch < SMALL_BATCH && ss->rb_bytes >= GATHER_MIN_RING;
		/* a batch is drained: its lines go out now, in one write; nowhere to write ends it */
		if (session_flush(ss, true))
			session_stop = 1;
		if (print_maps) {
			print_maps = 0;
			maps_print_all(ss);
			if (session_flush(ss, false))
				session_stop = 1;
		}
		/*
		 * A reader as fast as its producers reads a few events per poll, and pays a poll
		 * and a write for each few: while events keep coming in small batches, it lets
		 * them gather for half a millisecond (a line is still out within about 1 ms).
		 */
		if (small && !session_stop && !ss->exited)
			nanosleep(&(struct timespec){ .tv_nsec = GATHER_NS }, NULL);
		/* the rest costs system calls: every 10 ms is soon enough, not every batch */
		if (now_ns() - last_checks >= CHECK_INTERVAL_NS) {
			last_checks = now_ns();
			session_report_lost(ss);
			check_child(ss);
			check_target(ss);
			usyms_sweep(ss->usyms);
		}
	}
	note_stop(ss);
	return 0;
}
