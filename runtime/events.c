/*
 * events.c - the poll loop: ring buffer events from the programs (printf, exit, print, clear,
 * time, cat, system), signals, the -c child, and lost-event accounting.
 */
#include "session.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "diag.h"
#include "runtime/format.h"
#include "util.h"

volatile sig_atomic_t session_stop;

/* Decode the arguments of a printf-like event into values. */
static struct val *decode_args(struct session *ss, const struct fmt_info *fi, const char *payload)
{
	struct val *args = xcalloc(fi->nargs ? fi->nargs : 1, sizeof(*args));
	uint32_t i;

	for (i = 0; i < fi->nargs; i++) {
		const struct type *st = fi->args->fields[i];
		const char *p = payload + fi->args->offsets[i];

		if (fi->arg_types[i]->kind == TYPE_USTACK || fi->arg_types[i]->kind == TYPE_KSTACK) {
			/* printf("%s", ustack): a leading newline, frames indented by 8 */
			char *frames = decode_stack(ss, fi->arg_types[i], p, 8);

			args[i] = val_str_own(xasprintf("\n%s", frames));
			free(frames);
			continue;
		}
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

static void run_system(struct session *ss, const char *cmd)
{
	FILE *p;
	char buf[4096];
	size_t n;
	struct strbuf sb;

	fflush(NULL);
	p = popen(cmd, "r");
	if (!p) {
		diag_error(NULL, "system(): failed to run '%s': %s", cmd, strerror(errno));
		return;
	}
	sb_init(&sb);
	while ((n = fread(buf, 1, sizeof(buf), p)) > 0)
		sb_putn(&sb, buf, n);
	pclose(p);
	if (sb.len)
		output_printf(ss->out, sb.buf);
	sb_free(&sb);
}

static void run_cat(struct session *ss, const char *path)
{
	char *text;

	if (read_file(path, &text, NULL)) {
		diag_error(NULL, "failed to open file '%s': %s", path, strerror(errno));
		return;
	}
	/* bpftrace prints at most BPFTRACE_CAT_BYTES_MAX bytes of the file */
	if (strlen(text) > ss->s->opts.cat_bytes_max)
		text[ss->s->opts.cat_bytes_max] = '\0';
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
	struct script *s = ss->s;
	const struct event_hdr *h = data;
	const char *payload = (const char *)data + sizeof(*h);
	char *text;

	if (size < sizeof(*h) || ss->discard)
		return 0;
	switch (h->kind) {
	case EV_PRINTF:
	case EV_SYSTEM:
	case EV_CAT:
		if (h->id >= s->nfmts)
			break;
		text = render(ss, &s->fmts[h->id], payload);
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

		if (h->id >= s->nfmts)
			break;
		args = decode_args(ss, &s->fmts[h->id], payload);
		output_value(ss->out, &args[0]);
		free_args(args, s->fmts[h->id].nargs);
		break;
	}
	case EV_TIME:
		if (h->id < s->nfmts)
			print_time(ss, s->fmts[h->id].fmt);
		break;
	case EV_JOIN: {
		uint64_t count, i;
		uint32_t len = s->opts.strlen;
		struct strbuf sb;

		if (h->id >= s->nfmts || size < sizeof(*h) + 8)
			break;
		memcpy(&count, payload, 8);
		sb_init(&sb);
		for (i = 0; i < count && i < 16 && sizeof(*h) + 8 + (i + 1) * len <= size; i++) {
			const char *str = payload + 8 + i * len;

			if (i)
				sb_puts(&sb, s->fmts[h->id].fmt);
			sb_putn(&sb, str, strnlen(str, len));
		}
		sb_putc(&sb, '\n');
		output_printf(ss->out, sb.buf);
		sb_free(&sb);
		break;
	}
	case EV_EXIT:
		ss->exited = true;
		session_stop = 1;
		break;
	case EV_PRINT_MAP: {
		uint64_t top, div;

		memcpy(&top, payload, 8);
		memcpy(&div, payload + 8, 8);
		if (h->id < s->nmaps)
			maps_print(ss, s->maps[h->id], top, div);
		break;
	}
	case EV_CLEAR_MAP:
		if (h->id < s->nmaps)
			maps_clear(ss, s->maps[h->id]);
		break;
	case EV_ZERO_MAP:
		if (h->id < s->nmaps)
			maps_zero(ss, s->maps[h->id]);
		break;
	default:
		break;
	}
	/* stop consuming after exit(), or after a signal unless we are draining: libbpf keeps
	 * consuming while producers keep up (an event storm) and stops only on a negative return */
	if (ss->exited)
		return -ECANCELED;
	return session_stop && !ss->draining ? -EINTR : 0;
}

static int ensure_rb(struct session *ss)
{
	int fd;

	if (ss->rb)
		return 0;
	fd = bpf_object__find_map_fd_by_name(ss->obj, "sonde_events");
	ss->rb = ring_buffer__new(fd, on_event, ss, NULL);
	if (!ss->rb) {
		diag_error(NULL, "failed to open the ring buffer: %s", strerror(errno));
		return -errno;
	}
	return 0;
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

int session_drain(struct session *ss)
{
	if (ensure_rb(ss))
		return -EINVAL;
	ss->draining = true;
	while (ring_buffer__consume(ss->rb) > 0 && !ss->exited)
		;
	ss->draining = false;
	return 0;
}

void session_discard(struct session *ss)
{
	if (ensure_rb(ss))
		return;
	ss->discard = true;
	while (ring_buffer__consume(ss->rb) > 0)
		;
	ss->discard = false;
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

void session_report_lost(struct session *ss)
{
	uint64_t lost = session_lost(ss);

	if (lost > ss->lost_reported) {
		output_lost(ss->out, lost - ss->lost_reported);
		ss->lost_reported = lost;
	}
}

int session_poll(struct session *ss)
{
	int err;

	if (ensure_rb(ss))
		return -EINVAL;
	while (!session_stop && !ss->exited) {
		err = ring_buffer__poll(ss->rb, 100);
		if (err < 0 && err != -EINTR && err != -ECANCELED) {
			diag_error(NULL, "failed to poll the ring buffer: %s", strerror(-err));
			return err;
		}
		session_report_lost(ss);
		check_child(ss);
		output_flush(ss->out);
	}
	return 0;
}
