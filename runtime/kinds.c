/*
 * kinds.c - the value kinds with their own printed form: one row each (name, size, how printf
 * takes it, how its text is laid out, and its text from the bytes a program reported), and
 * the text hooks of the kinds resolved in user space (symbols, addresses, user names,
 * timestamps, cgroup paths; stacks are symbolized in decode.c).
 *
 * A builtin in src/builtins/ makes a value of one of these with kind_type(TYPE_*); decode.c
 * calls the row's text hook, the compiler (common/types.c, printf's checks) reads the rest.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* name_to_handle_at */
#endif
#include "runtime/kinds.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/util.h"
#include "runtime/ksyms.h"
#include "runtime/session.h"
#include "runtime/usyms.h"

static uint64_t u64_at(const void *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static char *stack_text(struct session *ss, const struct type *t, const void *data)
{
	return decode_stack(ss, t, data, 0);
}

/* printf("%s", ustack): a leading newline, frames indented by 8 */
static char *stack_printf_text(struct session *ss, const struct type *t, const void *data)
{
	char *frames = decode_stack(ss, t, data, 8), *s = xasprintf("\n%s", frames);

	free(frames);
	return s;
}

/* An address no symbol holds, as bpftrace writes it (a C++ stream's showbase: 0 is "0"). */
static char *unresolved(uint64_t addr)
{
	return addr ? xasprintf("0x%llx", (unsigned long long)addr) : xstrdup("0");
}

static char *usym_text(struct session *ss, const struct type *t, const void *data)
{
	uint64_t addr = u64_at(data);
	int pid = (int)u64_at((const char *)data + 8);
	struct usym_info info;

	if (usyms_resolve(ss->usyms, pid, addr, &info) == 0 && info.sym)
		return xstrdup(info.sym);
	return unresolved(addr);
}

static char *ksym_text(struct session *ss, const struct type *t, const void *data)
{
	struct strbuf sb;

	sb_init(&sb);
	if (ksyms_resolve_name(u64_at(data), &sb)) {
		sb_free(&sb);
		return unresolved(u64_at(data));
	}
	return sb_steal(&sb);
}

static char *inet_text(struct session *ss, const struct type *t, const void *data)
{
	uint64_t family = u64_at(data);
	char buf[INET6_ADDRSTRLEN] = "";

	if (!inet_ntop(family == AF_INET6 ? AF_INET6 : AF_INET, (const char *)data + 8, buf,
		       sizeof(buf)))
		return xstrdup("");
	return xstrdup(buf);
}

static char *username_text(struct session *ss, const struct type *t, const void *data)
{
	struct passwd pw, *res = NULL;
	char buf[1024];

	if (getpwuid_r((uid_t)u64_at(data), &pw, buf, sizeof(buf), &res) == 0 && res)
		return xstrdup(res->pw_name);
	return xasprintf("%llu", (unsigned long long)u64_at(data));
}

static char *probe_text(struct session *ss, const struct type *t, const void *data)
{
	uint64_t id = u64_at(data);

	return xstrdup(id < ss->cs->nprobe_names ? ss->cs->probe_names[id] : "?");
}

static char *timestamp_text(struct session *ss, const struct type *t, const void *data)
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

static char *macaddr_text(struct session *ss, const struct type *t, const void *data)
{
	const uint8_t *m = data;

	return xasprintf("%02X:%02X:%02X:%02X:%02X:%02X", m[0], m[1], m[2], m[3], m[4], m[5]);
}

static char *cgroup_path_text(struct session *ss, const struct type *t, const void *data)
{
	uint64_t fid = u64_at((const char *)data + 8);

	return cgroup_paths(u64_at(data), fid < ss->cs->nfmts ? ss->cs->fmts[fid].fmt : "*");
}

static char *errno_text(struct session *ss, const struct type *t, const void *data)
{
	return xstrdup(strerror((int)u64_at(data)));
}

/* Indexed by kind; the layout of each kind's bytes is in common/types.h. */
static const struct value_kind kinds[] = {
	[TYPE_USTACK] = { .name = "ustack", .size = 24, .form = FORM_STACK,
			  .text = stack_text, .printf_text = stack_printf_text },
	[TYPE_KSTACK] = { .name = "kstack", .size = 8, .scalar = true, .form = FORM_STACK,
			  .text = stack_text, .printf_text = stack_printf_text },
	[TYPE_USYM] = { .name = "usym", .size = 16, .form = FORM_SYM, .text = usym_text },
	[TYPE_KSYM] = { .name = "ksym", .size = 8, .scalar = true, .printf_int = true,
			.form = FORM_SYM, .text = ksym_text },
	[TYPE_INET] = { .name = "inet", .size = 24, .form = FORM_SYM, .text = inet_text },
	[TYPE_USERNAME] = { .name = "username", .size = 8, .scalar = true, .printf_int = true,
			    .text = username_text },
	[TYPE_PROBE] = { .name = "probe", .size = 8, .scalar = true, .printf_int = true,
			 .text = probe_text },
	[TYPE_TIMESTAMP] = { .name = "timestamp", .size = 16, .text = timestamp_text },
	[TYPE_MACADDR] = { .name = "mac_address", .size = 8, .text = macaddr_text },
	[TYPE_CGROUP_PATH] = { .name = "cgroup_path", .size = 16, .text = cgroup_path_text },
	[TYPE_ERRNO] = { .name = "strerror", .size = 8, .scalar = true, .text = errno_text },
};

const struct value_kind *kind_find(enum type_kind kind)
{
	if ((size_t)kind >= ARRAY_SIZE(kinds) || !kinds[kind].name)
		return NULL;
	return &kinds[kind];
}

struct type *kind_type(enum type_kind kind)
{
	const struct value_kind *vk = kind_find(kind);
	struct type *t;

	if (!vk)
		abort();	/* a builtin asked for a kind without a row: a bug in sonde */
	t = type_new(kind);
	t->size = vk->size;
	t->vk = vk;
	return t;
}
