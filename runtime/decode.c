/*
 * decode.c - what a BPF program reported (bytes laid out as a sonde type) into values the
 * output layer prints: integers by size and sign, strings, tuples, records, and the value
 * kinds through their row's text hook (runtime/kinds.c).  Stacks are symbolized here.
 */
#include "runtime/session.h"

#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>

#include "common/util.h"
#include "runtime/ksyms.h"
#include "runtime/unwind.h"
#include "runtime/usyms.h"

static uint64_t u64_at(const void *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static struct val decode_int(const struct type *t, const void *data)
{
	int64_t v = 0;

	switch (t->size) {
	case 1: v = t->is_signed ? *(const int8_t *)data : *(const uint8_t *)data; break;
	case 2: { int16_t x; uint16_t y; memcpy(&x, data, 2); memcpy(&y, data, 2);
		  v = t->is_signed ? x : y; break; }
	case 4: { int32_t x; uint32_t y; memcpy(&x, data, 4); memcpy(&y, data, 4);
		  v = t->is_signed ? x : (int64_t)y; break; }
	default: memcpy(&v, data, 8); break;
	}
	return t->is_signed ? val_int(v) : val_uint((uint64_t)v);
}

static enum usyms_mode usyms_layout(const struct type *t)
{
	return t->stack_mode == 1 ? USYMS_PERF : t->stack_mode == 3 ? USYMS_SOURCE : USYMS_BPFTRACE;
}

/*
 * Stacks as text, by what decides the text: the same stack of the same process in the same
 * layout prints the same, so a hot stack is symbolized once, not per event.
 */
#define STACK_CACHE 4096

struct stack_text {
	uint64_t key;
	int pid, layout, indent;
	char *text;
};

static struct stack_text stack_cache[STACK_CACHE];

static struct stack_text *cached(uint64_t key, int pid, int layout, int indent)
{
	uint64_t h = (key ^ (uint64_t)pid * 0x9e3779b97f4a7c15ULL) ^ (uint64_t)(layout * 31 + indent);

	return &stack_cache[(h ^ h >> 29) % STACK_CACHE];
}

static char *symbolize_stack(struct session *ss, const struct type *t, const void *data,
			     int indent);

static char *user_stack(struct session *ss, const struct type *t, const void *data, int indent)
{
	uint64_t key = u64_at(data);
	int pid = (int)u64_at((const char *)data + 8);
	/* everything of the type the text depends on */
	int layout = (t->stack_mode * 2 + (t->stack_unwind == STACK_UNWIND_DWARF)) * 256 +
		     (int)(t->stack_limit & 0xff);
	struct stack_text *c = cached(key, pid, layout, indent);

	if (!c->text || c->key != key || c->pid != pid || c->layout != layout ||
	    c->indent != indent) {
		free(c->text);
		*c = (struct stack_text){ key, pid, layout, indent,
					  symbolize_stack(ss, t, data, indent) };
	}
	return xstrdup(c->text);
}

static char *symbolize_stack(struct session *ss, const struct type *t, const void *data,
			     int indent)
{
	int pid = (int)u64_at((const char *)data + 8);
	uint32_t i, limit = t->stack_limit ? t->stack_limit : USTK_MAX_FRAMES;
	struct ustk_stack *st = xmalloc(sizeof(*st));
	struct strbuf sb;

	sb_init(&sb);
	sb_puts(&sb, "");
	if (unwind_stack(ss->unwind, u64_at(data), pid, st) == 0) {
		for (i = 0; i < st->nr && i < limit; i++) {
			const struct ustk_frame *fr = &st->f[i];
			struct usym_frame uf = {
				.pid = pid,
				.addr = fr->ip,
				.major = fr->dev >> 20,
				.minor = fr->dev & 0xfffff,
				.ino = (unsigned long)fr->ino,
				.path = unwind_file_path(ss->unwind, fr),
				.file_off = fr->off,
				.caller = i > 0,
				/* bpftrace's own layout stays bpftrace's; whole stacks show inlines */
				.inlines = t->stack_unwind == STACK_UNWIND_DWARF || t->stack_mode == 3,
				.indent = indent,
			};

			/* perf layout: "\t<addr> sym+off (module)", never indented */
			if (t->stack_mode != 1)
				sb_printf(&sb, "%*s", indent, "");
			if (t->stack_mode == 2)
				sb_printf(&sb, "%llx", (unsigned long long)fr->ip);
			else
				usyms_format(ss->usyms, &uf, usyms_layout(t), &sb);
			sb_putc(&sb, '\n');
		}
	}
	free(st);
	return sb_steal(&sb);
}

/* Read stack id's frames from a stack map; NULL when the id is invalid or gone. */
static void *stack_frames(int fd, int64_t id, size_t fsize, uint32_t n)
{
	void *frames;

	if (id < 0 || fd < 0)
		return NULL;
	frames = xcalloc(n, fsize);
	if (bpf_map_lookup_elem(fd, &(uint32_t){ (uint32_t)id }, frames)) {
		free(frames);
		return NULL;
	}
	return frames;
}

char *decode_stack(struct session *ss, const struct type *t, const void *data, int indent)
{
	uint32_t i, n = ss->cs->stack_max, limit = t->stack_limit ? t->stack_limit : n;
	uint64_t *ips;
	struct strbuf sb;

	if (t->kind == TYPE_USTACK)
		return user_stack(ss, t, data, indent);
	sb_init(&sb);
	sb_puts(&sb, "");
	ips = stack_frames(ss->stacks_fd, (int64_t)u64_at(data), sizeof(*ips), n);
	for (i = 0; ips && i < n && i < limit && ips[i]; i++) {
		uint64_t ip = ips[i];

		if (t->stack_mode == 1) {
			sb_printf(&sb, "\t%llx ", (unsigned long long)ip);
			ksyms_resolve(ip, &sb);
			sb_puts(&sb, " ([kernel.kallsyms])");
		} else {
			sb_printf(&sb, "%*s", indent, "");
			if (t->stack_mode == 2)
				sb_printf(&sb, "%llx", (unsigned long long)ip);
			else
				ksyms_resolve(ip, &sb);
		}
		sb_putc(&sb, '\n');
	}
	free(ips);
	return sb_steal(&sb);
}

static struct val decode_bitfield(const struct field *f, const void *data)
{
	uint64_t v = 0;
	uint32_t bytes = (f->bit_offset + f->bit_width + 7) / 8;

	memcpy(&v, data, bytes > 8 ? 8 : bytes);
	v >>= f->bit_offset;
	if (f->bit_width < 64)
		v &= (1ULL << f->bit_width) - 1;
	return val_uint(v);
}

/* A struct or union value held in memory: its members in declaration order. */
static struct val decode_record(struct session *ss, const struct record *rec, const void *data)
{
	struct val v = val_elems(VAL_RECORD, rec->nfields);
	uint32_t i;

	v.rec = rec;
	for (i = 0; i < rec->nfields; i++) {
		const struct field *f = &rec->fields[i];
		const char *p = (const char *)data + f->offset;

		v.tuple.elems[i] = f->bit_width ? decode_bitfield(f, p) : decode_value(ss, f->type, p);
	}
	return v;
}

struct val decode_value(struct session *ss, const struct type *t, const void *data)
{
	struct val v;
	uint32_t i;

	if (t->vk) {
		v = val_str_own(t->vk->text(ss, t, data));
		v.form = t->vk->form;
		return v;
	}
	switch (t->kind) {
	case TYPE_INT:
		return decode_int(t, data);
	case TYPE_POINTER:
		return val_uint(u64_at(data));
	case TYPE_STRING:
		return val_str_own(xstrndup(data, strnlen(data, t->size)));
	case TYPE_BUFFER: {
		uint8_t len = *(const uint8_t *)data;

		return val_buf((const char *)data + 1, MIN(len, t->size - 1));
	}
	case TYPE_TUPLE:
		v = val_tuple(t->nfields);
		for (i = 0; i < t->nfields; i++)
			v.tuple.elems[i] = decode_value(ss, t->fields[i], (const char *)data + t->offsets[i]);
		return v;
	case TYPE_RECORD:
		if (!t->rec->complete)
			return val_elems(VAL_RECORD, 0);
		return decode_record(ss, t->rec, data);
	case TYPE_ARRAY:
		v = val_elems(VAL_ARRAY, t->nelems);
		for (i = 0; i < t->nelems; i++)
			v.tuple.elems[i] = decode_value(ss, t->elem, (const char *)data + i * t->elem->size);
		return v;
	default:
		return val_uint(u64_at(data));
	}
}
