/*
 * hist.h - bpftrace's hist() and lhist() layouts, text and JSON, for one set of buckets
 * (bucket numbering as in output.h's struct map_entry).
 */
#ifndef SONDE_HIST_H
#define SONDE_HIST_H

#include <stddef.h>
#include <stdint.h>

#include "common/util.h"

/* Text rows "[4, 8)                 1 |@@@...|\n" from the first to the last non-empty
 * bucket; nothing when all are empty.  div divides the counts shown, not the bars. */
void hist_log2_text(struct strbuf *out, const uint64_t *b, size_t n, uint64_t div);
void hist_lin_text(struct strbuf *out, const uint64_t *b, size_t n,
		   int64_t min, int64_t max, int64_t step);
/* JSON arrays [{"min": 4, "max": 7, "count": 1}, ...]; "[]" when all buckets are empty. */
void hist_log2_json(struct strbuf *out, const uint64_t *b, size_t n, uint64_t div);
void hist_lin_json(struct strbuf *out, const uint64_t *b, size_t n,
		   int64_t min, int64_t max, int64_t step);

/* Bucket labels: hist power 10 -> "1K"; lhist 2048 -> "2K", 3145728 -> "3M". */
void hist_log2_label(struct strbuf *out, int power);
void hist_lin_label(struct strbuf *out, int64_t v);

#endif
