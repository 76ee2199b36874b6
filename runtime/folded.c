/*
 * folded.c - the maps keyed by stacks, at exit, as folded stacks for flamegraph.c.
 *
 * Frames come from the decoded map keys (decode_stack, leaf first, one frame a line), so
 * they are symbolized exactly as the text output prints them.  In a folded line the root
 * comes first: the other key parts (comm, pid, ...) in key order, then user frames from
 * _start to the leaf, then kernel frames (the kernel runs on top of the user stack).  With
 * several such maps, each line starts with the map's name.
 */
#include "flamegraph.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/types.h"
#include "common/util.h"
#include "runtime/output.h"
#include "runtime/session.h"

static bool is_stack(const struct type *t)
{
	return t && (t->kind == TYPE_USTACK || t->kind == TYPE_KSTACK);
}

bool flame_map_eligible(const struct map_info *mi)
{
	uint32_t i;

	if (!mi->value || (mi->value->kind != TYPE_COUNT && mi->value->kind != TYPE_SUM &&
			   mi->value->kind != TYPE_INT))
		return false;
	for (i = 0; i < mi->nkeys && mi->key_parts; i++)
		if (is_stack(mi->key_parts[i]))
			return true;
	return false;
}

static void add_frame(struct strbuf *sb, const char *name)
{
	const char *p;

	if (!*name)
		return;
	if (sb->len)
		sb_putc(sb, ';');
	for (p = name; *p; p++)
		sb_putc(sb, *p == ';' ? ':' : *p);
}

/* A stack's text (leaf first, a frame a line) appended root first. */
static void add_stack(struct strbuf *sb, const char *text)
{
	char **lines = NULL;
	size_t n = 0, cap = 0;
	const char *p = text;

	while (p && *p) {
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) : strlen(p);

		xgrow((void **)&lines, &cap, n + 1, sizeof(*lines));
		lines[n++] = xstrndup(p, len);
		p = eol ? eol + 1 : NULL;
	}
	while (n--) {
		char *name = flame_frame_name(lines[n]);

		add_frame(sb, name);
		free(name);
		free(lines[n]);
	}
	free(lines);
}

static void add_key_part(struct strbuf *sb, const struct val *v)
{
	char *s;

	switch (v->kind) {
	case VAL_INT: s = xasprintf("%lld", (long long)v->i); break;
	case VAL_UINT: s = xasprintf("%llu", (unsigned long long)v->u); break;
	case VAL_STR: s = xstrdup(v->s); break;
	default: return;
	}
	add_frame(sb, s);
	free(s);
}

static uint64_t entry_count(const struct map_entry *e)
{
	if (e->value.kind == VAL_INT)
		return e->value.i > 0 ? (uint64_t)e->value.i : 0;
	if (e->value.kind == VAL_UINT)
		return e->value.u;
	return 0;
}

static void collect_map(struct session *ss, const struct map_info *mi, bool prefix,
			struct flame_set *fs)
{
	struct map_snapshot snap;
	size_t i, j;

	if (maps_snapshot(ss, mi, &snap))
		return;
	for (i = 0; i < snap.n; i++) {
		const struct map_entry *e = &snap.entries[i];
		uint64_t count = entry_count(e);
		struct strbuf sb;
		int pass;

		if (!count)
			continue;
		sb_init(&sb);
		if (prefix)
			add_frame(&sb, mi->name);
		/* pass 0: plain key parts, 1: user stacks, 2: kernel stacks */
		for (pass = 0; pass < 3; pass++)
			for (j = 0; j < e->key.tuple.n && j < mi->nkeys; j++) {
				const struct type *t = mi->key_parts[j];
				int want = !is_stack(t) ? 0 : t->kind == TYPE_USTACK ? 1 : 2;

				if (want != pass)
					continue;
				if (pass == 0)
					add_key_part(&sb, &e->key.tuple.elems[j]);
				else if (e->key.tuple.elems[j].kind == VAL_STR)
					add_stack(&sb, e->key.tuple.elems[j].s);
			}
		if (!sb.len || (prefix && !strchr(sb.buf, ';')))
			add_frame(&sb, "[unknown]");
		flame_add(fs, sb.buf, count);
		sb_free(&sb);
	}
	maps_snapshot_free(&snap);
}

int flame_collect(struct session *ss, struct flame_set *fs)
{
	size_t i;
	int n = 0;

	for (i = 0; i < ss->cs->nmaps; i++)
		n += flame_map_eligible(ss->cs->maps[i].info);
	for (i = 0; i < ss->cs->nmaps; i++)
		if (flame_map_eligible(ss->cs->maps[i].info))
			collect_map(ss, ss->cs->maps[i].info, n > 1, fs);
	flame_sort(fs);
	return n;
}
