/* probe.c - the table of probe types and what they share: attach point splitting, targets. */
#include "probe.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "runtime/dwarf_types.h"
#include "runtime/elf.h"
#include "runtime/libpath.h"
#include "util.h"

int probe_pid;
bool probe_uprobe_multi;
bool probe_dry_run;
const char *probe_cmd;
int probe_child_pid;

static const struct probe_ops *const probe_types[] = {
	&probe_begin, &probe_end, &probe_tracepoint, &probe_uprobe, &probe_uretprobe,
	&probe_usdt, &probe_interval, &probe_profile, &probe_software, &probe_hardware,
	&probe_kprobe, &probe_kretprobe, &probe_watchpoint, &probe_asyncwatchpoint,
};

const struct probe_ops *probe_ops_find(const char *name)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(probe_types); i++) {
		const struct probe_ops *o = probe_types[i];

		if (strcmp(o->name, name) == 0 || (o->alias && strcmp(o->alias, name) == 0) ||
		    (o->alias2 && strcmp(o->alias2, name) == 0))
			return o;
	}
	return NULL;
}

int probe_split(const char *text, char **parts, int max)
{
	const char *p = text, *start = text;
	bool quoted = false;
	int n = 0;

	for (;; p++) {
		if (*p == '"') {
			quoted = !quoted;
			continue;
		}
		if ((*p == ':' && !quoted && n < max - 1) || *p == '\0') {
			struct strbuf sb;
			const char *q;

			sb_init(&sb);
			for (q = start; q < p; q++)
				if (*q != '"')
					sb_putc(&sb, *q);
			parts[n++] = sb_steal(&sb);
			if (!*p)
				break;
			start = p + 1;
		}
	}
	return n;
}

void probe_dwarf_scope(const struct probe *p)
{
	const char **paths = NULL;
	size_t n = 0, cap = 0;

	for (size_t i = 0; i < p->naps; i++) {
		const struct probe_targets *ts = p->aps[i]->priv;

		if (!p->aps[i]->ops || p->aps[i]->ops->as != AS_USER || !ts)
			continue;
		for (size_t k = 0; k < ts->n; k++) {
			size_t j;

			if (!ts->v[k].path)
				continue;
			for (j = 0; j < n && strcmp(paths[j], ts->v[k].path); j++)
				;
			if (j < n)
				continue;
			xgrow((void **)&paths, &cap, n + 1, sizeof(*paths));
			paths[n++] = ts->v[k].path;
		}
	}
	dwarf_types_scope(paths, n);
	free(paths);
}

bool probe_program_uses(const struct program *prog, const struct probe_ops *a,
			const struct probe_ops *b)
{
	size_t i, j;

	for (i = 0; i < prog->nprobes; i++)
		for (j = 0; j < prog->probes[i]->naps; j++) {
			const char *text = prog->probes[i]->aps[j]->text;
			size_t len = strcspn(text, ":");
			char type[64];
			const struct probe_ops *o;

			if (len >= sizeof(type))
				continue;
			memcpy(type, text, len);
			type[len] = '\0';
			o = probe_ops_find(type);
			if (o && (o == a || o == b))
				return true;
		}
	return false;
}

int probe_parse_attach_point(struct attach_point *ap)
{
	char type[64];
	size_t len = strcspn(ap->text, ":");
	const struct probe_ops *ops;

	if (len >= sizeof(type)) {
		diag_error(&ap->loc, "Invalid probe type: %s", ap->text);
		return -EINVAL;
	}
	memcpy(type, ap->text, len);
	type[len] = '\0';
	ops = probe_ops_find(type);
	if (!ops) {
		diag_error(&ap->loc, "Invalid probe type: %s", type);
		return -EINVAL;
	}
	ap->ops = ops;
	ap->provider = xstrdup(ops->name);
	if (ops->data_size)
		ap->data = xcalloc(1, ops->data_size);
	return ops->parse(ap);
}

void probe_targets_add(struct probe_targets *ts, const char *name, const char *path,
		       const char *func, uint64_t offset)
{
	struct probe_target *t;

	xgrow((void **)&ts->v, &ts->cap, ts->n + 1, sizeof(*ts->v));
	t = &ts->v[ts->n++];
	t->name = xstrdup(name);
	t->path = path ? xstrdup(path) : NULL;
	t->func = func ? xstrdup(func) : NULL;
	t->offset = offset;
}

void probe_targets_free(struct probe_targets *ts)
{
	size_t i;

	for (i = 0; i < ts->n; i++) {
		free(ts->v[i].name);
		free(ts->v[i].path);
		free(ts->v[i].func);
		free(ts->v[i].priv);
	}
	free(ts->v);
	free(ts->missing);
	memset(ts, 0, sizeof(*ts));
}

int probe_list_binary(const char *pattern, struct elf_file **ef, char **path, char **glob)
{
	char *parts[5] = { 0 };
	int n, i, err = 1;

	*path = *glob = NULL;
	if (!pattern || !*pattern)
		return 1;
	n = probe_split(pattern, parts, 5);
	if (n < 2 || !*parts[1] || has_wildcard(parts[1]))
		goto out;
	err = libpath_resolve(parts[1], probe_pid, path);
	if (err) {
		diag_error(NULL, "could not find binary or library '%s'", parts[1]);
		goto out;
	}
	err = elf_open(*path, ef);
	if (err) {
		diag_error(NULL, "failed to open %s: %s", *path, strerror(-err));
		free(*path);
		*path = NULL;
		goto out;
	}
	if (n > 2 && *parts[n - 1]) {
		*glob = parts[n - 1];
		parts[n - 1] = NULL;
	}
out:
	for (i = 0; i < n; i++)
		free(parts[i]);
	return err;
}

int probe_list(const char *pattern, bool verbose, FILE *out)
{
	size_t i, len = pattern ? strcspn(pattern, ":") : 0;
	int err = 0;

	/* a type that is no probe type lists nothing: say so rather than print nothing */
	if (pattern && pattern[len] == ':' && len < 64) {
		char type[64];

		memcpy(type, pattern, len);
		type[len] = '\0';
		if (!has_wildcard(type) && !probe_ops_find(type)) {
			diag_error(NULL, "Invalid probe type: %s", type);
			return -EINVAL;
		}
	}

	for (i = 0; i < ARRAY_SIZE(probe_types); i++) {
		const struct probe_ops *o = probe_types[i];
		char type[64];

		if (!o->list)
			continue;
		/* -l -p PID alone: the process's own probes (its binaries' functions), as bpftrace */
		if ((!pattern || !*pattern) && probe_pid && o->as != AS_USER)
			continue;
		if (pattern && *pattern && !strchr(pattern, ':') && o != &probe_tracepoint)
			continue;	/* a bare pattern searches tracepoints, as bpftrace's -l does */
		if (pattern && *pattern && strchr(pattern, ':')) {
			len = strcspn(pattern, ":");
			if (len < sizeof(type)) {
				memcpy(type, pattern, len);
				type[len] = '\0';
				if (!has_wildcard(type) && probe_ops_find(type) != o)
					continue;
				if (has_wildcard(type) && !glob_match(type, o->name))
					continue;
			}
		}
		err = o->list(pattern, verbose, out);
		if (err && err != -ENOENT)
			return err;
	}
	return 0;
}
