/*
 * unwind.c - the user-space half of user stacks: unwind tables in, stacks out.
 *
 * The BPF walker (bpf/ustack.bpf.c) looks each frame's file up in sonde_uw_files by the
 * (device, inode) of its mapping and binary-searches that file's rows in sonde_uw_rows.  This
 * module fills both.  Before load it compiles the tables it can foresee (cfi.c): the probed
 * binaries, libc and the loader, the -p process's files and, when whole stacks are the
 * default, the files every running process maps, so that the first events already unwind
 * completely; their total sizes the rows array.  After load the array is mmap'ed and filled in
 * place.  A file the walker meets later is requested on sonde_uw_req; its table is built when
 * the request is read (the stacks taken meanwhile fall back to frame pointers in that file).
 *
 * Stacks come back from sonde_uw_stacks as frames of (inode, device, file offset, address), so
 * they symbolize through the file whether or not the process still exists.
 *
 * The rows array has a fixed size.  When a new table does not fit, the tables of files no
 * process maps any more are reclaimed (reclaim()): a machine that keeps starting new binaries
 * keeps unwinding them, instead of falling back to frame pointers once the spare rows are used.
 */
#include "runtime/unwind.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "runtime/cfi.h"
#include "runtime/libpath.h"
#include "runtime/usyms.h"
#include "common/diag.h"
#include "common/util.h"

/* rows kept free for files met after start (16 bytes each); SONDE_UNWIND_SPARE_ROWS */
#define SPARE_ROWS (1u << 20)
/* a failed reclaim is not retried for so long: scanning every process's maps is not free */
#define RECLAIM_INTERVAL_NS 1000000000LL
/* how long a BPF walker that read a file's entry before it was deleted may still read rows */
#define WALKER_GRACE_US 10000
/* time spent compiling the tables of every running process, at most */
#define SCAN_BUDGET_NS 1500000000LL

struct table {
	struct ustk_file_key key;
	char *path;
	struct ustk_row *rows;
	size_t n;
	bool pinned;		/* a probed binary, libc, the loader: never reclaimed */
};

/* A file's entry in sonde_uw_files, as published: its rows (len 0: none, NOCFI). */
struct pub {
	struct ustk_file_key key;
	uint32_t start, len;
	bool pinned;
};

/* Free rows [start, start + len) of the array, sorted by start, never adjacent. */
struct extent {
	uint32_t start, len;
};

struct done {
	uint64_t key;		/* as the walker stored the unfinished stack */
	uint64_t canonical;	/* the key the walker gives the whole stack */
	struct ustk_stack *st;
};

struct unwind {
	struct table *tables;	/* compiled before load, inserted after */
	size_t ntables, cap;
	size_t nrows;		/* rows used */
	uint32_t max_rows;
	struct ustk_row *rows;	/* the mmap'ed sonde_uw_rows */
	size_t rows_len;
	int rows_fd, files_fd, stacks_fd, req_fd, tails_fd;
	struct usyms *usyms;
	struct table *names;	/* files known by path only: rows unused */
	size_t nnames, capnames;
	struct done *done;	/* stacks whose walk was finished here */
	size_t ndone, capdone;
	struct pub *pubs;	/* every file published in sonde_uw_files */
	size_t npubs, cappubs;
	struct extent *holes;	/* rows freed by reclaim() */
	size_t nholes, capholes;
	long long last_reclaim;
	struct ring_buffer *req_rb;	/* sonde_uw_req, read on its own (unwind_stack) */
	uint64_t requests, built, failed, reclaimed;
};

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static unsigned int kernel_dev(unsigned int major, unsigned int minor)
{
	return major << 20 | minor;
}

/* A mapped file known by path only (no table compiled), for symbolizing its frames. */
static bool have_name(struct unwind *uw, const struct ustk_file_key *k)
{
	for (size_t i = 0; i < uw->nnames; i++)
		if (uw->names[i].key.ino == k->ino && uw->names[i].key.dev == k->dev)
			return true;
	return false;
}

static void add_name(struct unwind *uw, const struct ustk_file_key *k, const char *path)
{
	xgrow((void **)&uw->names, &uw->capnames, uw->nnames + 1, sizeof(*uw->names));
	uw->names[uw->nnames].key = *k;
	uw->names[uw->nnames].path = xstrdup(path);
	uw->nnames++;
}

static bool have_table(struct unwind *uw, const struct ustk_file_key *k)
{
	for (size_t i = 0; i < uw->ntables; i++)
		if (uw->tables[i].key.ino == k->ino && uw->tables[i].key.dev == k->dev)
			return true;
	return false;
}

/* Compile the table of the file at path, known to the kernel as key. */
static void add_table(struct unwind *uw, const char *path, const struct ustk_file_key *k,
		      bool pinned)
{
	struct table *t;
	struct ustk_row *rows;
	size_t n;

	if (have_table(uw, k) || cfi_load(path, &rows, &n) || !n)
		return;
	xgrow((void **)&uw->tables, &uw->cap, uw->ntables + 1, sizeof(*uw->tables));
	t = &uw->tables[uw->ntables++];
	t->key = *k;
	t->path = xstrdup(path);
	t->rows = rows;
	t->n = n;
	t->pinned = pinned;
	uw->nrows += n;
	diag_verbose("unwind table: %s, %zu rows\n", path, n);
}

static void add_path(struct unwind *uw, const char *path)
{
	struct ustk_file_key k = { 0 };
	struct stat st;

	if (stat(path, &st) || !S_ISREG(st.st_mode))
		return;
	k.ino = st.st_ino;
	k.dev = kernel_dev(major(st.st_dev), minor(st.st_dev));
	add_table(uw, path, &k, true);
}

static void add_library(struct unwind *uw, const char *name, int pid)
{
	char *path;

	if (libpath_resolve(name, pid, &path) == 0) {
		add_path(uw, path);
		free(path);
	}
}

/*
 * One line of /proc/PID/maps: true for an executable mapping of a file, with the file's key,
 * the mapping's range and *path at its path (the rest of the line).
 */
static bool exec_mapping(char *line, struct ustk_file_key *k, uint64_t *start, uint64_t *end,
			 char **path)
{
	uint64_t pgoff;
	unsigned int maj, min;
	unsigned long ino;
	char perms[8];
	int consumed = 0;

	if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %7s %" SCNx64 " %x:%x %lu %n", start, end,
		   perms, &pgoff, &maj, &min, &ino, &consumed) < 7 || !consumed)
		return false;
	if (perms[2] != 'x' || !ino)
		return false;
	memset(k, 0, sizeof(*k));
	k->ino = ino;
	k->dev = kernel_dev(maj, min);
	*path = line + consumed;
	return true;
}

/* The executable file mappings of pid, each compiled once (by the maps' own device and inode). */
static void add_process(struct unwind *uw, int pid, long long deadline, bool compile)
{
	char *mpath = xasprintf("/proc/%d/maps", pid), *buf, *save = NULL, *line;
	size_t len;

	if (read_file(mpath, &buf, &len)) {
		free(mpath);
		return;
	}
	free(mpath);
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		uint64_t start, end;
		struct ustk_file_key k;
		struct stat st;
		char *file, *mapped;

		if (deadline && now_ns() > deadline)
			break;
		if (!exec_mapping(line, &k, &start, &end, &mapped) || *mapped != '/')
			continue;
		if (have_table(uw, &k) || have_name(uw, &k))
			continue;
		/* the path as mapped when it is still that file, else the mapping itself */
		if (stat(mapped, &st) == 0 && st.st_ino == k.ino)
			file = xstrdup(mapped);
		else
			file = xasprintf("/proc/%d/map_files/%" PRIx64 "-%" PRIx64, pid, start, end);
		if (compile)
			add_table(uw, file, &k, false);
		if (!have_table(uw, &k))
			add_name(uw, &k, file);
		free(file);
	}
	free(buf);
}

static void add_all_processes(struct unwind *uw, bool compile)
{
	long long deadline = now_ns() + SCAN_BUDGET_NS;
	DIR *d = opendir("/proc");
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d)) && now_ns() < deadline) {
		int pid = atoi(e->d_name);

		if (pid > 0 && pid != getpid())
			add_process(uw, pid, deadline, compile);
	}
	closedir(d);
}

static size_t spare_rows(bool dwarf)
{
	const char *e = getenv("SONDE_UNWIND_SPARE_ROWS");
	char *end;
	unsigned long long v;

	if (e && *e) {
		errno = 0;
		v = strtoull(e, &end, 10);
		if (!errno && !*end && v <= UINT32_MAX / 2)
			return (size_t)v;
		diag_warn(NULL, "SONDE_UNWIND_SPARE_ROWS=%s is not a number of rows; using the "
			  "default", e);
	}
	return dwarf ? SPARE_ROWS : SPARE_ROWS / 16;
}

int unwind_open(struct unwind **out, struct bpf_object *obj, const struct unwind_opts *o)
{
	struct bpf_map *rows = bpf_object__find_map_by_name(obj, USTK_MAP_ROWS);
	struct bpf_map *stacks = bpf_object__find_map_by_name(obj, USTK_MAP_STACKS);
	struct unwind *uw;
	size_t total;

	*out = NULL;
	if (!rows)
		return 0;	/* the script takes no user stacks */
	uw = xcalloc(1, sizeof(*uw));
	uw->rows_fd = uw->files_fd = uw->stacks_fd = uw->req_fd = uw->tails_fd = -1;
	uw->usyms = o->usyms;
	for (size_t i = 0; i < o->npaths; i++)
		add_path(uw, o->paths[i]);
	/* nearly every stack passes through these */
	add_library(uw, "libc.so.6", o->pid);
	if (o->dwarf) {
		add_library(uw, "ld-linux-x86-64.so.2", o->pid);
		if (o->pid)
			add_process(uw, o->pid, 0, true);
		else
			add_all_processes(uw, true);
	} else {
		/* no tables, but the files every process maps, by path: their frames symbolize
		 * even when the process exits before its stacks are printed */
		add_all_processes(uw, false);
	}
	total = uw->nrows + spare_rows(o->dwarf);
	if (total > UINT32_MAX / 2)
		total = UINT32_MAX / 2;
	uw->max_rows = (uint32_t)total;
	bpf_map__set_max_entries(rows, uw->max_rows);
	if (stacks && o->max_stacks)
		bpf_map__set_max_entries(stacks, o->max_stacks);
	*out = uw;
	return 0;
}

/* Rows [start, start + n) are free: claim them (a reclaimed hole first), or -ENOSPC. */
static int claim_rows(struct unwind *uw, size_t n, uint32_t *start)
{
	for (size_t i = 0; i < uw->nholes; i++) {
		struct extent *h = &uw->holes[i];

		if (h->len < n)
			continue;
		*start = h->start;
		h->start += (uint32_t)n;
		h->len -= (uint32_t)n;
		if (!h->len)
			memmove(h, h + 1, (uw->nholes-- - i - 1) * sizeof(*h));
		return 0;
	}
	if (uw->nrows + n > uw->max_rows)
		return -ENOSPC;
	*start = (uint32_t)uw->nrows;
	uw->nrows += n;
	return 0;
}

/* Rows [start, start + len) are free again: a hole, merged with its neighbours. */
static void free_rows(struct unwind *uw, uint32_t start, uint32_t len)
{
	size_t i = 0;

	while (i < uw->nholes && uw->holes[i].start < start)
		i++;
	if (i > 0 && uw->holes[i - 1].start + uw->holes[i - 1].len == start) {
		uw->holes[i - 1].len += len;
		if (i < uw->nholes && start + len == uw->holes[i].start) {
			uw->holes[i - 1].len += uw->holes[i].len;
			memmove(&uw->holes[i], &uw->holes[i + 1],
				(uw->nholes-- - i - 1) * sizeof(*uw->holes));
		}
		return;
	}
	if (i < uw->nholes && start + len == uw->holes[i].start) {
		uw->holes[i].start = start;
		uw->holes[i].len += len;
		return;
	}
	xgrow((void **)&uw->holes, &uw->capholes, uw->nholes + 1, sizeof(*uw->holes));
	memmove(&uw->holes[i + 1], &uw->holes[i], (uw->nholes - i) * sizeof(*uw->holes));
	uw->holes[i] = (struct extent){ start, len };
	uw->nholes++;
}

static int cmp_key(const void *a, const void *b)
{
	const struct ustk_file_key *x = a, *y = b;

	if (x->dev != y->dev)
		return x->dev < y->dev ? -1 : 1;
	return x->ino < y->ino ? -1 : x->ino > y->ino;
}

/* The (device, inode) of every executable file some process maps now, sorted. */
static struct ustk_file_key *mapped_files(size_t *n)
{
	struct ustk_file_key *v = NULL;
	size_t cap = 0;
	DIR *d = opendir("/proc");
	struct dirent *e;

	*n = 0;
	while (d && (e = readdir(d))) {
		char *mpath, *buf, *save = NULL, *line;
		size_t len;

		if (atoi(e->d_name) <= 0)
			continue;
		mpath = xasprintf("/proc/%s/maps", e->d_name);
		if (read_file(mpath, &buf, &len)) {
			free(mpath);
			continue;	/* gone meanwhile */
		}
		free(mpath);
		for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
			struct ustk_file_key k;
			uint64_t start, end;
			char *path;

			if (!exec_mapping(line, &k, &start, &end, &path))
				continue;
			xgrow((void **)&v, &cap, *n + 1, sizeof(*v));
			v[(*n)++] = k;
		}
		free(buf);
	}
	if (d)
		closedir(d);
	if (*n)
		qsort(v, *n, sizeof(*v), cmp_key);
	return v;
}

/*
 * The rows of files no process maps any more go back to the array: their entries leave
 * sonde_uw_files first (a walker meeting such a file again asks for its table anew), and a
 * walker that read an entry just before has a moment to finish before its rows are reused.
 * A stack whose walk sonde finishes later still finds its table (table_of builds it again).
 */
static size_t reclaim(struct unwind *uw)
{
	long long now = now_ns();
	struct ustk_file_key *live;
	size_t nlive, i, rows = 0, files = 0;

	if (uw->last_reclaim && now - uw->last_reclaim < RECLAIM_INTERVAL_NS)
		return 0;
	live = mapped_files(&nlive);
	for (i = 0; i < uw->npubs;) {
		struct pub *p = &uw->pubs[i];

		if (p->pinned || (nlive && bsearch(&p->key, live, nlive, sizeof(*live), cmp_key))) {
			i++;
			continue;
		}
		bpf_map_delete_elem(uw->files_fd, &p->key);
		if (p->len)
			free_rows(uw, p->start, p->len);
		rows += p->len;
		files++;
		*p = uw->pubs[--uw->npubs];
	}
	free(live);
	/* nothing to take back: every table is in use, and the next ones wait a while */
	uw->last_reclaim = rows ? 0 : now;
	if (rows)
		usleep(WALKER_GRACE_US);
	uw->reclaimed += files;
	if (files)
		diag_verbose("unwind tables: %zu rows of %zu files no process maps reclaimed\n",
			     rows, files);
	return rows;
}

/* The published entry of file k, or a new one. */
static struct pub *pub_of(struct unwind *uw, const struct ustk_file_key *k)
{
	for (size_t i = 0; i < uw->npubs; i++)
		if (!cmp_key(&uw->pubs[i].key, k))
			return &uw->pubs[i];
	xgrow((void **)&uw->pubs, &uw->cappubs, uw->npubs + 1, sizeof(*uw->pubs));
	memset(&uw->pubs[uw->npubs], 0, sizeof(*uw->pubs));
	uw->pubs[uw->npubs].key = *k;
	return &uw->pubs[uw->npubs++];
}

static int publish(struct unwind *uw, const struct ustk_file_key *k, const struct ustk_row *rows,
		   size_t n, bool pinned)
{
	struct ustk_file f = { .state = USTK_FILE_NOCFI };
	struct pub *p = pub_of(uw, k);
	uint32_t start;
	int err;

	if (p->len) {
		/* published before (a table built twice): its old rows are free */
		free_rows(uw, p->start, p->len);
		p->len = 0;
	}
	p->pinned = pinned;
	err = n ? claim_rows(uw, n, &start) : -ENOSPC;
	if (err && n && reclaim(uw)) {
		p = pub_of(uw, k);	/* reclaim() moved the entries */
		err = claim_rows(uw, n, &start);
	}
	if (!err) {
		memcpy(uw->rows + start, rows, n * sizeof(*rows));
		f.state = USTK_FILE_READY;
		f.start = start;
		f.len = (uint32_t)n;
		p->start = start;
		p->len = (uint32_t)n;
	}
	/* the rows are in place before the walker can see the entry that points to them */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (bpf_map_update_elem(uw->files_fd, k, &f, BPF_ANY))
		return -errno;
	return f.state == USTK_FILE_READY ? 0 : -ENOSPC;
}

int unwind_loaded(struct unwind *uw, struct bpf_object *obj)
{
	size_t i;
	int err;

	if (!uw)
		return 0;
	uw->rows_fd = bpf_object__find_map_fd_by_name(obj, USTK_MAP_ROWS);
	uw->files_fd = bpf_object__find_map_fd_by_name(obj, USTK_MAP_FILES);
	uw->stacks_fd = bpf_object__find_map_fd_by_name(obj, USTK_MAP_STACKS);
	uw->req_fd = bpf_object__find_map_fd_by_name(obj, USTK_MAP_REQ);
	uw->tails_fd = bpf_object__find_map_fd_by_name(obj, USTK_MAP_TAILS);
	if (uw->tails_fd < 0 || uw->rows_fd < 0 || uw->files_fd < 0 || uw->stacks_fd < 0 || uw->req_fd < 0) {
		diag_error(NULL, "internal error: the stack walker's maps are missing");
		return -ENOENT;
	}
	uw->rows_len = (size_t)uw->max_rows * sizeof(struct ustk_row);
	uw->rows = mmap(NULL, uw->rows_len, PROT_READ | PROT_WRITE, MAP_SHARED, uw->rows_fd, 0);
	if (uw->rows == MAP_FAILED) {
		err = -errno;
		uw->rows = NULL;
		diag_error(NULL, "failed to map the unwind tables: %s", strerror(-err));
		return err;
	}
	/* the tables compiled before load go in now */
	uw->nrows = 0;
	for (i = 0; i < uw->ntables; i++) {
		struct table *t = &uw->tables[i];

		publish(uw, &t->key, t->rows, t->n, t->pinned);
		free(t->rows);
		t->rows = NULL;
	}
	return 0;
}

static int on_request(void *ctx, void *data, size_t size)
{
	struct unwind *uw = ctx;
	const struct ustk_req *rq = data;
	struct ustk_file_key k = { 0 };
	struct ustk_row *rows = NULL;
	size_t n = 0;
	char *path;

	if (size < sizeof(*rq))
		return 0;
	uw->requests++;
	k.ino = rq->ino;
	k.dev = rq->dev;
	path = xasprintf("/proc/%u/map_files/%llx-%llx", rq->pid, (unsigned long long)rq->start,
			 (unsigned long long)rq->end);
	/* the process's files, opened now, symbolize its stacks after it exits */
	if (uw->usyms)
		usyms_prepare(uw->usyms, (int)rq->pid);
	if (cfi_load(path, &rows, &n) == 0 && publish(uw, &k, rows, n, false) == 0) {
		uw->built++;
		diag_verbose("unwind table: %s, %zu rows (requested)\n", path, n);
	} else if (kill((pid_t)rq->pid, 0) && errno == ESRCH) {
		/* the process is gone, and its mapping with it (a short-lived one, read late):
		 * the next process mapping that file asks again */
		bpf_map_delete_elem(uw->files_fd, &k);
		uw->failed++;
	} else {
		/* no CFI: the walker keeps using frame pointers there */
		publish(uw, &k, NULL, 0, false);
		uw->failed++;
	}
	free(rows);
	free(path);
	return 0;
}

int unwind_add_ring(struct unwind *uw, struct ring_buffer *rb)
{
	if (!uw)
		return 0;
	if (ring_buffer__add(rb, uw->req_fd, on_request, uw)) {
		diag_error(NULL, "failed to open the unwind request ring: %s", strerror(errno));
		return -errno;
	}
	/* the same ring once more, read before a stack is finished (unwind_stack) */
	uw->req_rb = ring_buffer__new(uw->req_fd, on_request, uw, NULL);
	return 0;
}

/* The table of a file, built now when the walker's request has not been served yet. */
static const struct ustk_file *table_of(struct unwind *uw, const struct ustk_file_key *k,
					const char *path, struct ustk_file *f)
{
	struct ustk_row *rows;
	size_t n;

	if (bpf_map_lookup_elem(uw->files_fd, k, f) == 0 && f->state != USTK_FILE_PENDING)
		return f->state == USTK_FILE_READY ? f : NULL;
	if (cfi_load(path, &rows, &n) == 0) {
		publish(uw, k, rows, n, false);
		free(rows);
	} else {
		publish(uw, k, NULL, 0, false);
	}
	if (bpf_map_lookup_elem(uw->files_fd, k, f) == 0 && f->state == USTK_FILE_READY)
		return f;
	return NULL;
}

/* The row covering off in a published table (the same search as the walker's). */
static const struct ustk_row *row_at(struct unwind *uw, const struct ustk_file *f, uint64_t off)
{
	size_t lo = f->start, hi = (size_t)f->start + f->len;

	if (!f->len || hi > uw->max_rows || uw->rows[lo].pc > off)
		return NULL;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (uw->rows[mid].pc <= off)
			lo = mid;
		else
			hi = mid;
	}
	return &uw->rows[lo];
}

static bool tail_read(const struct ustk_tail *t, uint64_t addr, uint64_t *v)
{
	if (addr < t->base || addr - t->base + 8 > t->len)
		return false;
	memcpy(v, t->data + (addr - t->base), 8);
	return true;
}

/*
 * Go on with a walk that the BPF walker stopped at a file without a table: the same steps, on
 * the stack memory it kept, with the process's mappings as usyms knows them.
 */
static void finish_walk(struct unwind *uw, int pid, struct ustk_stack *st,
			const struct ustk_tail *t)
{
	uint64_t ip = t->ip, sp = t->sp, bp = t->bp;
	uint32_t rets = 0;
	uint32_t limit = st->limit && st->limit < USTK_MAX_FRAMES ? st->limit : USTK_MAX_FRAMES;

	while (st->nr && st->nr < limit) {
		struct usym_mapping m;
		struct ustk_file_key k = { 0 };
		struct ustk_file fbuf;
		const struct ustk_file *f;
		const struct ustk_row *r = NULL;
		struct ustk_frame *fr;
		uint64_t off, cfa, ra;
		char *path;

		if (usyms_mapping(uw->usyms, pid, ip, &m))
			break;
		off = ip - m.start + m.pgoff;
		k.ino = m.ino;
		k.dev = kernel_dev(m.major, m.minor);
		path = xasprintf("/proc/%d/map_files/%" PRIx64 "-%" PRIx64, pid, m.start, m.end);
		if (access(path, R_OK)) {
			free(path);
			path = xstrdup(m.path);
		}
		f = table_of(uw, &k, path, &fbuf);
		free(path);
		if (f)
			r = row_at(uw, f, st->nr > 1 ? off - 1 : off);
		if (r && r->cfa_reg == USTK_CFA_END)
			break;
		if (r && r->cfa_reg <= USTK_CFA_PLT) {
			cfa = r->cfa_reg == USTK_CFA_RSP ? sp + (int64_t)r->cfa_off :
			      r->cfa_reg == USTK_CFA_RBP ? bp + (int64_t)r->cfa_off :
			      sp + 8 + ((ip & 15) >= 11 ? 8 : 0);
			if (r->rbp_rule == USTK_RBP_AT && !tail_read(t, cfa + (int64_t)r->rbp_off, &bp))
				break;
			if (!tail_read(t, cfa - 8, &ra))
				break;
			sp = cfa;
		} else {
			uint64_t nbp;

			if (!bp || bp < sp || !tail_read(t, bp + 8, &ra) || !tail_read(t, bp, &nbp))
				break;
			sp = bp + 16;
			bp = nbp;
		}
		ip = ra;
		/* a pending uretprobe's trampoline: the return address the kernel keeps for it */
		if (t->tramp && ip == t->tramp)
			ip = rets < t->nrets && rets < USTK_TAIL_RETS ? t->rets[rets++] : 0;
		if (!ip || usyms_mapping(uw->usyms, pid, ip, &m))
			break;	/* not code: the end of the stack, or stack data */
		fr = &st->f[st->nr++];
		fr->ip = ip;
		fr->off = ip - m.start + m.pgoff;
		fr->ino = m.ino;
		fr->dev = kernel_dev(m.major, m.minor);
		fr->pad = 0;
	}
	st->flags &= ~USTK_STACK_TAIL;
}

/* The key the walker computes for these frames (bpf/ustack.bpf.c, USTK_HASH_*). */
static uint64_t stack_hash(const struct ustk_stack *st)
{
	uint64_t h = USTK_HASH_SEED;

	for (uint32_t i = 0; i < st->nr; i++) {
		h = (h ^ (st->f[i].ino ? st->f[i].off : st->f[i].ip)) * USTK_HASH_MUL;
		h = (h ^ st->f[i].ino) * USTK_HASH_MUL;
	}
	h = (h ^ st->nr) * USTK_HASH_MUL;
	return h ? h : 1;
}

static const struct done *find_done(struct unwind *uw, uint64_t key)
{
	for (size_t i = 0; i < uw->ndone; i++)
		if (uw->done[i].key == key)
			return &uw->done[i];
	return NULL;
}

int unwind_stack(struct unwind *uw, uint64_t key, int pid, struct ustk_stack *out)
{
	const struct done *d;
	struct ustk_tail *t;
	struct done *nd;

	if (!uw || uw->stacks_fd < 0 || !key)
		return -ENOENT;
	/*
	 * The walker's requests first: a stack's event can be read before the request that the
	 * same walk made, and by the time that one is read, a short-lived process is gone with
	 * the file its table comes from.
	 */
	if (uw->req_rb)
		ring_buffer__consume(uw->req_rb);
	d = find_done(uw, key);
	if (d) {
		*out = *d->st;
		return 0;
	}
	if (bpf_map_lookup_elem(uw->stacks_fd, &key, out))
		return -errno;
	if (out->nr > USTK_MAX_FRAMES)
		out->nr = USTK_MAX_FRAMES;
	if (!(out->flags & USTK_STACK_TAIL))
		return 0;
	t = xmalloc(sizeof(*t));
	if (bpf_map_lookup_elem(uw->tails_fd, &key, t) == 0) {
		finish_walk(uw, pid, out, t);
		/* kept here from now on: the kernel's copy of the stack memory can go */
		xgrow((void **)&uw->done, &uw->capdone, uw->ndone + 1, sizeof(*uw->done));
		nd = &uw->done[uw->ndone++];
		nd->key = key;
		nd->canonical = stack_hash(out);
		nd->st = xmalloc(sizeof(*out));
		*nd->st = *out;
		bpf_map_delete_elem(uw->tails_fd, &key);
		/* and found under the key the walker gives the same stack once it has the table */
		bpf_map_update_elem(uw->stacks_fd, &nd->canonical, out, BPF_NOEXIST);
	}
	free(t);
	return 0;
}

uint64_t unwind_canonical_key(struct unwind *uw, uint64_t key, int pid)
{
	struct ustk_stack *st;
	const struct done *d;

	if (!uw || !key)
		return key;
	d = find_done(uw, key);
	if (!d) {
		st = xmalloc(sizeof(*st));
		unwind_stack(uw, key, pid, st);
		free(st);
		d = find_done(uw, key);
	}
	return d ? d->canonical : key;
}

const char *unwind_file_path(struct unwind *uw, const struct ustk_frame *f)
{
	for (size_t i = 0; uw && i < uw->ntables; i++)
		if (uw->tables[i].key.ino == f->ino && uw->tables[i].key.dev == f->dev)
			return uw->tables[i].path;
	for (size_t i = 0; uw && i < uw->nnames; i++)
		if (uw->names[i].key.ino == f->ino && uw->names[i].key.dev == f->dev)
			return uw->names[i].path;
	return NULL;
}

void unwind_close(struct unwind *uw)
{
	if (!uw)
		return;
	if (uw->rows)
		munmap(uw->rows, uw->rows_len);
	for (size_t i = 0; i < uw->ntables; i++) {
		free(uw->tables[i].path);
		free(uw->tables[i].rows);
	}
	free(uw->tables);
	for (size_t i = 0; i < uw->nnames; i++)
		free(uw->names[i].path);
	free(uw->names);
	for (size_t i = 0; i < uw->ndone; i++)
		free(uw->done[i].st);
	free(uw->done);
	free(uw->pubs);
	free(uw->holes);
	if (uw->req_rb)
		ring_buffer__free(uw->req_rb);
	free(uw);
}
