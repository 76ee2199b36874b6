/*
 * output.h - everything sonde prints on its output stream, in text (bpftrace's layout,
 * byte for byte) or JSON (one object per line, bpftrace's shapes).  One interface, two
 * backends: runtime/output_text.c and runtime/output_json.c.
 */
#ifndef SONDE_OUTPUT_H
#define SONDE_OUTPUT_H

#include <stdint.h>
#include <stdio.h>

#include "value.h"

enum output_format {
	OUTPUT_TEXT,
	OUTPUT_JSON,
};

/* How a map's values are aggregated; decides sorting and layout. */
enum mapv_kind {
	MAPV_PLAIN,	/* assigned values: ints, strings, tuples, ... */
	MAPV_COUNT,
	MAPV_SUM,
	MAPV_MIN,
	MAPV_MAX,
	MAPV_AVG,
	MAPV_STATS,
	MAPV_HIST,
	MAPV_LHIST,
};

struct map_entry {
	/* The key expressions as a VAL_TUPLE: n == 0 for a map without keys ("@x"), n == 1 for
	 * "@x[k]", n > 1 for "@x[k1, k2]" (printed "@x[k1, k2]"). */
	struct val key;
	/* PLAIN/COUNT/SUM/MIN/MAX: the value (per-CPU values already reduced). AVG: the average
	 * (total / count, truncated toward zero as bpftrace does). */
	struct val value;
	uint64_t count;		/* AVG, STATS */
	int64_t total;		/* AVG, STATS */
	/*
	 * HIST: buckets[0] counts values < 0, [1] the value 0, [2] the value 1 and [i] for i >= 2
	 * the values in [2^(i-2), 2^(i-1)).
	 * LHIST: buckets[0] counts values < min, [i] for 1 <= i <= (max-min)/step the values in
	 * [min + (i-1)*step, min + i*step), the last one values >= max.
	 */
	uint64_t *buckets;
	size_t nbuckets;
};

struct map_snapshot {
	const char *name;	/* "@m", or "@" for the anonymous map */
	enum mapv_kind kind;
	int64_t lhist_min, lhist_max, lhist_step;
	struct map_entry *entries;
	size_t n;
};

struct output;

/*
 * When the output is written: LINE (the default) at the end of every batch of events, so a line
 * appears as soon as its batch is drained, in one write(2) per batch; FULL when the buffer is
 * full; NONE at once, each message.
 */
enum output_buffering {
	OUTPUT_BUF_LINE,
	OUTPUT_BUF_FULL,
	OUTPUT_BUF_NONE,
};

struct output *output_new(FILE *f, enum output_format fmt);
/* An output writing to fd with sonde's own buffer; write errors are caught as they happen. */
struct output *output_new_fd(int fd, enum output_format fmt, enum output_buffering b);
void output_free(struct output *o);
enum output_format output_format(const struct output *o);
FILE *output_file(const struct output *o);

/* "Attaching N probes..." (text; "Attaching 1 probe...") / {"type": "attached_probes", ...}. */
void output_attached(struct output *o, unsigned nprobes);
/* Rendered printf text (may lack a trailing newline). JSON: {"type": "printf", "data": "..."}. */
void output_printf(struct output *o, const char *text);
/* Plain text: same as printf in text mode; a "printf" message in JSON (see output_message). */
void output_text(struct output *o, const char *text);
/*
 * Text with its JSON message type: "time", "cat", "syscall" (system()), "printf".  Text mode
 * prints text as is.  JSON: {"type": "<type>", "data": "<text>"}.
 */
void output_message(struct output *o, const char *type, const char *text);
/* print(value) of a non-map value: "5\n" / {"type": "value", "data": 5}. */
void output_value(struct output *o, const struct val *v);
/*
 * Print one map: entries sorted as bpftrace sorts them, top > 0 keeps only the last `top`
 * entries after sorting, div > 1 divides values as bpftrace does (below).  The caller
 * frees the snapshot.  At exit bpftrace prints every map in map name
 * order, cleared (empty) maps included.
 *
 * bpftrace 0.17, observed: an empty map prints an empty line in text ("\n\n" for avg/stats)
 * and nothing in JSON.  div divides count/sum/min/max/int values (also inside tuples), avg
 * values and hist counts (not the bars), not lhist or stats; top is ignored for stats.
 * Sorting: count/sum/min/max and integer values by value, ties in the caller's order;
 * other values by key (integers as unsigned, strings bytewise, first key first); hist/lhist
 * by total count and avg/stats by average, ties by key bytes.  Integer keys print signed.
 */
void output_map(struct output *o, const struct map_snapshot *m, uint64_t top, uint64_t div);
/* "Lost N events\n" on the output stream / {"type": "lost_events", "data": {"events": N}}. */
void output_lost(struct output *o, uint64_t nevents);
/*
 * -k: helper (e.g. "map_delete_elem") returned ret at a call on line:col.  Like bpftrace 0.17,
 * on the output, not stderr: text is the located warning (diag_format_warning);
 * JSON is {"type": "helper_error", "helper": ..., "retcode": ..., "line": ..., "col": ...}.
 */
void output_helper_error(struct output *o, const char *helper, int64_t ret, int line, int col,
			 const char *text);
/* "\n\n", text and JSON, at exit before the map dump (also when there are no maps). */
void output_exit_maps_begin(struct output *o);
/* The end of a batch of events: written now, unless the buffering is FULL.  0 or -errno. */
int output_batch_end(struct output *o);
/* Write what is buffered: 0, or -errno of the first write error (the caller reports it). */
int output_flush(struct output *o);
/* The first write error (an errno), 0 if none. */
int output_error(const struct output *o);

#endif
