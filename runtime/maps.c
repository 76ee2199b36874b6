/*
 * maps.c - read a script's maps from the kernel: per-CPU values reduced, hist/lhist buckets
 * regrouped under their keys, keys and values decoded, then printed by the output layer.
 */
#include "runtime/session.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>

#include "common/util.h"
#include "runtime/unwind.h"

static enum mapv_kind mapv(const struct type *t)
{
	switch (t->kind) {
	case TYPE_COUNT: return MAPV_COUNT;
	case TYPE_SUM: return MAPV_SUM;
	case TYPE_MIN: return MAPV_MIN;
	case TYPE_MAX: return MAPV_MAX;
	case TYPE_AVG: return MAPV_AVG;
	case TYPE_STATS: return MAPV_STATS;
	case TYPE_HIST: return MAPV_HIST;
	case TYPE_LHIST: return MAPV_LHIST;
	default: return MAPV_PLAIN;
	}
}

static struct val decode_key(struct session *ss, const struct map_info *mi, const char *key)
{
	struct val v = val_tuple(mi->nkeys);
	uint32_t i;

	if (mi->nkeys == 1)
		v.tuple.elems[0] = decode_value(ss, mi->key, key);
	else
		for (i = 0; i < mi->nkeys; i++)
			v.tuple.elems[i] = decode_value(ss, mi->key->fields[i], key + mi->key->offsets[i]);
	return v;
}

/* Reduce per-CPU copies into one value (16 bytes: value/total and set/count). */
static void reduce(const struct map_info *mi, const char *vals, int ncpus, uint32_t vsize,
		   int64_t out[2])
{
	bool is_signed = mi->value->is_signed;
	int c;

	out[0] = out[1] = 0;
	for (c = 0; c < ncpus; c++) {
		int64_t a, b = 0;

		memcpy(&a, vals + (size_t)c * vsize, 8);
		if (vsize >= 16)
			memcpy(&b, vals + (size_t)c * vsize + 8, 8);
		switch (mi->value->kind) {
		case TYPE_MIN:
		case TYPE_MAX:
			if (!b)
				break;
			if (!out[1] || (mi->value->kind == TYPE_MIN ?
					(is_signed ? a < out[0] : (uint64_t)a < (uint64_t)out[0]) :
					(is_signed ? a > out[0] : (uint64_t)a > (uint64_t)out[0])))
				out[0] = a;
			out[1] = 1;
			break;
		default:
			out[0] += a;
			out[1] += b;
			break;
		}
	}
}

static bool has_ustack(const struct type *t)
{
	if (t && t->kind == TYPE_TUPLE)
		for (uint32_t i = 0; i < t->nfields; i++)
			if (has_ustack(t->fields[i]))
				return true;
	return t && t->kind == TYPE_USTACK;
}

/* Give every user stack in a map key the key of the whole stack (runtime/unwind.c). */
static void canonical_stacks(struct session *ss, const struct type *t, char *key)
{
	uint64_t k, pid;
	uint32_t i;

	if (!t)
		return;
	if (t->kind == TYPE_USTACK) {
		memcpy(&k, key, 8);
		memcpy(&pid, key + 8, 8);
		k = unwind_canonical_key(ss->unwind, k, (int)pid);
		memcpy(key, &k, 8);
	} else if (t->kind == TYPE_TUPLE) {
		for (i = 0; i < t->nfields; i++)
			canonical_stacks(ss, t->fields[i], key + t->offsets[i]);
	}
}

/*
 * The entries of a snapshot by key bytes.  Hist buckets of one key are separate kernel keys,
 * and an iteration restarted by a concurrent delete repeats keys: each needs its entry found,
 * in O(1) (a linear search made printing 100k keys take minutes).
 */
struct key_index {
	char **keys;		/* per entry: its key bytes */
	size_t *slots;		/* entry index + 1; 0 is free */
	size_t nslots;
	size_t ksize;
};

static uint64_t hash_bytes(const char *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;	/* FNV-1a */

	while (n--) {
		h ^= (unsigned char)*p++;
		h *= 0x100000001b3ULL;
	}
	return h;
}

static size_t *slot_of(struct key_index *ix, const char *key)
{
	size_t i = hash_bytes(key, ix->ksize) & (ix->nslots - 1);

	while (ix->slots[i] && memcmp(ix->keys[ix->slots[i] - 1], key, ix->ksize))
		i = (i + 1) & (ix->nslots - 1);
	return &ix->slots[i];
}

static struct map_entry *find_entry(struct map_snapshot *snap, size_t *cap, const char *key,
				    struct key_index *ix)
{
	size_t *slot, i;

	if (2 * (snap->n + 1) > ix->nslots) {
		free(ix->slots);
		ix->nslots = ix->nslots ? 2 * ix->nslots : 64;
		ix->slots = xcalloc(ix->nslots, sizeof(*ix->slots));
		for (i = 0; i < snap->n; i++)
			*slot_of(ix, ix->keys[i]) = i + 1;
	}
	slot = slot_of(ix, key);
	if (*slot)
		return &snap->entries[*slot - 1];
	if (snap->n + 1 > *cap) {
		/* the keys grow with the entries, not at every insert (a realloc to the same
		 * size copies the array under ASan: quadratic in the map's size) */
		xgrow((void **)&snap->entries, cap, snap->n + 1, sizeof(*snap->entries));
		ix->keys = xrealloc(ix->keys, *cap * sizeof(*ix->keys));
	}
	ix->keys[snap->n] = xmalloc(ix->ksize ? ix->ksize : 1);
	memcpy(ix->keys[snap->n], key, ix->ksize);
	*slot = snap->n + 1;
	return &snap->entries[snap->n++];
}

/*
 * Every entry of a map, read in one pass over its buckets.  Stepping with get_next_key is not
 * enough while probes run: a key that a probe deletes under the cursor restarts the walk from
 * the first key, and a clear that deletes while probes insert (`@[comm] = count()` counts the
 * deleting syscalls themselves) never ends.  Batch lookups walk buckets, not keys, so they end
 * after one pass whatever the probes do; keys inserted meanwhile are seen or not, as in
 * bpftrace.  Kernels or maps without batch operations fall back to get_next_key, bounded by
 * the map's size.  With del, every entry read is deleted (the clear).
 */
struct map_dump {
	char *keys, *vals;	/* n keys of ksize bytes, n values of vstride bytes */
	size_t n, alloc;
};

/* Room for need entries in both arrays. */
static void dump_reserve(struct map_dump *d, size_t need, uint32_t ksize, size_t vstride)
{
	if (need <= d->alloc)
		return;
	d->alloc = need * 2;
	d->keys = xrealloc(d->keys, d->alloc * ksize);
	d->vals = xrealloc(d->vals, d->alloc * vstride);
}

static uint32_t map_capacity(int fd)
{
	struct bpf_map_info info = { 0 };
	uint32_t len = sizeof(info);

	if (bpf_obj_get_info_by_fd(fd, &info, &len) || !info.max_entries)
		return 1u << 20;
	return info.max_entries;
}

static void dump_map(int fd, uint32_t ksize, size_t vstride, bool del, struct map_dump *d)
{
	uint32_t cap = map_capacity(fd), chunk = cap < 4096 ? cap : 4096;
	char batch[16], token[16];
	bool first = true;
	char *cur, *next;
	size_t steps;

	memset(d, 0, sizeof(*d));
	for (;;) {
		LIBBPF_OPTS(bpf_map_batch_opts, opts);
		uint32_t count = chunk;
		int err;

		dump_reserve(d, d->n + chunk, ksize, vstride);
		err = (del ? bpf_map_lookup_and_delete_batch : bpf_map_lookup_batch)(fd,
			first ? NULL : token, batch, d->keys + d->n * ksize, d->vals + d->n * vstride,
			&count, &opts) ? -errno : 0;
		if (err && err != -ENOENT && err != -ENOSPC) {
			if (first && d->n == 0)
				break;		/* no batch operations here: step by key */
			return;
		}
		if (err == -ENOSPC && count == 0) {
			chunk *= 2;		/* one bucket holds more than a chunk */
			continue;
		}
		d->n += count;
		if (err == -ENOENT)
			return;
		memcpy(token, batch, sizeof(token));
		first = false;
	}

	/* get_next_key, at most as many steps as the map has room for */
	cur = xcalloc(1, ksize);
	next = xcalloc(1, ksize);
	for (steps = 0; steps < cap && bpf_map_get_next_key(fd, steps ? cur : NULL, next) == 0; steps++) {
		dump_reserve(d, d->n + 1, ksize, vstride);
		memcpy(cur, next, ksize);
		if (bpf_map_lookup_elem(fd, cur, d->vals + d->n * vstride))
			continue;
		memcpy(d->keys + d->n * ksize, cur, ksize);
		d->n++;
	}
	if (del)
		for (steps = 0; steps < d->n; steps++)
			bpf_map_delete_elem(fd, d->keys + steps * ksize);
	free(cur);
	free(next);
}

static void dump_free(struct map_dump *d)
{
	free(d->keys);
	free(d->vals);
}

static int snapshot(struct session *ss, const struct map_info *mi, struct map_snapshot *snap)
{
	int fd = ss->map_fds[mi->id];
	uint32_t ksize = ss->cs->maps[mi->id].key_size, vsize = ss->cs->maps[mi->id].value_size;
	bool bucketed = mi->value->kind == TYPE_HIST || mi->value->kind == TYPE_LHIST;
	uint32_t user_ksize = bucketed ? (mi->key ? mi->key->size : 0) : ksize;
	int ncopies = mi->percpu ? ss->ncpus : 1;
	char *ckey = xcalloc(1, ksize);
	struct map_dump dump;
	struct key_index ix = { .ksize = user_ksize };
	bool stacks = ss->unwind && has_ustack(mi->key);
	size_t cap = 0, i, d;
	size_t nbuckets = mi->value->kind == TYPE_HIST ? 66 :
			  (size_t)((mi->lhist_max - mi->lhist_min) / (mi->lhist_step ? mi->lhist_step : 1)) + 2;

	memset(snap, 0, sizeof(*snap));
	snap->name = mi->name;
	snap->kind = mapv(mi->value);
	snap->lhist_min = mi->lhist_min;
	snap->lhist_max = mi->lhist_max;
	snap->lhist_step = mi->lhist_step;
	dump_map(fd, ksize, (size_t)ncopies * vsize, false, &dump);
	for (d = 0; d < dump.n; d++) {
		struct map_entry *e;
		int64_t r[2] = { 0, 0 };
		size_t n0;
		bool merged;
		const char *key = dump.keys + d * ksize, *vals = dump.vals + d * (size_t)ncopies * vsize;

		memcpy(ckey, key, ksize);
		if (ss->unwind)
			canonical_stacks(ss, mi->key, ckey);
		n0 = snap->n;
		e = find_entry(snap, &cap, ckey, &ix);
		/* equal stacks taken apart (see canonical_stacks) add up; elsewhere a key the
		 * iteration repeats is the same entry read again */
		merged = snap->n == n0 && stacks;
		if (mi->percpu)
			reduce(mi, vals, ncopies, vsize, r);
		if (bucketed) {
			uint64_t b;

			memcpy(&b, key + user_ksize, 8);
			if (!e->buckets) {
				e->nbuckets = nbuckets;
				e->buckets = xcalloc(nbuckets, sizeof(*e->buckets));
			}
			if (b < e->nbuckets)
				e->buckets[b] += (uint64_t)r[0];
			continue;
		}
		/* a key seen before (equal stacks taken apart, see canonical_stacks) adds up */
		switch (mi->value->kind) {
		case TYPE_COUNT:
		case TYPE_SUM:
			if (merged)
				r[0] += mi->value->is_signed ? e->value.i : (int64_t)e->value.u;
			e->value = mi->value->is_signed ? val_int(r[0]) : val_uint((uint64_t)r[0]);
			break;
		case TYPE_MIN:
		case TYPE_MAX:
			if (merged && (mi->value->kind == TYPE_MIN) ==
			    (mi->value->is_signed ? e->value.i < r[0] : e->value.u < (uint64_t)r[0]))
				break;
			e->value = mi->value->is_signed ? val_int(r[0]) : val_uint((uint64_t)r[0]);
			break;
		case TYPE_AVG:
		case TYPE_STATS:
			e->total = (merged ? e->total : 0) + r[0];
			e->count = (merged ? e->count : 0) + (uint64_t)r[1];
			e->value = val_int(e->count ? e->total / (int64_t)e->count : 0);
			break;
		default:
			e->value = decode_value(ss, mi->value, vals);
			break;
		}
	}
	if (!snap->n && !mi->nkeys && mi->value->kind == TYPE_COUNT) {
		/* bpftrace 0.17 prints a cleared or deleted scalar count() map as "@: 0" */
		struct map_entry *e;

		memset(ckey, 0, ksize);
		e = find_entry(snap, &cap, ckey, &ix);
		e->value = val_uint(0);
	}
	for (i = 0; i < snap->n; i++) {
		snap->entries[i].key = mi->nkeys ? decode_key(ss, mi, ix.keys[i]) : val_tuple(0);
		free(ix.keys[i]);
	}
	free(ix.keys);
	free(ix.slots);
	free(ckey);
	dump_free(&dump);
	return 0;
}

static void snapshot_free(struct map_snapshot *snap)
{
	size_t i;

	for (i = 0; i < snap->n; i++) {
		val_free(&snap->entries[i].key);
		val_free(&snap->entries[i].value);
		free(snap->entries[i].buckets);
	}
	free(snap->entries);
}

int maps_print(struct session *ss, const struct map_info *mi, uint64_t top, uint64_t div)
{
	struct map_snapshot snap;

	if (ss->map_fds[mi->id] < 0)
		return -ENOENT;
	snapshot(ss, mi, &snap);
	output_map(ss->out, &snap, top, div);
	snapshot_free(&snap);
	return 0;
}

static int cmp_maps(const void *a, const void *b)
{
	const struct map_info *const *x = a, *const *y = b;

	return strcmp((*x)->name, (*y)->name);
}

int maps_print_all(struct session *ss)
{
	const struct compiled_script *cs = ss->cs;
	const struct map_info **sorted = xcalloc(cs->nmaps ? cs->nmaps : 1, sizeof(*sorted));
	size_t i;

	for (i = 0; i < cs->nmaps; i++)
		sorted[i] = cs->maps[i].info;
	qsort(sorted, cs->nmaps, sizeof(*sorted), cmp_maps);
	for (i = 0; i < cs->nmaps; i++)
		maps_print(ss, sorted[i], 0, 0);
	free(sorted);
	return 0;
}

int maps_clear(struct session *ss, const struct map_info *mi)
{
	uint32_t ksize = ss->cs->maps[mi->id].key_size;
	size_t vstride = (size_t)(mi->percpu ? ss->ncpus : 1) * ss->cs->maps[mi->id].value_size;
	struct map_dump d;

	dump_map(ss->map_fds[mi->id], ksize, vstride, true, &d);
	dump_free(&d);
	return 0;
}

int maps_zero(struct session *ss, const struct map_info *mi)
{
	uint32_t ksize = ss->cs->maps[mi->id].key_size;
	size_t vstride = (size_t)(mi->percpu ? ss->ncpus : 1) * ss->cs->maps[mi->id].value_size;
	int fd = ss->map_fds[mi->id];
	struct map_dump d;
	size_t i;

	dump_map(fd, ksize, vstride, false, &d);
	memset(d.vals, 0, vstride);
	for (i = 0; i < d.n; i++)
		bpf_map_update_elem(fd, d.keys + i * ksize, d.vals, BPF_EXIST);
	dump_free(&d);
	return 0;
}

/* A script map refused a new key (its BPF side reports the first time only). */
void maps_report_full(struct session *ss, const struct map_info *mi)
{
	uint32_t n = mi->max_entries ? mi->max_entries : ss->cs->map_keys_max;

	diag_warn(NULL, "map %s is full (%u keys): updates with new keys are dropped; size it "
		  "with `let %s = hash(N);`, `config = { max_map_keys = N; }` or "
		  "BPFTRACE_MAP_KEYS_MAX, or declare it lruhash(N) to evict old keys", mi->name, n,
		  mi->name);
}

/* The decoded entries of a map for other consumers than printing (flame graphs). */
int maps_snapshot(struct session *ss, const struct map_info *mi, struct map_snapshot *snap)
{
	if (ss->map_fds[mi->id] < 0)
		return -ENOENT;
	return snapshot(ss, mi, snap);
}

void maps_snapshot_free(struct map_snapshot *snap)
{
	snapshot_free(snap);
}
