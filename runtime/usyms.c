/*
 * usyms.c - user stack symbolization.
 *
 * A stack holds runtime addresses; symbols hold link-time virtual addresses.  The bridge is the
 * process's mapping and the binary's program headers (DESIGN.md, "Uprobe offsets", inverse):
 *
 *	file_off = addr - map.start + map.pgoff
 *	seg      = the PT_LOAD with p_offset <= file_off < p_offset + p_filesz
 *	vaddr    = file_off - seg.p_offset + seg.p_vaddr	-> symbol containing vaddr
 *
 * which is right for PIE, non-PIE, shared libraries and lld's shifted layouts alike (a single
 * "load bias" is not: lld binaries have several).  Stacks are printed after the fact, often when
 * a short-lived process is gone, so usyms_prepare snapshots the maps and OPENS the files at
 * attach time; an open file descriptor outlives the process.  Files are shared between pids by
 * their (device, inode) as the maps report them.
 */
#include "runtime/usyms.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <signal.h>
#include <time.h>

#include "runtime/demangle.h"
#include "runtime/elf.h"
#include "common/util.h"

/* a miss re-reads the maps of a live process (dlopen, exec since the snapshot) at most this
 * often; cheap, as the mapped files stay open */
#define REFRESH_NS 50000000LL
/* processes are forgotten once they exited and went unused this long (usyms_sweep) ... */
#define DEAD_IDLE_NS 2000000000LL
/* ... but the files of the most recent ones stay open, so that their stacks printed later
 * (at the next interval, at END) still symbolize; older ones are closed */
#define KEEP_DEAD_FILES 128

struct usyms_obj {
	char *path;		/* as the maps name it */
	unsigned long long dev;
	unsigned long ino;
	struct elf_file *ef;	/* NULL when it could not be opened */
	int refs;
	bool kept;		/* one of the refs is the dead processes' list (us->kept) */
};

struct usyms_map {
	uint64_t start, end, pgoff;
	struct usyms_obj *obj;
};

struct usyms_proc {
	int pid;
	struct usyms_map *maps;
	size_t nmaps;
	long long refreshed_ns;
	long long used_ns;	/* last lookup */
};

struct usyms {
	struct usyms_proc *procs;
	size_t nprocs, cap_procs;
	struct usyms_obj **objs;
	size_t nobjs, cap_objs;
	struct usyms_obj **kept;	/* files of exited processes, oldest first */
	size_t nkept, cap_kept;
	long long swept_ns;
};

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

struct usyms *usyms_new(void)
{
	return xcalloc(1, sizeof(struct usyms));
}

static void obj_put(struct usyms *us, struct usyms_obj *o)
{
	if (--o->refs > 0)
		return;
	for (size_t i = 0; i < us->nobjs; i++) {
		if (us->objs[i] == o) {
			us->objs[i] = us->objs[--us->nobjs];
			break;
		}
	}
	elf_close(o->ef);
	free(o->path);
	free(o);
}

static void proc_clear(struct usyms *us, struct usyms_proc *p)
{
	for (size_t i = 0; i < p->nmaps; i++)
		obj_put(us, p->maps[i].obj);
	free(p->maps);
	p->maps = NULL;
	p->nmaps = 0;
}

void usyms_free(struct usyms *us)
{
	if (!us)
		return;
	for (size_t i = 0; i < us->nprocs; i++)
		proc_clear(us, &us->procs[i]);
	for (size_t i = 0; i < us->nkept; i++)
		obj_put(us, us->kept[i]);
	us->nkept = 0;
	/* files added with usyms_add_file belong to no process: still here */
	for (size_t i = 0; i < us->nobjs; i++) {
		elf_close(us->objs[i]->ef);
		free(us->objs[i]->path);
		free(us->objs[i]);
	}
	free(us->kept);
	free(us->procs);
	free(us->objs);
	free(us);
}

static struct usyms_proc *proc_find(struct usyms *us, int pid)
{
	for (size_t i = 0; i < us->nprocs; i++) {
		if (us->procs[i].pid == pid)
			return &us->procs[i];
	}
	return NULL;
}

void usyms_evict(struct usyms *us, int pid)
{
	struct usyms_proc *p = proc_find(us, pid);

	if (!p)
		return;
	proc_clear(us, p);
	*p = us->procs[--us->nprocs];
}

static void keep_file(struct usyms *us, struct usyms_obj *o)
{
	if (o->kept) {
		/* already kept: move it to the young end */
		for (size_t i = 0; i < us->nkept; i++) {
			if (us->kept[i] == o) {
				memmove(&us->kept[i], &us->kept[i + 1], (us->nkept - i - 1) * sizeof(*us->kept));
				us->kept[us->nkept - 1] = o;
				return;
			}
		}
	}
	if (us->nkept == KEEP_DEAD_FILES) {
		struct usyms_obj *old = us->kept[0];

		memmove(&us->kept[0], &us->kept[1], (us->nkept - 1) * sizeof(*us->kept));
		us->nkept--;
		old->kept = false;
		obj_put(us, old);
	}
	xgrow((void **)&us->kept, &us->cap_kept, us->nkept + 1, sizeof(*us->kept));
	o->refs++;
	o->kept = true;
	us->kept[us->nkept++] = o;
}

/*
 * Forget the processes that exited and have not been looked up for a while: a trace of a busy
 * machine sees thousands of short-lived processes, and each held its maps and its files open.
 * At most once a second; call it where no string from a lookup is still in use.
 */
void usyms_sweep(struct usyms *us)
{
	long long now = now_ns();

	if (!us || now - us->swept_ns < 1000000000LL)
		return;
	us->swept_ns = now;
	for (size_t i = 0; i < us->nprocs;) {
		struct usyms_proc *p = &us->procs[i];

		if (now - p->used_ns < DEAD_IDLE_NS || kill(p->pid, 0) == 0 || errno != ESRCH) {
			i++;
			continue;
		}
		for (size_t m = 0; m < p->nmaps; m++)
			if (p->maps[m].obj->ef)
				keep_file(us, p->maps[m].obj);
		proc_clear(us, p);
		*p = us->procs[--us->nprocs];
	}
}

/* Is path, as seen from here, the file the process mapped? */
static bool same_file(const char *path, unsigned long ino)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_ino == ino;
}

static struct elf_file *open_mapped(int pid, const char *path, unsigned long ino, uint64_t start,
				    uint64_t end)
{
	struct elf_file *ef = NULL;
	char *alt;

	if (same_file(path, ino) && elf_open(path, &ef) == 0)
		return ef;
	alt = xasprintf("/proc/%d/root%s", pid, path);
	if (same_file(alt, ino) && elf_open(alt, &ef) == 0) {
		free(alt);
		return ef;
	}
	free(alt);
	/* deleted or replaced on disk, or in a namespace we cannot walk: the mapping itself */
	alt = xasprintf("/proc/%d/map_files/%" PRIx64 "-%" PRIx64, pid, start, end);
	if (elf_open(alt, &ef) != 0)
		ef = NULL;
	free(alt);
	return ef;
}

static struct usyms_obj *obj_get(struct usyms *us, int pid, const char *path,
				 unsigned long long dev, unsigned long ino, uint64_t start, uint64_t end)
{
	struct usyms_obj *o;

	for (size_t i = 0; i < us->nobjs; i++) {
		o = us->objs[i];
		if (o->dev == dev && o->ino == ino && strcmp(o->path, path) == 0) {
			o->refs++;
			return o;
		}
	}
	o = xcalloc(1, sizeof(*o));
	o->path = xstrdup(path);
	o->dev = dev;
	o->ino = ino;
	o->refs = 1;
	o->ef = open_mapped(pid, path, ino, start, end);
	xgrow((void **)&us->objs, &us->cap_objs, us->nobjs + 1, sizeof(*us->objs));
	us->objs[us->nobjs++] = o;
	return o;
}

static int proc_load(struct usyms *us, struct usyms_proc *p)
{
	char *mpath = xasprintf("/proc/%d/maps", p->pid), *buf, *save = NULL;
	struct usyms_map *maps = NULL;
	size_t n = 0, cap = 0, len;
	int err;

	err = read_file(mpath, &buf, &len);
	free(mpath);
	if (err)
		return err;
	for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		uint64_t start, end, pgoff;
		unsigned int major, minor;
		unsigned long ino;
		char perms[8], *path, *del;
		int consumed = 0;

		if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %7s %" SCNx64 " %x:%x %lu %n", &start, &end,
			   perms, &pgoff, &major, &minor, &ino, &consumed) < 7 || !consumed)
			continue;
		path = line + consumed;
		if (perms[2] != 'x' || ino == 0 || path[0] != '/')
			continue;
		del = strstr(path, " (deleted)");
		if (del && del[10] == '\0')
			*del = '\0';
		xgrow((void **)&maps, &cap, n + 1, sizeof(*maps));
		maps[n] = (struct usyms_map){ start, end, pgoff, NULL };
		maps[n].obj = obj_get(us, p->pid, path, ((unsigned long long)major << 32) | minor, ino,
				      start, end);
		n++;
	}
	free(buf);
	/* take the new snapshot only now, so files shared with the old one stay open */
	proc_clear(us, p);
	p->maps = maps;
	p->nmaps = n;
	p->refreshed_ns = now_ns();
	return 0;
}

int usyms_prepare(struct usyms *us, int pid)
{
	struct usyms_proc *p = proc_find(us, pid);
	int err;

	if (!p) {
		xgrow((void **)&us->procs, &us->cap_procs, us->nprocs + 1, sizeof(*us->procs));
		p = &us->procs[us->nprocs++];
		*p = (struct usyms_proc){ .pid = pid, .used_ns = now_ns() };
	}
	err = proc_load(us, p);
	/* a process that cannot be read stays known (empty), so lookups do not retry forever */
	p->refreshed_ns = now_ns();
	return err;
}

static struct usyms_map *map_find(struct usyms_proc *p, uint64_t addr)
{
	size_t lo = 0, hi = p->nmaps;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (addr < p->maps[mid].start)
			hi = mid;
		else if (addr >= p->maps[mid].end)
			lo = mid + 1;
		else
			return &p->maps[mid];
	}
	return NULL;
}

/* The mapping of addr and the link-time vaddr it corresponds to. */
static int resolve_vaddr(struct usyms *us, int pid, uint64_t addr, struct usyms_map **mp,
			 uint64_t *vaddr)
{
	struct usyms_proc *p = proc_find(us, pid);
	struct usyms_map *m;

	if (!p) {
		usyms_prepare(us, pid);
		p = proc_find(us, pid);
	}
	p->used_ns = now_ns();
	m = map_find(p, addr);
	if (!m && now_ns() - p->refreshed_ns >= REFRESH_NS) {
		/* maybe mapped after the snapshot (dlopen); only if the process is still there */
		if (usyms_prepare(us, pid) == 0) {
			p = proc_find(us, pid);
			m = map_find(p, addr);
		}
	}
	*mp = m;
	if (!m)
		return -ENOENT;
	if (!m->obj->ef || elf_offset_to_vaddr(m->obj->ef, addr - m->start + m->pgoff, vaddr))
		return -ENOENT;
	return 0;
}

int usyms_mapping(struct usyms *us, int pid, uint64_t addr, struct usym_mapping *out)
{
	struct usyms_map *m;
	uint64_t vaddr;

	resolve_vaddr(us, pid, addr, &m, &vaddr);
	if (!m)
		return -ENOENT;
	out->major = (unsigned int)(m->obj->dev >> 32);
	out->minor = (unsigned int)(m->obj->dev & 0xffffffffu);
	out->ino = m->obj->ino;
	out->start = m->start;
	out->end = m->end;
	out->pgoff = m->pgoff;
	out->path = m->obj->path;
	return 0;
}

int usyms_resolve(struct usyms *us, int pid, uint64_t addr, struct usym_info *out)
{
	struct usyms_map *m;
	struct elf_sym s;
	uint64_t vaddr, delta;
	int err;

	out->sym = NULL;
	out->off = 0;
	out->module = NULL;
	err = resolve_vaddr(us, pid, addr, &m, &vaddr);
	if (m)
		out->module = m->obj->path;
	if (err)
		return err;
	if (elf_sym_at(m->obj->ef, vaddr, &s, &delta))
		return -ENOENT;
	out->sym = s.demangled ? s.demangled : s.name;
	out->off = delta;
	return 0;
}

int usyms_format_frame(struct usyms *us, int pid, uint64_t addr, enum usyms_mode mode,
		       struct strbuf *out)
{
	struct usym_frame f = { .pid = pid, .addr = addr };

	return usyms_format(us, &f, mode, out);
}

static struct usyms_obj *find_file(struct usyms *us, unsigned long long dev, unsigned long ino)
{
	for (size_t i = 0; i < us->nobjs; i++)
		if (us->objs[i]->dev == dev && us->objs[i]->ino == ino && us->objs[i]->ef)
			return us->objs[i];
	return NULL;
}

struct inl_list {
	struct elf_inline *v;
	size_t n, cap;
};

static int inl_collect(const struct elf_inline *in, void *ctx)
{
	struct inl_list *l = ctx;

	xgrow((void **)&l->v, &l->cap, l->n + 1, sizeof(*l->v));
	l->v[l->n] = *in;
	l->v[l->n].name = in->name ? xstrdup(in->name) : NULL;
	l->n++;
	return 0;
}

/* " (file:line)" for the source layout */
static void put_line(struct strbuf *out, const char *file, int line)
{
	if (file && line > 0)
		sb_printf(out, " (%s:%d)", file, line);
}

int usyms_format(struct usyms *us, const struct usym_frame *f, enum usyms_mode mode,
		 struct strbuf *out)
{
	struct usyms_obj *o = NULL;
	struct usyms_map *m;
	struct inl_list inl = { 0 };
	struct elf_sym sym;
	uint64_t vaddr = 0, look, delta;
	char *file = NULL;
	int line = 0, err = -ENOENT;
	size_t i;

	if (f->ino) {
		unsigned long long dev = (unsigned long long)f->major << 32 | f->minor;

		o = find_file(us, dev, f->ino);
		if (!o && f->path) {
			/* held for the rest of the session, like usyms_add_file */
			o = obj_get(us, 0, f->path, dev, f->ino, 0, 0);
			if (!o->ef)
				o = NULL;
		}
		if (!o && f->pid > 0 && usyms_prepare(us, f->pid) == 0) {
			/* a file the snapshot does not have: the snapshot predates it (exec, dlopen) */
			o = find_file(us, dev, f->ino);
		}
		if (o && elf_offset_to_vaddr(o->ef, f->file_off, &vaddr))
			o = NULL;
	}
	if (!o && resolve_vaddr(us, f->pid, f->addr, &m, &vaddr) == 0)
		o = m->obj;
	if (!o || elf_sym_at(o->ef, vaddr, &sym, &delta)) {
		if (mode == USYMS_PERF)
			sb_printf(out, "\t%" PRIx64 " 0x%" PRIx64 " (%s)", f->addr, f->addr,
				  o ? o->path : "[unknown]");
		else
			sb_printf(out, "0x%" PRIx64, f->addr);
		return -ENOENT;
	}
	/* a return address: its call, the instruction before, is what the source says */
	look = f->caller && vaddr ? vaddr - 1 : vaddr;
	if (f->inlines)
		elf_inlines_at(o->ef, look, inl_collect, &inl);
	for (i = 0; i < inl.n; i++) {
		if (!inl.v[i].name) {
			/* the function's own place: the call of the outermost inlined function */
			file = inl.v[i].file ? xstrdup(inl.v[i].file) : NULL;
			line = inl.v[i].line;
			continue;
		}
		if (mode == USYMS_PERF)
			sb_printf(out, "\t%" PRIx64 " %s (inlined)", f->addr, inl.v[i].name);
		else
			sb_printf(out, "%s (inlined)", inl.v[i].name);
		if (mode == USYMS_SOURCE)
			put_line(out, inl.v[i].file, inl.v[i].line);
		sb_printf(out, "\n%*s", mode == USYMS_PERF ? 0 : f->indent, "");
		free(inl.v[i].name);
	}
	free(inl.v);
	if (mode == USYMS_PERF)
		sb_printf(out, "\t%" PRIx64 " ", f->addr);
	sb_printf(out, "%s+%" PRIu64, sym.demangled ? sym.demangled : sym.name, delta);
	if (mode == USYMS_PERF)
		sb_printf(out, " (%s)", o->path);
	if (mode == USYMS_SOURCE) {
		if (!file)
			elf_addr_to_line(o->ef, look, &file, &line);
		put_line(out, file, line);
	}
	free(file);
	err = 0;
	return err;
}

int usyms_add_file(struct usyms *us, const char *path)
{
	struct stat st;

	if (stat(path, &st))
		return -errno;
	/* held with one reference forever: not tied to any process snapshot */
	obj_get(us, 0, path, (unsigned long long)st.st_dev, (unsigned long)st.st_ino, 0, 0);
	return 0;
}

