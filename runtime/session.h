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

#include "output.h"
#include "script.h"
#include "value.h"

struct bpf_object;
struct ring_buffer;
struct usyms;

struct session {
	struct script *s;
	struct output *out;
	struct bpf_object *obj;
	struct ring_buffer *rb;
	struct attach_set links;
	struct usyms *usyms;
	int *map_fds;		/* per script map */
	int stacks_fd, ustacks_fd, globals_fd, lost_fd;
	int ncpus;		/* possible CPUs: per-CPU values come in this many copies */
	int64_t boot_to_real_ns;	/* CLOCK_REALTIME - CLOCK_MONOTONIC at start, for strftime */
	bool exited;		/* exit() was called */
	bool discard;		/* drop events: those that followed exit() */
	bool draining;		/* consuming the backlog after a stop: keep going */
	uint64_t lost_reported;	/* events already reported as lost */
	int child_pid;		/* -c */
	int child_go_fd;	/* write end: the child execs when it is closed */
	bool child_done;
};

extern volatile sig_atomic_t session_stop;

/* loader.c */
int session_load(struct session *ss, const void *obj, size_t size);
int session_attach(struct session *ss);
/* Run the BEGIN or END program (if the script has one). */
int session_run_special(struct session *ss, const struct probe_ops *which);
void session_close(struct session *ss);

/* events.c */
int session_poll(struct session *ss);	/* until exit(), a signal or the -c child's exit */
int session_drain(struct session *ss);	/* consume what is left in the ring buffer */
void session_discard(struct session *ss);	/* drop what is left (after exit()) */
uint64_t session_lost(struct session *ss);
/* "Lost N events" for what was dropped since the last report. */
void session_report_lost(struct session *ss);

/* decode.c: BPF bytes of type t into a printable value (stacks symbolized, ...) */
struct val decode_value(struct session *ss, const struct type *t, const void *data);
/* A stack as text: frames separated by "\n", each prefixed by indent spaces. */
char *decode_stack(struct session *ss, const struct type *t, const void *data, int indent);

/* maps.c */
int maps_print(struct session *ss, const struct map_info *mi, uint64_t top, uint64_t div);
int maps_print_all(struct session *ss);
int maps_clear(struct session *ss, const struct map_info *mi);
int maps_zero(struct session *ss, const struct map_info *mi);
int maps_snapshot(struct session *ss, const struct map_info *mi, struct map_snapshot *snap);
void maps_snapshot_free(struct map_snapshot *snap);

#endif
