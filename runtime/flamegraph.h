/*
 * flamegraph.h - stacks in the folded format ("root;caller;leaf count") and the interactive
 * flame graph SVG sonde draws from them itself (no external script).
 */
#ifndef SONDE_FLAMEGRAPH_H
#define SONDE_FLAMEGRAPH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct map_info;
struct session;

struct flame_stack {
	char *frames;		/* "root;...;leaf" */
	uint64_t count;
};

struct flame_set {
	struct flame_stack *v;
	size_t n, cap;
};

/* Append a stack (frames root first, separated by ';'); flame_sort merges duplicates. */
void flame_add(struct flame_set *fs, const char *frames, uint64_t count);
/* Sort by frames and merge identical stacks (summing their counts), as stackcollapse does. */
void flame_sort(struct flame_set *fs);
void flame_free(struct flame_set *fs);

/* One "frames count" line per stack; 0 or -errno. */
int flame_write_folded(const struct flame_set *fs, FILE *f);
/* A self-contained SVG: hover shows frame and count, click zooms (embedded JS); 0 or -errno. */
int flame_write_svg(const struct flame_set *fs, const char *title, FILE *f);

/* A frame line of a decoded stack as a flame graph frame name (no offset, address, module). */
char *flame_frame_name(const char *line);

/* folded.c: does the map have a stack in its key and an integer value (count, sum, plain)? */
bool flame_map_eligible(const struct map_info *mi);
/* Every eligible map of the session into fs (frames root first); the number of maps used. */
int flame_collect(struct session *ss, struct flame_set *fs);

#endif
