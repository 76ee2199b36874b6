/*
 * tracefs.h - the kernel's tracepoints as tracefs describes them: where tracefs lives (mounting
 * it when it is missing), which tracepoints exist, their ids and the layout of their arguments.
 */
#ifndef SONDE_TRACEFS_H
#define SONDE_TRACEFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct record;

/*
 * The tracefs directory (/sys/kernel/tracing or /sys/kernel/debug/tracing).  When neither has
 * an events/ directory, tracefs is mounted at /sys/kernel/tracing (needs root).  0 or -errno,
 * with a diagnostic on failure.
 */
int tracefs_root(const char **path);
/* Same lookup (and mount attempt) without printing anything. */
bool tracefs_available(void);

/*
 * Call cb for every tracepoint whose category matches cat_glob and whose name matches name_glob
 * (NULL matches everything), sorted by category then name.  A nonzero cb return stops the walk
 * and is returned.
 */
int tracefs_foreach_tracepoint(const char *cat_glob, const char *name_glob,
			       int (*cb)(const char *cat, const char *name, void *ctx), void *ctx);

/* The tracepoint's id (events/CAT/NAME/id).  -ENOENT if there is no such tracepoint. */
int tracefs_tp_id(const char *cat, const char *name, uint32_t *id);

/*
 * The tracepoint's arguments (every field of its format except common_*), as a record named
 * "_tracepoint_CAT_NAME" in the type arena.  __data_loc fields are u32 fields with data_loc
 * set.  Pointers in the "syscalls" category point to user memory, all others to kernel memory.
 * Cached per tracepoint.  -ENOENT if there is no such tracepoint.
 */
int tracefs_tp_args(const char *cat, const char *name, struct record **args);

/*
 * The field declarations as `bpftrace -lv` prints them ("    const char * filename"), one
 * malloc'ed string per field; free with tracefs_lines_free.
 */
int tracefs_tp_fields_text(const char *cat, const char *name, char ***lines, size_t *n);
void tracefs_lines_free(char **lines, size_t n);

/* Whether the kernel offers kprobe events (tracefs kprobe_events or the kprobe PMU). */
bool tracefs_has_kprobe_events(void);

/* Free the format cache and forget the root; call it before types_free_all. */
void tracefs_cleanup(void);

#endif
