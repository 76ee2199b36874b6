/*
 * decode.c - what a BPF program reported (bytes laid out as a sonde type) into values the
 * output layer prints: integers by size and sign, strings, tuples, and the special kinds
 * resolved in user space (stacks, symbols, addresses, user names, timestamps).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* name_to_handle_at */
#endif
#include "runtime/session.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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
	const char *fmt = id < ss->cs->nfmts ? ss->cs->fmts[id].fmt : "%H:%M:%S";

	char *with_us = NULL;

	localtime_r(&secs, &tm);
	if (strstr(fmt, "%f")) {
		/* bpftrace's %f: microseconds of the same timestamp, six digits */
		struct strbuf sb;
		const char *p;

		sb_init(&sb);
		for (p = fmt; *p; p++) {
			if (p[0] == '%' && p[1] == '%') {
				sb_puts(&sb, "%%");
				p++;
			} else if (p[0] == '%' && p[1] == 'f') {
				sb_printf(&sb, "%06lld", (long long)((real % 1000000000LL) / 1000));
				p++;
			} else {
				sb_putc(&sb, *p);
			}
		}
		fmt = with_us = sb_steal(&sb);
	}
	if (!strftime(buf, sizeof(buf), fmt, &tm))
		buf[0] = '\0';
	free(with_us);
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

/*
 * bpftrace 0.17's cgroup_path(): for each cgroup file system in /proc/mounts, the path of the
 * directory whose cgroup id (its kernfs file handle) is id, as "name:/path" joined by ","
 * with "unified" (cgroup2) first and the v1 hierarchies, named by their mount directory, in
 * name order.
 */
static bool cgroup_find(const char *dir, uint64_t id, struct strbuf *path, size_t root_len)
{
	struct {
		struct file_handle fh;
		uint64_t id;
	} h;
	int mount_id;
	struct dirent *de;
	bool found = false;
	DIR *d;

	h.fh.handle_bytes = sizeof(h.id);
	if (name_to_handle_at(AT_FDCWD, dir, &h.fh, &mount_id, 0) == 0 &&
	    h.fh.handle_bytes == 8 && h.id == id) {
		sb_puts(path, dir[root_len] ? dir + root_len : "/");
		return true;
	}
	d = opendir(dir);
	if (!d)
		return false;
	while (!found && (de = readdir(d))) {
		char *sub;

		if (de->d_type != DT_DIR || !strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		sub = xasprintf("%s/%s", dir, de->d_name);
		found = cgroup_find(sub, id, path, root_len);
		free(sub);
	}
	closedir(d);
	return found;
}

struct cgroup_root {
	char *name, *path;
};

static int cgroup_root_cmp(const void *a, const void *b)
{
	const struct cgroup_root *x = a, *y = b;

	if (!strcmp(x->name, "unified"))
		return strcmp(y->name, "unified") ? -1 : 0;
	if (!strcmp(y->name, "unified"))
		return 1;
	return strcmp(x->name, y->name);
}

static char *cgroup_paths(uint64_t id, const char *filter)
{
	struct cgroup_root *roots = NULL;
	size_t n = 0, cap = 0, i;
	char dev[256], dir[4096], fstype[64];
	struct strbuf sb;
	FILE *f = fopen("/proc/mounts", "r");

	sb_init(&sb);
	sb_puts(&sb, "");
	while (f && fscanf(f, "%255s %4095s %63s %*[^\n]", dev, dir, fstype) == 3) {
		const char *base = strrchr(dir, '/');

		if (strcmp(fstype, "cgroup") && strcmp(fstype, "cgroup2"))
			continue;
		xgrow((void **)&roots, &cap, n + 1, sizeof(*roots));
		roots[n].name = xstrdup(!strcmp(fstype, "cgroup2") ? "unified" : base ? base + 1 : dir);
		roots[n].path = xstrdup(dir);
		n++;
	}
	if (f)
		fclose(f);
	qsort(roots, n, sizeof(*roots), cgroup_root_cmp);
	for (i = 0; i < n; i++) {
		struct strbuf path;

		sb_init(&path);
		if (fnmatch(filter, roots[i].name, 0) == 0 &&
		    cgroup_find(roots[i].path, id, &path, strlen(roots[i].path))) {
			if (sb.len)
				sb_putc(&sb, ',');
			sb_printf(&sb, "%s:%s", roots[i].name, path.buf);
		}
		sb_free(&path);
		free(roots[i].name);
		free(roots[i].path);
	}
	free(roots);
	return sb_steal(&sb);
}

struct val decode_value(struct session *ss, const struct type *t, const void *data)
{
	struct val v;
	uint32_t i;

	switch (t->kind) {
	case TYPE_INT:
		return decode_int(t, data);
	case TYPE_POINTER:
		return val_uint(u64_at(data));
	case TYPE_CGROUP_PATH: {
		uint64_t fid = u64_at((const char *)data + 8);

		return val_str_own(cgroup_paths(u64_at(data),
						fid < ss->cs->nfmts ? ss->cs->fmts[fid].fmt : "*"));
	}
	case TYPE_ERRNO:
		return val_str(strerror((int)u64_at(data)));
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

		return val_str(id < ss->cs->nprobe_names ? ss->cs->probe_names[id] : "?");
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
