/*
 * unwind.h - unwind tables for the BPF user-stack walker, and the stacks it stores
 * (bpf/ustack.bpf.c; design in runtime/unwind.c).
 */
#ifndef SONDE_UNWIND_H
#define SONDE_UNWIND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bpf/ustack.h"

struct bpf_object;
struct ring_buffer;
struct unwind;
struct usyms;

struct unwind_opts {
	bool dwarf;		/* whole stacks by CFI are taken: compile every table we can foresee */
	int pid;		/* -p: that process's files */
	const char *const *paths;	/* probed binaries */
	size_t npaths;
	struct usyms *usyms;	/* processes met by the walker are snapshotted here */
	uint32_t max_stacks;	/* distinct stacks kept (0: the walker's default) */
};

/*
 * After open, before load: compile the foreseeable tables and size the walker's maps.  *uw is
 * NULL (and 0 returned) when the object has no walker: the script takes no user stacks.
 */
int unwind_open(struct unwind **uw, struct bpf_object *obj, const struct unwind_opts *o);
/* After load: map the rows and publish the tables compiled so far. */
int unwind_loaded(struct unwind *uw, struct bpf_object *obj);
/* Serve the walker's requests for tables of files it meets later, on rb. */
int unwind_add_ring(struct unwind *uw, struct ring_buffer *rb);
/*
 * The frames of the stack with this key, taken in pid; a walk the BPF walker left unfinished
 * (a file without a table yet) is finished here.  -ENOENT when there is none.
 */
int unwind_stack(struct unwind *uw, uint64_t key, int pid, struct ustk_stack *out);
/*
 * The key under which the walker stores this stack when it walks it whole: a stack it left
 * unfinished has a key of its own, which map printing replaces so that equal stacks merge.
 */
uint64_t unwind_canonical_key(struct unwind *uw, uint64_t key, int pid);
/* A path to the frame's file when a table was compiled from it, else NULL. */
const char *unwind_file_path(struct unwind *uw, const struct ustk_frame *f);
void unwind_close(struct unwind *uw);

#endif
