/*
 * hist.c - hist() / lhist() rendering, byte for byte as bpftrace 0.17 prints it.
 *
 * Quirks kept on purpose because users and their scripts see them: counts are scanned as
 * C ints, the bar length is computed in single-precision float (count / max * 52,
 * truncated), and the JSON bounds of log2 buckets are computed with 32-bit int shifts, so a
 * bucket from 2^31 up prints bpftrace's wrapped numbers ("min": -2147483648, "max": 0).
 */
#include "hist.h"

#include <inttypes.h>

#define BAR_WIDTH 52

void hist_log2_label(struct strbuf *out, int power)
{
	static const char suffix[] = { 0, 'K', 'M', 'G', 'T' };
	int s = power >= 40 ? 4 : power / 10;

	power -= s * 10;
	sb_printf(out, "%d", 1 << power);
	if (suffix[s])
		sb_putc(out, suffix[s]);
}

void hist_lin_label(struct strbuf *out, int64_t v)
{
	if (v != 0 && v % 1048576 == 0)
		sb_printf(out, "%" PRId64 "M", v / 1048576);
	else if (v != 0 && v % 1024 == 0)
		sb_printf(out, "%" PRId64 "K", v / 1024);
	else
		sb_printf(out, "%" PRId64, v);
}

static void row(struct strbuf *out, const char *label, uint64_t shown, uint64_t count, int maxv)
{
	int bar = maxv > 0 ? (int)((float)count / (float)maxv * BAR_WIDTH) : 0;
	char bars[BAR_WIDTH + 1];
	int i;

	for (i = 0; i < bar && i < BAR_WIDTH; i++)
		bars[i] = '@';
	bars[i] = '\0';
	sb_printf(out, "%-16s%8" PRIu64 " |%-*s|\n", label, shown, BAR_WIDTH, bars);
}

/* bpftrace's hist_prepare: first/last bucket with a positive (int) count and the max. */
static int log2_range(const uint64_t *b, size_t n, int *lo, int *hi, int *maxv)
{
	size_t i;

	*lo = *hi = -1;
	*maxv = 0;
	for (i = 0; i < n; i++) {
		int v = (int)b[i];

		if (v > 0) {
			if (*lo < 0)
				*lo = (int)i;
			*hi = (int)i;
		}
		if (v > *maxv)
			*maxv = v;
	}
	return *hi >= 0;
}

void hist_log2_text(struct strbuf *out, const uint64_t *b, size_t n, uint64_t div)
{
	struct strbuf label;
	int lo, hi, maxv, i;

	if (!div)
		div = 1;
	if (!log2_range(b, n, &lo, &hi, &maxv))
		return;
	sb_init(&label);
	for (i = lo; i <= hi; i++) {
		label.len = 0;
		if (i == 0) {
			sb_puts(&label, "(..., 0)");
		} else if (i == 1) {
			sb_puts(&label, "[0]");
		} else if (i == 2) {
			sb_puts(&label, "[1]");
		} else {
			sb_putc(&label, '[');
			hist_log2_label(&label, i - 2);
			sb_puts(&label, ", ");
			hist_log2_label(&label, i - 1);
			sb_putc(&label, ')');
		}
		row(out, label.buf, b[i] / div, b[i], maxv);
	}
	sb_free(&label);
}

void hist_log2_json(struct strbuf *out, const uint64_t *b, size_t n, uint64_t div)
{
	int lo, hi, maxv, i;

	if (!div)
		div = 1;
	if (!log2_range(b, n, &lo, &hi, &maxv)) {
		sb_puts(out, "[]");
		return;
	}
	sb_putc(out, '[');
	for (i = lo; i <= hi; i++) {
		if (i > lo)
			sb_puts(out, ", ");
		sb_putc(out, '{');
		if (i == 0) {
			sb_puts(out, "\"max\": -1, ");
		} else if (i == 1) {
			sb_puts(out, "\"min\": 0, \"max\": 0, ");
		} else if (i == 2) {
			sb_puts(out, "\"min\": 1, \"max\": 1, ");
		} else {
			/* int shifts, as x86 does them: the count is taken mod 32 */
			int32_t low = (int32_t)(1u << ((i - 2) & 31));
			int32_t high = (int32_t)((1u << ((i - 1) & 31)) - 1);

			sb_printf(out, "\"min\": %" PRId32 ", \"max\": %" PRId32 ", ", low, high);
		}
		sb_printf(out, "\"count\": %" PRIu64 "}", b[i] / div);
	}
	sb_putc(out, ']');
}

/* bpftrace's lhist_prepare: the non-empty range among the buckets+2 real buckets. */
static int lin_range(const uint64_t *b, size_t n, int64_t min, int64_t max, int64_t step,
		     int64_t *nb, int *lo, int *hi, int *maxv)
{
	int any = 0;
	size_t i;

	*maxv = 0;
	*nb = step > 0 ? (max - min) / step : 0;
	for (i = 0; i < n; i++) {
		int v = (int)b[i];

		if (v != 0)
			any = 1;
		if (v > *maxv)
			*maxv = v;
	}
	if (!any)
		return 0;
	*lo = -1;
	*hi = 0;
	for (i = 0; i < n && (int64_t)i <= *nb + 1; i++) {
		if (b[i] > 0) {
			if (*lo < 0)
				*lo = (int)i;
			*hi = (int)i;
		}
	}
	if (*lo < 0)
		*lo = 0;
	return 1;
}

void hist_lin_text(struct strbuf *out, const uint64_t *b, size_t n,
		   int64_t min, int64_t max, int64_t step)
{
	struct strbuf label;
	int lo, hi, maxv, i;
	int64_t nb;

	if (!lin_range(b, n, min, max, step, &nb, &lo, &hi, &maxv))
		return;
	sb_init(&label);
	for (i = lo; i <= hi && (size_t)i < n; i++) {
		label.len = 0;
		if (i == 0) {
			sb_puts(&label, "(..., ");
			hist_lin_label(&label, min);
			sb_putc(&label, ')');
		} else if (i == nb + 1) {
			sb_putc(&label, '[');
			hist_lin_label(&label, max);
			sb_puts(&label, ", ...)");
		} else {
			sb_putc(&label, '[');
			hist_lin_label(&label, (i - 1) * step + min);
			sb_puts(&label, ", ");
			hist_lin_label(&label, i * step + min);
			sb_putc(&label, ')');
		}
		row(out, label.buf, b[i], b[i], maxv);
	}
	sb_free(&label);
}

void hist_lin_json(struct strbuf *out, const uint64_t *b, size_t n,
		   int64_t min, int64_t max, int64_t step)
{
	int lo, hi, maxv, i;
	int64_t nb;

	if (!lin_range(b, n, min, max, step, &nb, &lo, &hi, &maxv)) {
		sb_puts(out, "[]");
		return;
	}
	sb_putc(out, '[');
	for (i = lo; i <= hi && (size_t)i < n; i++) {
		if (i > lo)
			sb_puts(out, ", ");
		sb_putc(out, '{');
		if (i == 0)
			sb_printf(out, "\"max\": %" PRId64 ", ", min - 1);
		else if (i == nb + 1)
			sb_printf(out, "\"min\": %" PRId64 ", ", max);
		else
			sb_printf(out, "\"min\": %" PRId64 ", \"max\": %" PRId64 ", ",
				  (i - 1) * step + min, i * step + min - 1);
		sb_printf(out, "\"count\": %" PRIu64 "}", b[i]);
	}
	sb_putc(out, ']');
}
