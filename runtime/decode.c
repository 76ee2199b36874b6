/*
 * decode.c - what a BPF program reported (bytes laid out as a sonde type) into values the
 * output layer prints: integers by size and sign, strings, tuples, and the special kinds
 * resolved in user space (stacks, symbols, addresses, user names, timestamps).
 */
#include "session.h"

#include <arpa/inet.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bpf/bpf.h>

#include "runtime/ksyms.h"
#include "runtime/usyms.h"
#include "util.h"

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

/* struct bpf_stack_build_id */
struct stack_frame_bid {
	int32_t status;		/* 0 empty, 1 build id + offset, 2 ip only */
	unsigned char build_id[20];
	uint64_t offset_or_ip;
};

static void user_frame(struct session *ss, const struct type *t, int pid,
		       const struct stack_frame_bid *f, uint64_t ip, struct strbuf *sb)
{
	enum usyms_mode mode = t->stack_mode == 1 ? USYMS_PERF :
			       t->stack_mode == 3 ? USYMS_SOURCE : USYMS_BPFTRACE;

	if (t->stack_mode == 2)
		sb_printf(sb, "%llx", (unsigned long long)ip);
	else if (f && f->status == 1)
		usyms_format_build_id(ss->usyms, f->build_id, sizeof(f->build_id), f->offset_or_ip, ip,
				      mode, sb);
	else
		usyms_format_frame(ss->usyms, pid, f && f->status == 2 ? f->offset_or_ip : ip, mode, sb);
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
	bool user = t->kind == TYPE_USTACK;
	int pid = user ? (int)u64_at((const char *)data + 8) : 0;
	uint32_t i, n = ss->s->opts.stack_max, limit = t->stack_limit ? t->stack_limit : n;
	struct stack_frame_bid *bids = NULL;
	uint64_t *ips;
	struct strbuf sb;

	sb_init(&sb);
	sb_puts(&sb, "");
	if (user) {
		bids = stack_frames(ss->ustacks_fd, (int64_t)u64_at(data), sizeof(*bids), n);
		ips = stack_frames(ss->stacks_fd, (int64_t)u64_at((const char *)data + 16),
				   sizeof(*ips), n);
	} else {
		ips = stack_frames(ss->stacks_fd, (int64_t)u64_at(data), sizeof(*ips), n);
	}
	for (i = 0; i < n && i < limit; i++) {
		const struct stack_frame_bid *bf = bids ? &bids[i] : NULL;
		uint64_t ip = ips ? ips[i] : 0;

		if ((!bf || bf->status == 0) && !ip)
			break;
		/* perf layout: "\t<addr> sym+off (module)", never indented */
		if (t->stack_mode != 1)
			sb_printf(&sb, "%*s", indent, "");
		if (user) {
			user_frame(ss, t, pid, bf, ip, &sb);
		} else if (t->stack_mode == 1) {
			sb_printf(&sb, "\t%llx ", (unsigned long long)ip);
			ksyms_resolve(ip, &sb);
			sb_puts(&sb, " ([kernel.kallsyms])");
		} else if (t->stack_mode == 2) {
			sb_printf(&sb, "%llx", (unsigned long long)ip);
		} else {
			ksyms_resolve(ip, &sb);
		}
		sb_putc(&sb, '\n');
	}
	free(bids);
	free(ips);
	return sb_steal(&sb);
}

static char *usym_name(struct session *ss, uint64_t addr, int pid)
{
	struct usym_info info;

	if (usyms_resolve(ss->usyms, pid, addr, &info) == 0 && info.sym)
		return xstrdup(info.sym);
	return xasprintf("0x%llx", (unsigned long long)addr);
}

static char *inet_text(const void *data)
{
	uint64_t family = u64_at(data);
	char buf[INET6_ADDRSTRLEN] = "";

	if (!inet_ntop(family == AF_INET6 ? AF_INET6 : AF_INET, (const char *)data + 8, buf,
		       sizeof(buf)))
		return xstrdup("");
	return xstrdup(buf);
}

static char *timestamp_text(struct session *ss, const void *data)
{
	uint64_t id = u64_at(data), ns = u64_at((const char *)data + 8);
	int64_t real = (int64_t)ns + ss->boot_to_real_ns;
	time_t secs = (time_t)(real / 1000000000LL);
	struct tm tm;
	char buf[256];
	const char *fmt = id < ss->s->nfmts ? ss->s->fmts[id].fmt : "%H:%M:%S";

	localtime_r(&secs, &tm);
	if (!strftime(buf, sizeof(buf), fmt, &tm))
		buf[0] = '\0';
	return xstrdup(buf);
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

	switch (t->kind) {
	case TYPE_INT:
		return decode_int(t, data);
	case TYPE_POINTER:
	case TYPE_CGROUP_PATH:
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
	case TYPE_USTACK:
	case TYPE_KSTACK:
		v = val_str_own(decode_stack(ss, t, data, 0));
		v.is_stack = true;
		return v;
	case TYPE_USYM:
		v = val_str_own(usym_name(ss, u64_at(data), (int)u64_at((const char *)data + 8)));
		v.is_sym = true;
		return v;
	case TYPE_KSYM: {
		struct strbuf sb;

		sb_init(&sb);
		if (ksyms_resolve_name(u64_at(data), &sb))
			sb_printf(&sb, "0x%llx", (unsigned long long)u64_at(data));
		v = val_str_own(sb_steal(&sb));
		v.is_sym = true;
		return v;
	}
	case TYPE_INET:
		v = val_str_own(inet_text(data));
		v.is_sym = true;
		return v;
	case TYPE_USERNAME: {
		struct passwd pw, *res = NULL;
		char buf[1024];

		if (getpwuid_r((uid_t)u64_at(data), &pw, buf, sizeof(buf), &res) == 0 && res)
			return val_str(res->pw_name);
		return val_str_own(xasprintf("%llu", (unsigned long long)u64_at(data)));
	}
	case TYPE_PROBE: {
		uint64_t id = u64_at(data);

		return val_str(id < ss->s->nprobe_names ? ss->s->probe_names[id] : "?");
	}
	case TYPE_TIMESTAMP:
		return val_str_own(timestamp_text(ss, data));
	case TYPE_MACADDR: {
		const uint8_t *m = data;

		return val_str_own(xasprintf("%02X:%02X:%02X:%02X:%02X:%02X", m[0], m[1], m[2], m[3],
					     m[4], m[5]));
	}
	default:
		return val_uint(u64_at(data));
	}
}
