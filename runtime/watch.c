/*
 * watch.c - programs attached while tracing: a setup program (watchpoint:FUNC+argN) reports the
 * address it read (EV_WATCH) and the program's attach_at hook puts a breakpoint there; unwatch()
 * takes the breakpoints at an address off again.
 *
 * A synchronous watchpoint's setup program has stopped the target (SIGSTOP) before reporting,
 * so every EV_WATCH ends with SIGCONT, whatever happened: attached, out of debug registers, a
 * duplicate, sonde stopping, or the event dropped.  bpftrace 0.17 behaves the same, except that
 * an attach failure other than ENOSPC aborts it; here it is an error that ends the trace.
 */
#include "runtime/session.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/libbpf.h>

#include "common/diag.h"
#include "common/util.h"

struct session_watch {
	uint64_t addr;
	struct bpf_link *link;	/* in ss->links */
};

static int target_pid(const struct session *ss)
{
	return ss->child_pid > 0 ? ss->child_pid : ss->cs->pid;
}

static void continue_target(struct session *ss, const struct event_watch *ev)
{
	int pid = target_pid(ss);

	/* a -c child that was reaped is gone: its pid may be another process's by now */
	if (!ev->stopped || pid <= 0 || (ss->child_pid > 0 && ss->child_done))
		return;
	if (kill(pid, SIGCONT) && errno != ESRCH)
		diag_error(NULL, "failed to continue process %d (SIGCONT): %s", pid, strerror(errno));
}

#define OUT_OF_REGISTERS "Failed to attach watchpoint probe. You are out of watchpoint registers."

void session_watch(struct session *ss, uint32_t prog, const struct event_watch *ev)
{
	const struct compiled_script *cs = ss->cs;
	const struct compiled_prog *cp = prog < cs->nprogs ? &cs->progs[prog] : NULL;
	struct bpf_link *link;
	int err;

	if (!cp || !cp->attach_at || session_stop)
		goto cont;
	if (!ss->watch_addr)
		ss->watch_addr = xcalloc(cs->nprogs, sizeof(*ss->watch_addr));
	/* one breakpoint per program and address: the function called again on the same
	 * object; an address that did not attach (no register left) is not tried again */
	if (ss->watch_addr[prog] == ev->addr)
		goto cont;
	ss->watch_addr[prog] = ev->addr;
	err = cp->attach_at(cp, ev->addr, target_pid(ss), &link);
	if (err == -ENOSPC) {
		/* bpftrace's words, on the trace's output ("lost_events" in JSON) */
		output_message(ss->out, "lost_events", output_format(ss->out) == OUTPUT_JSON ?
			       OUT_OF_REGISTERS : OUT_OF_REGISTERS "\n");
		goto cont;
	}
	if (err == -ESRCH)
		goto cont;	/* the process is gone (asyncwatchpoint): the trace ends with it */
	if (err) {
		diag_error(NULL, "failed to attach a watchpoint at 0x%llx in process %d: %s",
			   (unsigned long long)ev->addr, target_pid(ss), strerror(-err));
		ss->exit_code = 1;
		session_stop = 1;
		goto cont;
	}
	attach_set_add_link(&ss->links, link);
	xgrow((void **)&ss->watches, &ss->capwatches, ss->nwatches + 1, sizeof(*ss->watches));
	ss->watches[ss->nwatches].addr = ev->addr;
	ss->watches[ss->nwatches++].link = link;
cont:
	continue_target(ss, ev);
}

void session_unwatch(struct session *ss, uint64_t addr)
{
	size_t i, n = 0;

	/* an address nothing watches is no error: bpftrace lets scripts unwatch freely */
	for (i = 0; i < ss->nwatches; i++) {
		if (ss->watches[i].addr == addr)
			attach_set_remove_link(&ss->links, ss->watches[i].link);
		else
			ss->watches[n++] = ss->watches[i];
	}
	ss->nwatches = n;
}

void session_watch_dropped(struct session *ss, const struct event_watch *ev)
{
	continue_target(ss, ev);
}

void session_watch_release(struct session *ss)
{
	struct event_watch ev = { .stopped = 1 };

	/* an error path that never read the ring buffer may have left the -p target stopped (a
	 * -c child is killed, and reaped, before this) */
	if (ss->cs && ss->cs->stops_target && ss->child_pid <= 0)
		continue_target(ss, &ev);
	free(ss->watches);
	free(ss->watch_addr);
	ss->watches = NULL;
	ss->watch_addr = NULL;
	ss->nwatches = ss->capwatches = 0;
}
