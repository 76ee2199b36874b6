/*
 * elf.c - function symbols and uprobe file offsets, on libelf.
 *
 * Why this module exists: the kernel attaches a uprobe at a FILE OFFSET, a symbol holds a
 * VIRTUAL ADDRESS, and the two differ by a per-segment delta that is not the .text section's
 * (lld puts .text at vaddr = offset + 0x1000*k).  The only correct translation is through the
 * program headers of the real binary (DESIGN.md, "Uprobe offsets"):
 *
 *	seg = the PT_LOAD with p_vaddr <= v < p_vaddr + p_filesz
 *	off = v - seg.p_vaddr + seg.p_offset
 *
 * and its inverse for symbolization.  Section headers are never used for offsets.
 *
 * Symbols are loaded lazily on first use (usyms opens many libraries and looks up few of them):
 * .symtab of the binary, or of a separate debug file when the binary is stripped, then .dynsym.
 * All function symbols go to one array; the name view keeps one entry per name (the best
 * binding/version wins), the address view keeps every entry (two static functions may share a
 * name).  Demangled names are computed on demand and cached.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include "runtime/elf.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#ifdef HAVE_LIBDW
#include <dwarf.h>
#include <elfutils/libdw.h>
#endif

#include "runtime/demangle.h"
#include "common/diag.h"
#include "common/util.h"

#ifdef HAVE_LIBDEBUGINFOD
#include <dlfcn.h>
#include <elfutils/debuginfod.h>
#endif

#define DEFAULT_DEBUG_ROOT "/usr/lib/debug"

struct sym_ent {
	char *name;		/* version suffix stripped */
	char *demangled;
	uint64_t vaddr, size;
	unsigned order;		/* position in .symtab then .dynsym: ties keep the first */
	unsigned char prio;	/* 0..3: (not hidden version) * 2 + (not weak) */
	bool dm_done;		/* demangled computed (may be NULL) */
	bool shadowed;		/* another entry owns this name */
};

struct elf_load {
	uint64_t vaddr, offset, filesz;
};

struct elf_file {
	char *path;
	int fd;
	Elf *elf;
	GElf_Ehdr ehdr;
	struct elf_load *loads;
	size_t nloads;
	char *build_id;

	/* separate debug file, when the symbols come from one */
	char *dbg_path;
	int dbg_fd;
	Elf *dbg_elf;

	bool syms_loaded;
	struct sym_ent *syms;
	size_t nsyms;
	struct sym_ent **by_name;	/* unique names, sorted by name */
	size_t nby_name;
	struct sym_ent **by_addr;	/* every entry, sorted by vaddr, best first at equal vaddr */
	size_t nby_addr;
#ifdef HAVE_LIBDW
	Dwarf *dwarf;
	bool dwarf_tried, dwarf_located;
#endif
	struct elf_inlines *inlines;	/* inlines.c's index, built on first use */
};

static char *debug_file;
static char *debug_root;

void elf_set_debug_file(const char *path)
{
	free(debug_file);
	debug_file = path ? xstrdup(path) : NULL;
}

void elf_set_debug_root(const char *dir)
{
	free(debug_root);
	debug_root = dir ? xstrdup(dir) : NULL;
}

static const char *dbg_root(void)
{
	return debug_root ? debug_root : DEFAULT_DEBUG_ROOT;
}

static int open_elf_fd(const char *path, int *fdp, Elf **elfp)
{
	static bool version_set;
	int fd, err;
	Elf *e;

	if (!version_set) {
		if (elf_version(EV_CURRENT) == EV_NONE)
			return -ENOTSUP;
		version_set = true;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	e = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!e) {
		err = -ENOEXEC;
		goto err_close;
	}
	if (elf_kind(e) != ELF_K_ELF) {
		elf_end(e);
		err = -ENOEXEC;
		goto err_close;
	}
	*fdp = fd;
	*elfp = e;
	return 0;
err_close:
	close(fd);
	return err;
}

static Elf_Scn *find_scn(Elf *e, const char *name, GElf_Shdr *shdr_out)
{
	size_t shstrndx;
	Elf_Scn *scn = NULL;
	GElf_Shdr shdr;

	if (elf_getshdrstrndx(e, &shstrndx))
		return NULL;
	while ((scn = elf_nextscn(e, scn))) {
		const char *n;

		if (!gelf_getshdr(scn, &shdr))
			continue;
		n = elf_strptr(e, shstrndx, shdr.sh_name);
		if (n && strcmp(n, name) == 0) {
			if (shdr_out)
				*shdr_out = shdr;
			return scn;
		}
	}
	return NULL;
}

static Elf_Scn *find_scn_type(Elf *e, Elf64_Word type, GElf_Shdr *shdr_out)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(e, scn))) {
		if (gelf_getshdr(scn, shdr_out) && shdr_out->sh_type == type)
			return scn;
	}
	return NULL;
}

static char *read_build_id(Elf *e)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr shdr;

	while ((scn = elf_nextscn(e, scn))) {
		Elf_Data *d;
		GElf_Nhdr nh;
		size_t off = 0, noff, doff, next;

		if (!gelf_getshdr(scn, &shdr) || shdr.sh_type != SHT_NOTE)
			continue;
		d = elf_getdata(scn, NULL);
		if (!d)
			continue;
		while ((next = gelf_getnote(d, off, &nh, &noff, &doff)) > 0) {
			if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 &&
			    memcmp((char *)d->d_buf + noff, "GNU", 4) == 0 && nh.n_descsz > 0) {
				const unsigned char *p = (unsigned char *)d->d_buf + doff;
				char *hex = xmalloc(nh.n_descsz * 2 + 1);

				for (size_t i = 0; i < nh.n_descsz; i++)
					sprintf(hex + 2 * i, "%02x", p[i]);
				return hex;
			}
			off = next;
		}
	}
	return NULL;
}

int elf_open(const char *path, struct elf_file **out)
{
	struct elf_file *ef;
	size_t nph;
	int err;

	ef = xcalloc(1, sizeof(*ef));
	ef->dbg_fd = -1;
	err = open_elf_fd(path, &ef->fd, &ef->elf);
	if (err) {
		free(ef);
		return err;
	}
	ef->path = xstrdup(path);
	if (!gelf_getehdr(ef->elf, &ef->ehdr) || elf_getphdrnum(ef->elf, &nph)) {
		err = -ENOEXEC;
		goto err;
	}
	ef->loads = xcalloc(nph ? nph : 1, sizeof(*ef->loads));
	for (size_t i = 0; i < nph; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(ef->elf, i, &ph) || ph.p_type != PT_LOAD)
			continue;
		ef->loads[ef->nloads++] = (struct elf_load){ ph.p_vaddr, ph.p_offset, ph.p_filesz };
	}
	ef->build_id = read_build_id(ef->elf);
	*out = ef;
	return 0;
err:
	elf_close(ef);
	return err;
}

void elf_close(struct elf_file *ef)
{
	if (!ef)
		return;
	elf_inlines_free(ef->inlines);
	for (size_t i = 0; i < ef->nsyms; i++) {
		free(ef->syms[i].name);
		free(ef->syms[i].demangled);
	}
	free(ef->syms);
	free(ef->by_name);
	free(ef->by_addr);
#ifdef HAVE_LIBDW
	if (ef->dwarf)
		dwarf_end(ef->dwarf);
#endif
	if (ef->dbg_elf)
		elf_end(ef->dbg_elf);
	if (ef->dbg_fd >= 0)
		close(ef->dbg_fd);
	free(ef->dbg_path);
	if (ef->elf)
		elf_end(ef->elf);
	close(ef->fd);
	free(ef->loads);
	free(ef->build_id);
	free(ef->path);
	free(ef);
}

struct elf_inlines **elf_inlines_slot(struct elf_file *ef)
{
	return &ef->inlines;
}

const char *elf_path(struct elf_file *ef)
{
	return ef->path;
}

const char *elf_build_id(struct elf_file *ef)
{
	return ef->build_id;
}

const char *elf_debug_path(struct elf_file *ef)
{
	return ef->dbg_path;
}

bool elf_is_pie_or_dyn(struct elf_file *ef)
{
	return ef->ehdr.e_type == ET_DYN;
}

int elf_vaddr_to_offset(struct elf_file *ef, uint64_t vaddr, uint64_t *off)
{
	for (size_t i = 0; i < ef->nloads; i++) {
		const struct elf_load *l = &ef->loads[i];

		if (vaddr >= l->vaddr && vaddr - l->vaddr < l->filesz) {
			*off = vaddr - l->vaddr + l->offset;
			return 0;
		}
	}
	return -ENOENT;
}

int elf_offset_to_vaddr(struct elf_file *ef, uint64_t off, uint64_t *vaddr)
{
	for (size_t i = 0; i < ef->nloads; i++) {
		const struct elf_load *l = &ef->loads[i];

		if (off >= l->offset && off - l->offset < l->filesz) {
			*vaddr = off - l->offset + l->vaddr;
			return 0;
		}
	}
	return -ENOENT;
}

int elf_section(struct elf_file *ef, const char *name, const void **data, size_t *size, uint64_t *addr)
{
	GElf_Shdr shdr;
	Elf_Scn *scn = find_scn(ef->elf, name, &shdr);
	Elf_Data *d;

	if (!scn || shdr.sh_type == SHT_NOBITS)
		return -ENOENT;
	d = elf_getdata(scn, NULL);
	if (!d || !d->d_buf)
		return -ENOENT;
	*data = d->d_buf;
	*size = d->d_size;
	if (addr)
		*addr = shdr.sh_addr;
	return 0;
}

int elf_read(struct elf_file *ef, uint64_t off, void *buf, size_t len)
{
	ssize_t n = pread(ef->fd, buf, len, (off_t)off);

	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

/* ---- separate debug files ---- */

static bool has_symtab(Elf *e)
{
	GElf_Shdr shdr;

	return find_scn_type(e, SHT_SYMTAB, &shdr) != NULL;
}

/* Adopt path as the debug file if it is an ELF file with a .symtab that passes check(). */
static bool try_debug_file(struct elf_file *ef, const char *path, bool need_build_id, bool check_crc,
			   uint32_t crc)
{
	int fd;
	Elf *e;

	if (access(path, R_OK))
		return false;
	if (open_elf_fd(path, &fd, &e))
		return false;
	if (!has_symtab(e))
		goto reject;
	if (need_build_id) {
		char *bid = read_build_id(e);
		bool same = bid && ef->build_id && strcmp(bid, ef->build_id) == 0;

		free(bid);
		if (!same)
			goto reject;
	}
	if (check_crc) {
		unsigned char buf[65536];
		uLong c = crc32(0L, Z_NULL, 0);
		off_t pos = 0;
		ssize_t n;

		while ((n = pread(fd, buf, sizeof(buf), pos)) > 0) {
			c = crc32(c, buf, (uInt)n);
			pos += n;
		}
		if (n < 0 || (uint32_t)c != crc) {
			diag_verbose("%s: ignoring debug file %s: CRC mismatch\n", ef->path, path);
			goto reject;
		}
	}
	ef->dbg_fd = fd;
	ef->dbg_elf = e;
	ef->dbg_path = xstrdup(path);
	diag_verbose("%s: symbols from debug file %s\n", ef->path, path);
	return true;
reject:
	elf_end(e);
	close(fd);
	return false;
}

static bool find_debuglink(struct elf_file *ef)
{
	const void *data;
	size_t size, nlen;
	const char *name;
	char *dir, *slash, *cand;
	uint32_t crc;
	bool found = false;

	if (elf_section(ef, ".gnu_debuglink", &data, &size, NULL))
		return false;
	name = data;
	nlen = strnlen(name, size);
	if (nlen == 0 || nlen == size || ALIGN_UP(nlen + 1, 4) + 4 > size || strchr(name, '/'))
		return false;
	memcpy(&crc, (const char *)data + ALIGN_UP(nlen + 1, 4), 4);

	/* The binary's directory, made absolute for the global root's mirror of it. */
	if (ef->path[0] == '/') {
		dir = xstrdup(ef->path);
	} else {
		char cwd[PATH_MAX];

		if (!getcwd(cwd, sizeof(cwd)))
			return false;
		dir = xasprintf("%s/%s", cwd, ef->path);
	}
	slash = strrchr(dir, '/');
	*slash = '\0';

	const char *fmts[] = { "%s%s/%s", "%s%s/.debug/%s", "%s%s/%s" };
	for (size_t i = 0; i < ARRAY_SIZE(fmts) && !found; i++) {
		const char *root = i == 2 ? dbg_root() : "";

		cand = xasprintf(fmts[i], root, dir, name);
		if (strcmp(cand, ef->path) != 0)
			found = try_debug_file(ef, cand, false, true, crc);
		free(cand);
	}
	free(dir);
	return found;
}

#ifdef HAVE_LIBDEBUGINFOD
/*
 * libdebuginfod is opened on first use, not linked: it brings libcurl, GnuTLS, Kerberos and
 * LDAP, some thirty libraries whose loading and relocation cost every run ~20-50 ms and 5 MB
 * of resident memory, while only a script whose stacks need a server's debug file uses it.
 */
static struct {
	bool tried;
	debuginfod_client *(*begin)(void);
	int (*find_debuginfo)(debuginfod_client *, const unsigned char *, int, char **);
	void (*end)(debuginfod_client *);
} dfd;

static bool debuginfod_load(void)
{
	void *h;

	if (dfd.tried)
		return dfd.end != NULL;
	dfd.tried = true;
	h = dlopen("libdebuginfod.so.1", RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		diag_verbose("debuginfod: %s\n", dlerror());
		return false;
	}
	*(void **)&dfd.begin = dlsym(h, "debuginfod_begin");
	*(void **)&dfd.find_debuginfo = dlsym(h, "debuginfod_find_debuginfo");
	*(void **)&dfd.end = dlsym(h, "debuginfod_end");
	if (!dfd.begin || !dfd.find_debuginfo || !dfd.end) {
		diag_verbose("debuginfod: libdebuginfod.so.1 lacks debuginfod_begin/find_debuginfo/end\n");
		dfd.end = NULL;
		return false;
	}
	return true;
}
#endif

/*
 * Last resort: a debuginfod server, by build id, only when DEBUGINFOD_URLS names one (the
 * library's own convention; it also caches under $DEBUGINFOD_CACHE_PATH or ~/.cache).
 */
static bool find_debuginfod(struct elf_file *ef)
{
#ifdef HAVE_LIBDEBUGINFOD
	const char *urls = getenv("DEBUGINFOD_URLS");
	debuginfod_client *c;
	char *path = NULL;
	bool found = false;
	int fd;

	if (!urls || !*urls || !ef->build_id || !debuginfod_load())
		return false;
	c = dfd.begin();
	if (!c)
		return false;
	fd = dfd.find_debuginfo(c, (const unsigned char *)ef->build_id, 0, &path);
	if (fd >= 0) {
		close(fd);
		found = try_debug_file(ef, path, true, false, 0);
	} else {
		diag_verbose("%s: no debug file for build id %s from debuginfod: %s\n", ef->path,
			     ef->build_id, strerror(-fd));
	}
	free(path);
	dfd.end(c);
	return found;
#else
	(void)ef;
	return false;
#endif
}

static void find_debug_file(struct elf_file *ef)
{
	if (debug_file) {
		/* The user's file serves the binary it was made for; without a build id to compare,
		 * trust it for a stripped binary. */
		if (try_debug_file(ef, debug_file, ef->build_id != NULL, false, 0))
			return;
	}
	if (ef->build_id && strlen(ef->build_id) > 2) {
		char *p = xasprintf("%s/.build-id/%.2s/%s.debug", dbg_root(), ef->build_id, ef->build_id + 2);
		bool ok = try_debug_file(ef, p, true, false, 0);

		free(p);
		if (ok)
			return;
	}
	if (find_debuglink(ef))
		return;
	find_debuginfod(ef);
}

/* ---- the symbol table ---- */

int elf_object_find(struct elf_file *ef, const char *name, uint64_t *vaddr, uint64_t *size)
{
	static const Elf64_Word types[] = { SHT_SYMTAB, SHT_DYNSYM };

	for (size_t t = 0; t < 2; t++) {
		GElf_Shdr shdr;
		Elf_Scn *scn = find_scn_type(ef->elf, types[t], &shdr);
		Elf_Data *d;

		if (!scn || shdr.sh_entsize == 0 || !(d = elf_getdata(scn, NULL)))
			continue;
		for (size_t i = 0; i < shdr.sh_size / shdr.sh_entsize; i++) {
			GElf_Sym s;
			const char *n;

			if (!gelf_getsym(d, (int)i, &s) || s.st_shndx == SHN_UNDEF)
				continue;
			n = elf_strptr(ef->elf, shdr.sh_link, s.st_name);
			if (n && strcmp(n, name) == 0) {
				*vaddr = s.st_value;
				*size = s.st_size;
				return 0;
			}
		}
	}
	return -ENOENT;
}

static void add_symtab(struct elf_file *ef, Elf *e, Elf64_Word type, size_t *cap)
{
	GElf_Shdr shdr, vshdr;
	Elf_Scn *scn = find_scn_type(e, type, &shdr);
	Elf_Data *d, *vd = NULL;
	size_t n;

	if (!scn || shdr.sh_entsize == 0 || !(d = elf_getdata(scn, NULL)))
		return;
	if (type == SHT_DYNSYM) {
		Elf_Scn *vscn = find_scn_type(e, SHT_GNU_versym, &vshdr);

		if (vscn)
			vd = elf_getdata(vscn, NULL);
	}
	n = shdr.sh_size / shdr.sh_entsize;
	for (size_t i = 0; i < n; i++) {
		GElf_Sym s;
		GElf_Versym vs;
		const char *name, *at;
		int st, bind;
		bool hidden = false;
		struct sym_ent *se;

		if (!gelf_getsym(d, (int)i, &s))
			continue;
		st = GELF_ST_TYPE(s.st_info);
		bind = GELF_ST_BIND(s.st_info);
		if ((st != STT_FUNC && st != STT_GNU_IFUNC) || s.st_shndx == SHN_UNDEF)
			continue;
		name = elf_strptr(e, shdr.sh_link, s.st_name);
		if (!name || !*name)
			continue;
		at = strchr(name, '@');
		if (at)
			hidden = at[1] != '@';	/* "f@V" is a non-default version, "f@@V" the default */
		else if (vd && gelf_getversym(vd, (int)i, &vs))
			hidden = (vs & 0x8000) != 0;
		xgrow((void **)&ef->syms, cap, ef->nsyms + 1, sizeof(*ef->syms));
		se = &ef->syms[ef->nsyms];
		*se = (struct sym_ent){
			.name = at ? xstrndup(name, at - name) : xstrdup(name),
			.vaddr = s.st_value,
			.size = s.st_size,
			.order = (unsigned)ef->nsyms,
			.prio = (unsigned char)((hidden ? 0 : 2) + (bind == STB_WEAK ? 0 : 1)),
		};
		ef->nsyms++;
	}
}

static int cmp_name(const void *a, const void *b)
{
	const struct sym_ent *x = *(struct sym_ent *const *)a, *y = *(struct sym_ent *const *)b;
	int c = strcmp(x->name, y->name);

	if (c)
		return c;
	if (x->prio != y->prio)
		return y->prio - x->prio;
	return x->order < y->order ? -1 : x->order > y->order;
}

static int cmp_name_key(const void *a, const void *b)
{
	const struct sym_ent *x = *(struct sym_ent *const *)a, *y = *(struct sym_ent *const *)b;

	return strcmp(x->name, y->name);
}

static int cmp_addr(const void *a, const void *b)
{
	const struct sym_ent *x = *(struct sym_ent *const *)a, *y = *(struct sym_ent *const *)b;

	if (x->vaddr != y->vaddr)
		return x->vaddr < y->vaddr ? -1 : 1;
	/* At one address the best name goes first: owner of its name, strong, sized. */
	if (x->shadowed != y->shadowed)
		return x->shadowed - y->shadowed;
	if (x->prio != y->prio)
		return y->prio - x->prio;
	if ((x->size != 0) != (y->size != 0))
		return x->size ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

static void load_syms(struct elf_file *ef)
{
	size_t cap = 0;
	Elf *src = ef->elf;

	if (ef->syms_loaded)
		return;
	ef->syms_loaded = true;
	if (!has_symtab(ef->elf)) {
		find_debug_file(ef);
		if (ef->dbg_elf)
			src = ef->dbg_elf;
	}
	add_symtab(ef, src, SHT_SYMTAB, &cap);
	add_symtab(ef, ef->elf, SHT_DYNSYM, &cap);

	ef->by_name = xmalloc((ef->nsyms ? ef->nsyms : 1) * sizeof(*ef->by_name));
	for (size_t i = 0; i < ef->nsyms; i++)
		ef->by_name[i] = &ef->syms[i];
	qsort(ef->by_name, ef->nsyms, sizeof(*ef->by_name), cmp_name);
	ef->nby_name = 0;
	for (size_t i = 0; i < ef->nsyms; i++) {
		if (ef->nby_name && strcmp(ef->by_name[ef->nby_name - 1]->name, ef->by_name[i]->name) == 0) {
			ef->by_name[i]->shadowed = true;
			continue;
		}
		ef->by_name[ef->nby_name++] = ef->by_name[i];
	}

	ef->by_addr = xmalloc((ef->nsyms ? ef->nsyms : 1) * sizeof(*ef->by_addr));
	for (size_t i = 0; i < ef->nsyms; i++)
		ef->by_addr[i] = &ef->syms[i];
	ef->nby_addr = ef->nsyms;
	qsort(ef->by_addr, ef->nby_addr, sizeof(*ef->by_addr), cmp_addr);
}

static const char *ent_demangled(struct sym_ent *se)
{
	if (!se->dm_done) {
		se->demangled = demangle(se->name);
		se->dm_done = true;
	}
	return se->demangled;
}

static void fill_sym(struct sym_ent *se, struct elf_sym *out)
{
	out->name = se->name;
	out->demangled = demangle_enabled() ? ent_demangled(se) : NULL;
	out->vaddr = se->vaddr;
	out->size = se->size;
}

int elf_sym_foreach(struct elf_file *ef, int (*cb)(const struct elf_sym *sym, void *ctx), void *ctx)
{
	load_syms(ef);
	/* Table order (.symtab, then .dynsym), one entry per name. */
	for (size_t i = 0; i < ef->nsyms; i++) {
		struct elf_sym s;
		int r;

		if (ef->syms[i].shadowed)
			continue;
		fill_sym(&ef->syms[i], &s);
		r = cb(&s, ctx);
		if (r)
			return r;
	}
	return 0;
}

/*
 * The end of the name part of a demangled function name: the '(' opening its parameter list.
 * "ns::f<int>(int) const" -> 11; "ns::Cls::operator()(int)" -> the second '('.
 */
static size_t demangled_name_len(const char *d)
{
	const char *close = strrchr(d, ')');
	int depth = 0;

	if (!close)
		return strlen(d);
	for (const char *p = close; p >= d; p--) {
		if (*p == ')')
			depth++;
		else if (*p == '(' && --depth == 0)
			return (size_t)(p - d);
	}
	return strlen(d);
}

/* Where a demangled name starts after the return type that template functions carry
 * ("int ns::add<int>(int)" -> "ns::add<int>(int)"): after the last space outside <> and () in
 * the name part.  0 when there is none. */
static size_t demangled_skip_ret(const char *dm, size_t len)
{
	int depth = 0;

	for (size_t i = len; i-- > 0;) {
		char c = dm[i];

		if (c == '>' || c == ')')
			depth++;
		else if (c == '<' || c == '(')
			depth--;
		else if (c == ' ' && depth == 0)
			return i + 1;
	}
	return 0;
}

/*
 * Does name match demangled name dm?  full: the whole name with parameters; otherwise the name
 * without its parameter list.  Either with or without a leading return type.
 */
static bool demangled_match(const char *dm, const char *name, bool full)
{
	size_t len = demangled_name_len(dm), nlen = strlen(name);
	size_t skip = demangled_skip_ret(dm, len);

	if (full)
		return strcmp(dm, name) == 0 || (skip && strcmp(dm + skip, name) == 0);
	if (len == nlen && strncmp(dm, name, len) == 0)
		return true;
	return skip && len - skip == nlen && strncmp(dm + skip, name, nlen) == 0;
}

static int find_demangled(struct elf_file *ef, const char *name, bool full, struct sym_ent **out)
{
	struct sym_ent *hit = NULL;

	for (size_t i = 0; i < ef->nby_name; i++) {
		struct sym_ent *se = ef->by_name[i];
		const char *dm = ent_demangled(se);

		if (!dm)
			continue;
		if (!demangled_match(dm, name, full))
			continue;
		/* Aliases (e.g. C1/C2 constructors emitted once) are one function. */
		if (hit && hit->vaddr != se->vaddr)
			return -ENOTUNIQ;
		if (!hit || se->order < hit->order)
			hit = se;
	}
	if (!hit)
		return -ENOENT;
	*out = hit;
	return 0;
}

int elf_sym_find(struct elf_file *ef, const char *name, struct elf_sym *out)
{
	struct sym_ent key = { 0 }, *kp = &key, **hit;
	const char *at = strchr(name, '@');
	struct sym_ent *se;
	int err;

	load_syms(ef);
	key.name = at ? xstrndup(name, at - name) : (char *)name;
	hit = bsearch(&kp, ef->by_name, ef->nby_name, sizeof(*ef->by_name), cmp_name_key);
	if (at)
		free(key.name);
	if (hit) {
		fill_sym(*hit, out);
		return 0;
	}
	if (at)
		return -ENOENT;
	err = find_demangled(ef, name, true, &se);
	if (err == -ENOENT && !strchr(name, '('))
		err = find_demangled(ef, name, false, &se);
	if (err)
		return err;
	fill_sym(se, out);
	return 0;
}

int elf_sym_offset(struct elf_file *ef, const char *name, uint64_t add, uint64_t *off)
{
	struct elf_sym s;
	int err = elf_sym_find(ef, name, &s);

	if (err)
		return err;
	if (s.size && add >= s.size)
		return -ERANGE;
	return elf_vaddr_to_offset(ef, s.vaddr + add, off);
}

int elf_sym_at(struct elf_file *ef, uint64_t vaddr, struct elf_sym *out, uint64_t *delta)
{
	size_t lo = 0, hi, first;

	load_syms(ef);
	hi = ef->nby_addr;
	/* the first entry with vaddr > v */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (ef->by_addr[mid]->vaddr <= vaddr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return -ENOENT;
	first = lo - 1;
	while (first > 0 && ef->by_addr[first - 1]->vaddr == ef->by_addr[lo - 1]->vaddr)
		first--;
	for (size_t i = first; i < lo; i++) {
		struct sym_ent *se = ef->by_addr[i];

		/* A sizeless symbol (hand-written assembly) extends to the next symbol. */
		if (se->size == 0 || vaddr - se->vaddr < se->size) {
			fill_sym(se, out);
			*delta = vaddr - se->vaddr;
			return 0;
		}
	}
	return -ENOENT;
}

#ifdef HAVE_LIBDW
static bool has_debug_info(Elf *e)
{
	GElf_Shdr shdr;

	return find_scn(e, ".debug_info", &shdr) && shdr.sh_type != SHT_NOBITS;
}

/*
 * The binary's DWARF, or its debug file's: a stripped binary's debug file is found with its
 * symbols; one stripped of debug info only (strip -g keeps .symtab) looks for one here.
 */
static void locate_dwarf(struct elf_file *ef)
{
	if (ef->dwarf_located)
		return;
	ef->dwarf_located = true;
	load_syms(ef);	/* finds the debug file of a stripped binary */
	if (!ef->dbg_elf && !has_debug_info(ef->elf))
		find_debug_file(ef);
}

int elf_dwarf_file(struct elf_file *ef, const char **path, int *fd)
{
	locate_dwarf(ef);
	*path = ef->dbg_elf ? ef->dbg_path : ef->path;
	*fd = ef->dbg_elf ? ef->dbg_fd : ef->fd;
	return 0;
}

struct Dwarf *elf_dwarf(struct elf_file *ef)
{
	if (!ef->dwarf_tried) {
		ef->dwarf_tried = true;
		locate_dwarf(ef);
		if (ef->dbg_elf)
			ef->dwarf = dwarf_begin_elf(ef->dbg_elf, DWARF_C_READ, NULL);
		if (!ef->dwarf)
			ef->dwarf = dwarf_begin_elf(ef->elf, DWARF_C_READ, NULL);
	}
	return ef->dwarf;
}

/* The compile unit that covers vaddr, from the binary's or its debug file's DWARF. */
static int cu_of(struct elf_file *ef, uint64_t vaddr, Dwarf_Die *cu)
{
	if (!elf_dwarf(ef))
		return -ENOENT;
	if (!dwarf_addrdie(ef->dwarf, vaddr, cu)) {
		/* clang emits no .debug_aranges: walk the compile units' ranges instead */
		Dwarf_Off o = 0, next;
		size_t hsize;

		while (dwarf_nextcu(ef->dwarf, o, &next, &hsize, NULL, NULL, NULL) == 0) {
			if (dwarf_offdie(ef->dwarf, o + hsize, cu) && dwarf_haspc(cu, vaddr) == 1)
				return 0;
			o = next;
		}
		return -ENOENT;
	}
	return 0;
}

int elf_addr_to_line(struct elf_file *ef, uint64_t vaddr, char **file, int *line)
{
	Dwarf_Die cu;
	Dwarf_Line *dl;
	const char *src;

	if (cu_of(ef, vaddr, &cu))
		return -ENOENT;
	dl = dwarf_getsrc_die(&cu, vaddr);
	if (!dl || dwarf_lineno(dl, line) != 0 || !(src = dwarf_linesrc(dl, NULL, NULL)))
		return -ENOENT;
	*file = xstrdup(src);
	return 0;
}

/* A DIE's name, through DW_AT_abstract_origin / DW_AT_specification; C++ names demangled. */
static char *die_name(Dwarf_Die *d)
{
	Dwarf_Attribute a;
	const char *n = dwarf_formstring(dwarf_attr_integrate(d, DW_AT_linkage_name, &a));
	char *dm;

	if (!n)
		n = dwarf_formstring(dwarf_attr_integrate(d, DW_AT_MIPS_linkage_name, &a));
	if (n && (dm = demangle(n)))
		return dm;
	n = dwarf_formstring(dwarf_attr_integrate(d, DW_AT_name, &a));
	return n ? xstrdup(n) : NULL;
}

int elf_inlines_at(struct elf_file *ef, uint64_t vaddr,
		       int (*cb)(const struct elf_inline *in, void *ctx), void *ctx)
{
	Dwarf_Die cu, *scopes = NULL;
	Dwarf_Files *files;
	Dwarf_Line *dl;
	const char *file = NULL;
	int n, i, count = 0, line = 0;

	if (cu_of(ef, vaddr, &cu))
		return -ENOENT;
	n = dwarf_getscopes(&cu, vaddr, &scopes);
	if (n <= 0)
		return n < 0 ? -ENOENT : 0;
	/* the innermost call's line is the address's own; each outer one is where it was called */
	dl = dwarf_getsrc_die(&cu, vaddr);
	if (dl && dwarf_lineno(dl, &line) == 0)
		file = dwarf_linesrc(dl, NULL, NULL);
	for (i = 0; i < n; i++) {
		struct elf_inline in = { .file = file, .line = line };
		Dwarf_Attribute a;
		Dwarf_Word w;

		if (dwarf_tag(&scopes[i]) != DW_TAG_inlined_subroutine)
			continue;
		in.name = die_name(&scopes[i]);
		if (in.name)
			count++;
		if (in.name && cb(&in, ctx)) {
			free(in.name);
			break;
		}
		free(in.name);
		/* where this inlined call sits, in the function around it */
		file = NULL;
		line = 0;
		if (dwarf_formudata(dwarf_attr(&scopes[i], DW_AT_call_line, &a), &w) == 0)
			line = (int)w;
		if (dwarf_formudata(dwarf_attr(&scopes[i], DW_AT_call_file, &a), &w) == 0 &&
		    dwarf_getsrcfiles(&cu, &files, NULL) == 0)
			file = dwarf_filesrc(files, w, NULL, NULL);
	}
	free(scopes);
	if (count) {
		/* last, the place in the function itself: where the outermost call is */
		struct elf_inline in = { .name = NULL, .file = file, .line = line };

		cb(&in, ctx);
	}
	return count;
}
#else
struct Dwarf *elf_dwarf(struct elf_file *ef)
{
	return NULL;
}

int elf_dwarf_file(struct elf_file *ef, const char **path, int *fd)
{
	return -ENOTSUP;
}

int elf_addr_to_line(struct elf_file *ef, uint64_t vaddr, char **file, int *line)
{
	return -ENOTSUP;
}

int elf_inlines_at(struct elf_file *ef, uint64_t vaddr,
		       int (*cb)(const struct elf_inline *in, void *ctx), void *ctx)
{
	return -ENOTSUP;
}
#endif

#ifdef HAVE_LIBDW
/* "src/x.c" names /build/src/x.c: the whole name, or a tail of it after a '/'. */
static bool source_matches(const char *src, const char *want)
{
	size_t ls = strlen(src), lw = strlen(want);

	if (ls < lw || strcmp(src + ls - lw, want) != 0)
		return false;
	return ls == lw || src[ls - lw - 1] == '/';
}

/*
 * uprobe:BIN@FILE:LINE: the first address of each block of code the line table gives
 * FILE:LINE (a line inlined or duplicated by the compiler has several), statement
 * boundaries only.  Sequences are walked in address order, so "first" is the lowest address
 * of a run of rows with that line.
 */
int elf_line_foreach(struct elf_file *ef, const char *file, int line,
		     int (*cb)(uint64_t vaddr, void *arg), void *arg)
{
	Dwarf *dw = elf_dwarf(ef);
	Dwarf_Off o = 0, next;
	size_t hsize;
	int err, found = 0;

	if (!dw)
		return -ENODATA;
	while (dwarf_nextcu(dw, o, &next, &hsize, NULL, NULL, NULL) == 0) {
		Dwarf_Die cu;
		Dwarf_Lines *lines;
		size_t n, i;
		bool prev_in = false;

		Dwarf_Off cu_off = o + hsize;

		o = next;
		if (!dwarf_offdie(dw, cu_off, &cu) || dwarf_getsrclines(&cu, &lines, &n) != 0)
			continue;
		for (i = 0; i < n; i++) {
			Dwarf_Line *l = dwarf_onesrcline(lines, i);
			Dwarf_Addr addr;
			bool stmt = false, end = false, in;
			const char *src;
			int ln;

			if (!l || dwarf_lineno(l, &ln) || dwarf_lineaddr(l, &addr))
				continue;
			dwarf_lineendsequence(l, &end);
			dwarf_linebeginstatement(l, &stmt);
			src = dwarf_linesrc(l, NULL, NULL);
			in = !end && ln == line && src && source_matches(src, file);
			if (in && stmt && !prev_in) {
				err = cb(addr, arg);
				if (err)
					return err;
				found++;
			}
			prev_in = in;
		}
	}
	return found ? 0 : -ENOENT;
}

#else
int elf_line_foreach(struct elf_file *ef, const char *file, int line,
		     int (*cb)(uint64_t vaddr, void *arg), void *arg)
{
	return -ENOTSUP;
}
#endif
