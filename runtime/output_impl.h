/* output_impl.h - private to runtime/output*.c: the backend table and shared helpers. */
#ifndef SONDE_OUTPUT_IMPL_H
#define SONDE_OUTPUT_IMPL_H

#include "output.h"
#include "common/types.h"
#include "common/util.h"

struct output_ops {
	void (*attached)(struct output *o, unsigned nprobes);
	void (*message)(struct output *o, const char *type, const char *text);
	void (*value)(struct output *o, const struct val *v);
	/* idx: the entries to print, in order (sorting and top already applied) */
	void (*map)(struct output *o, const struct map_snapshot *m, const size_t *idx, size_t n,
		    uint64_t div);
	void (*lost)(struct output *o, uint64_t nevents);
	void (*helper_error)(struct output *o, const char *helper, int64_t ret, int line, int col,
			     const char *text);
	void (*exit_maps_begin)(struct output *o);
};

struct output {
	FILE *f;
	enum output_format fmt;
	const struct output_ops *ops;
	int err;		/* the first write error (errno) */
	int fd;			/* output_new_fd: where the stream writes, -1 otherwise */
	enum output_buffering buffering;
};

extern const struct output_ops output_text_ops;
extern const struct output_ops output_json_ops;

/* avg/stats average as bpftrace computes it: total / count, 0 for no count. */
int64_t output_average(const struct map_entry *e);
/* An integer value divided as bpftrace divides it (signed for VAL_INT). */
void output_put_int(struct strbuf *sb, const struct val *v, uint64_t div);
/* A key element as text (ints signed, stacks indented by 4, buffers as %r). */
void output_put_key_elem(struct strbuf *sb, const struct val *k);
/* A stack's frames, each on its own line after a leading newline, indented. */
void output_put_stack(struct strbuf *sb, const char *frames, int indent);

#endif
