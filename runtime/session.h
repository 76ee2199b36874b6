/*
 * session.h - one run of a compiled script: load the object, attach, run BEGIN, poll events,
 * run END, print maps, detach.  loader.c, events.c, decode.c and maps.c share this state.
 */
#ifndef SONDE_SESSION_H
#define SONDE_SESSION_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/compiled.h"
#include "runtime/attach.h"
#include "runtime/output.h"
#include "runtime/value.h"

struct bpf_object;
struct ring_buffer;
struct unwind;
struct usyms;

#define SESSION_MAX_PARTS 8

struct session {
	struct compiled_script *cs;	/* the compiler's description of the object */
	struct output *out;
	struct bpf_object *obj;
	/* loader.c: second opens of the object that load the programs in parallel, sharing obj's
	 * maps; nparts 0 when obj loads them itself */
	struct bpf_object *parts[SESSION_MAX_PARTS];
	int nparts;
	struct ring_buffer *rb;
	struct attach_set links;
	struct usyms *usyms;
	struct unwind *unwind;	/* user stacks: tables in, frames out; NULL without ustack */
	int *map_fds;		/* per script map */
	int stacks_fd, globals_fd, lost_fd;
	int ncpus;		/* possible CPUs: per-CPU values come in this many copies */
	int64_t boot_to_real_ns;	/* CLOCK_REALTIME - CLOCK_MONOTONIC at start, for strftime */
	bool exited;		/* exit() was called */
	int exit_code;		/* exit(code)'s code: sonde's exit status */
	bool discard;		/* drop events: those that followed exit() */
	bool draining;		/* consuming the backlog after a stop: keep going */
	uint64_t lost_reported;	/* events already reported as lost */
	int child_pid;		/* -c */
	int child_go_fd;	/* write end: the child execs when it is closed */
	bool child_done;
	/* events.c: stopping and batching */
	uint64_t stop_ns;	/* CLOCK_MONOTONIC when the stop was first seen, 0 before */
	uint64_t drain_deadline;	/* a drain after a stop gives up at this time */
	uint32_t batch;		/* events handled in the current batch */
	uint32_t rb_bytes;	/* the size of the event ring buffer */
	uint64_t ndiscarded;	/* events dropped by the current discard */
	uint64_t abandoned;	/* events dropped when a drain ran out of time: reported lost */
	bool write_error_reported;
	/* watch.c: breakpoints attached at run time, by address for unwatch() */
	struct session_watch *watches;
	size_t nwatches, capwatches;
	uint64_t *watch_addr;	/* per program: the address it was last asked to watch */
};

extern volatile sig_atomic_t session_stop;
extern volatile sig_atomic_t session_tracing;	/* BEGIN ran: a signal stops, END runs */

/* loader.c */
int session_load(struct session *ss, const void *obj, size_t size);
int session_attach(struct session *ss);
/* Run the BEGIN or END programs (if the script has them), in script order. */
int session_run_special(struct session *ss, enum compiled_run which);
void session_close(struct session *ss);

/* events.c */
/* SIGINT/SIGTERM stop the session, SIGPIPE is ignored (a write error ends it instead). */
void session_signals_install(void);
/* In a child before exec: the dispositions sonde found at start (async-signal-safe). */
void session_signals_restore(void);
/* Write the buffered output (batch: only if not -B full); a write error is reported once. */
int session_flush(struct session *ss, bool batch);
int session_poll(struct session *ss);	/* until exit(), a signal or the -c child's exit */
int session_drain(struct session *ss);	/* consume what is left in the ring buffer */
void session_discard(struct session *ss);	/* drop what is left (after exit()) */
uint64_t session_lost(struct session *ss);
/* "Lost N events" for what was dropped since the last report. */
void session_report_lost(struct session *ss);

/* watch.c: EV_WATCH (attach program prog at the address; continue the stopped target) and
 * unwatch(addr) (detach every breakpoint at addr). */
void session_watch(struct session *ss, uint32_t prog, const struct event_watch *ev);
void session_unwatch(struct session *ss, uint64_t addr);
/* An EV_WATCH that is dropped (after exit(), or past the drain budget): the target goes on. */
void session_watch_dropped(struct session *ss, const struct event_watch *ev);
/* Free the table; a target a setup program may have stopped is continued. */
void session_watch_release(struct session *ss);

/* decode.c: BPF bytes of type t into a printable value (stacks symbolized, ...) */
struct val decode_value(struct session *ss, const struct type *t, const void *data);
/* A stack as text: frames separated by "\n", each prefixed by indent spaces. */
char *decode_stack(struct session *ss, const struct type *t, const void *data, int indent);

/* maps.c */
int maps_print(struct session *ss, const struct map_info *mi, uint64_t top, uint64_t div);
int maps_print_all(struct session *ss);
int maps_clear(struct session *ss, const struct map_info *mi);
int maps_zero(struct session *ss, const struct map_info *mi);
void maps_report_full(struct session *ss, const struct map_info *mi);
int maps_snapshot(struct session *ss, const struct map_info *mi, struct map_snapshot *snap);
void maps_snapshot_free(struct map_snapshot *snap);

#endif
