/*
 * tracefs.c - tracepoints as tracefs describes them.
 *
 * A tracepoint's arguments are described only by the text file events/CAT/NAME/format, one line
 * per field: "field:DECL;\toffset:N;\tsize:N;\tsigned:N;".  Offsets and sizes come from the
 * file, never from the C declaration; the declaration only says what kind of value a field is
 * (pointer, char array = string, __data_loc = u32 locating a string in the record's tail).
 * Pointed-to structs come from kernel BTF so `args->addr->sa_family` works.  Syscall tracepoints
 * record raw register values, so their pointers are user pointers.
 *
 * Debian's kernels may boot without tracefs mounted: as root, sonde mounts it itself.
 */
#include "runtime/tracefs.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/btf.h"
#include "common/diag.h"
#include "common/types.h"
#include "common/util.h"

#define TRACEFS_MOUNT "/sys/kernel/tracing"
#define TRACEFS_DEBUG "/sys/kernel/debug/tracing"

static const char *root;

static bool is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int locate(bool report)
{
	int err;

	if (root)
		return 0;
	if (is_dir(TRACEFS_MOUNT "/events")) {
		root = TRACEFS_MOUNT;
		return 0;
	}
	if (errno == EACCES) {
		/* Mounted, but tracefs is root-only (mode 0700). */
		if (report)
			diag_error(NULL, "cannot access tracefs at %s: %s (tracing needs root)",
				   TRACEFS_MOUNT, strerror(EACCES));
		return -EACCES;
	}
	if (is_dir(TRACEFS_DEBUG "/events")) {
		root = TRACEFS_DEBUG;
		return 0;
	}
	errno = 0;
	if (mount("tracefs", TRACEFS_MOUNT, "tracefs", 0, NULL) == 0 &&
	    is_dir(TRACEFS_MOUNT "/events")) {
		root = TRACEFS_MOUNT;
		return 0;
	}
	err = errno ? errno : ENOENT;
	/* err first: diag_error allocates and writes, which may change errno */
	if (report)
		diag_error(NULL, "tracefs is not mounted at %s and mounting it failed: %s",
			   TRACEFS_MOUNT, strerror(err));
	return -err;
}

int tracefs_root(const char **path)
{
	int err = locate(true);

	if (!err && path)
		*path = root;
	return err;
}

bool tracefs_available(void)
{
	int saved = errno;
	bool ok = locate(false) == 0;

	errno = saved;
	return ok;
}

bool tracefs_has_kprobe_events(void)
{
	const char *p = NULL;
	char *path;
	bool ok;

	if (access("/sys/bus/event_source/devices/kprobe/type", F_OK) == 0)
		return true;
	if (!tracefs_available())
		return false;
	p = root;
	path = xasprintf("%s/kprobe_events", p);
	ok = access(path, F_OK) == 0;
	free(path);
	return ok;
}

/* ---- iteration ---- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted names of the subdirectories of dir that match glob; -errno if dir cannot be read. */
static int list_dirs(const char *dir, const char *glob, char ***out, size_t *n)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **names = NULL;
	size_t cnt = 0, cap = 0;

	if (!d)
		return -errno;
	/*
	 * A plain name needs no listing: syscalls/ alone has ~700 entries, and listing tracefs
	 * directories is not cheap.
	 */
	if (glob && !has_wildcard(glob) && glob[0] != '.' && !strchr(glob, '/')) {
		char *p = xasprintf("%s/%s", dir, glob);

		if (is_dir(p)) {
			names = xmalloc(sizeof(*names));
			names[cnt++] = xstrdup(glob);
		}
		free(p);
		closedir(d);
		*out = names;
		*n = cnt;
		return 0;
	}
	while ((de = readdir(d))) {
		bool isdir;

		if (de->d_name[0] == '.')
			continue;
		if (glob && !glob_match(glob, de->d_name))
			continue;
		if (de->d_type == DT_UNKNOWN) {
			char *p = xasprintf("%s/%s", dir, de->d_name);

			isdir = is_dir(p);
			free(p);
		} else {
			isdir = de->d_type == DT_DIR;
		}
		if (!isdir)
			continue;
		xgrow((void **)&names, &cap, cnt + 1, sizeof(*names));
		names[cnt++] = xstrdup(de->d_name);
	}
	closedir(d);
	if (cnt)
		qsort(names, cnt, sizeof(*names), cmp_str);
	*out = names;
	*n = cnt;
	return 0;
}

static void free_names(char **names, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

int tracefs_foreach_tracepoint(const char *cat_glob, const char *name_glob,
			       int (*cb)(const char *cat, const char *name, void *ctx), void *ctx)
{
	char **cats = NULL, *dir;
	size_t ncats = 0, i, j;
	int err;

	err = tracefs_root(NULL);
	if (err)
		return err;
	dir = xasprintf("%s/events", root);
	err = list_dirs(dir, cat_glob, &cats, &ncats);
	free(dir);
	if (err) {
		diag_error(NULL, "cannot read %s/events: %s", root, strerror(-err));
		return err;
	}
	for (i = 0; i < ncats && !err; i++) {
		char **evs = NULL;
		size_t nevs = 0;

		/*
		 * ftrace's own events (function, print, ...) describe the tracer's ring buffer;
		 * they are not in available_events and BPF cannot attach to them.
		 */
		if (strcmp(cats[i], "ftrace") == 0)
			continue;
		dir = xasprintf("%s/events/%s", root, cats[i]);
		/* A category that vanished meanwhile (module unload) is simply skipped. */
		if (list_dirs(dir, name_glob, &evs, &nevs) == 0) {
			for (j = 0; j < nevs && !err; j++)
				err = cb(cats[i], evs[j], ctx);
			free_names(evs, nevs);
		}
		free(dir);
	}
	free_names(cats, ncats);
	return err;
}

/* ---- id and format ---- */

static int read_tp_file(const char *cat, const char *name, const char *file, char **text)
{
	char *path;
	int err;

	/* Names come from scripts: keep them from walking out of events/. */
	if (!*cat || !*name || strchr(cat, '/') || strchr(name, '/') || cat[0] == '.' ||
	    name[0] == '.')
		return -ENOENT;
	err = tracefs_root(NULL);
	if (err)
		return err;
	path = xasprintf("%s/events/%s/%s/%s", root, cat, name, file);
	err = read_file(path, text, NULL);
	free(path);
	return err;
}

int tracefs_tp_id(const char *cat, const char *name, uint32_t *id)
{
	char *text, *end;
	unsigned long v;
	int err;

	err = read_tp_file(cat, name, "id", &text);
	if (err)
		return err == -ENOTDIR ? -ENOENT : err;
	errno = 0;
	v = strtoul(text, &end, 10);
	if (errno || end == text || v > UINT32_MAX) {
		diag_error(NULL, "cannot parse the id of tracepoint %s:%s: '%s'", cat, name, text);
		free(text);
		return -EINVAL;
	}
	free(text);
	*id = v;
	return 0;
}

struct tp_cache {
	struct tp_cache *next;
	char *cat, *name;
	struct record *rec;
	char **lines;
	size_t nlines;
};

static struct tp_cache *cache;

/* C spellings of integer types that tracepoint formats use without BTF's help. */
static const struct {
	const char *name;
	uint8_t size;
	bool is_signed;
} c_ints[] = {
	{ "char", 1, true },		{ "signed char", 1, true },
	{ "unsigned char", 1, false },	{ "bool", 1, false },
	{ "_Bool", 1, false },		{ "short", 2, true },
	{ "unsigned short", 2, false },	{ "int", 4, true },
	{ "unsigned int", 4, false },	{ "unsigned", 4, false },
	{ "long", 8, true },		{ "unsigned long", 8, false },
	{ "long long", 8, true },	{ "unsigned long long", 8, false },
	{ "u8", 1, false },		{ "s8", 1, true },
	{ "u16", 2, false },		{ "s16", 2, true },
	{ "u32", 4, false },		{ "s32", 4, true },
	{ "u64", 8, false },		{ "s64", 8, true },
	{ "__u8", 1, false },		{ "__s8", 1, true },
	{ "__u16", 2, false },		{ "__s16", 2, true },
	{ "__u32", 4, false },		{ "__s32", 4, true },
	{ "__u64", 8, false },		{ "__s64", 8, true },
	{ "uint8_t", 1, false },	{ "int8_t", 1, true },
	{ "uint16_t", 2, false },	{ "int16_t", 2, true },
	{ "uint32_t", 4, false },	{ "int32_t", 4, true },
	{ "uint64_t", 8, false },	{ "int64_t", 8, true },
	{ "size_t", 8, false },		{ "ssize_t", 8, true },
	{ "pid_t", 4, true },		{ "uid_t", 4, false },
	{ "gid_t", 4, false },		{ "umode_t", 2, false },
	{ "loff_t", 8, true },		{ "uint", 4, false },
};

static const char *const qualifiers[] = {
	"const", "volatile", "__user", "__seg_gs", "__seg_fs", "__percpu", "__rcu", "__iomem",
	"restrict", "__restrict",
};

/* A declaration split into its parts: "const char *const * argv" -> "char", 2, "argv". */
struct decl {
	char base[128];		/* type words without qualifiers and stars */
	int stars;
	char name[128];
	bool is_array;
	long nelems;		/* -1 when the brackets hold no number */
	bool data_loc;
};

static bool is_ident(char c)
{
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static bool is_qualifier(const char *w, size_t n)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(qualifiers); i++)
		if (strlen(qualifiers[i]) == n && strncmp(qualifiers[i], w, n) == 0)
			return true;
	return false;
}

static int parse_decl(const char *text, struct decl *d)
{
	const char *s = text, *e = text + strlen(text), *p, *w;
	size_t blen = 0;

	memset(d, 0, sizeof(*d));
	d->nelems = -1;
	while (*s == ' ' || *s == '\t')
		s++;
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	if (strncmp(s, "__data_loc ", 11) == 0) {
		d->data_loc = true;
		s += 11;
	}
	if (e > s && e[-1] == ']') {
		const char *lb = e - 1;

		while (lb > s && *lb != '[')
			lb--;
		if (*lb != '[')
			return -EINVAL;
		d->is_array = true;
		if (lb + 1 < e - 1) {
			char *end;
			long v = strtol(lb + 1, &end, 0);

			if (end == e - 1 && v >= 0)
				d->nelems = v;
		}
		e = lb;
		while (e > s && e[-1] == ' ')
			e--;
	}
	/* "__data_loc char[] name": the brackets sit on the type, the name is last. */
	p = e;
	while (p > s && is_ident(p[-1]))
		p--;
	if (p == e || (size_t)(e - p) >= sizeof(d->name))
		return -EINVAL;
	memcpy(d->name, p, e - p);
	e = p;
	if (d->data_loc) {
		const char *lb = memchr(s, '[', e - s);

		if (lb) {
			d->is_array = true;
			e = lb;
		}
	}
	for (p = s; p < e;) {
		if (*p == '*') {
			d->stars++;
			p++;
			continue;
		}
		if (!is_ident(*p)) {
			p++;
			continue;
		}
		w = p;
		while (p < e && is_ident(*p))
			p++;
		if (is_qualifier(w, p - w))
			continue;
		if (blen + (p - w) + 2 > sizeof(d->base))
			return -EINVAL;
		if (blen)
			d->base[blen++] = ' ';
		memcpy(d->base + blen, w, p - w);
		blen += p - w;
	}
	d->base[blen] = '\0';
	return blen ? 0 : -EINVAL;
}

/* The type a base spelling names, or NULL if neither C nor BTF knows it. */
static struct type *base_type(const char *base)
{
	struct type *t;
	size_t i;

	if (strcmp(base, "void") == 0)
		return type_void();
	for (i = 0; i < ARRAY_SIZE(c_ints); i++)
		if (strcmp(base, c_ints[i].name) == 0)
			return type_int(c_ints[i].size, c_ints[i].is_signed);
	if (strncmp(base, "struct ", 7) == 0 || strncmp(base, "union ", 6) == 0) {
		bool is_union = base[0] == 'u';
		const char *tag = base + (is_union ? 6 : 7);
		struct record *rec = NULL;

		if (!btf_available() || btf_find_record(tag, is_union, &rec))
			rec = record_new(tag, is_union);	/* incomplete */
		return type_record(rec);
	}
	if (strncmp(base, "enum ", 5) == 0)
		return NULL;	/* the format's size says how wide it is */
	if (btf_available() && btf_find_typedef(base, &t) == 0)
		return t;
	return NULL;
}

static struct type *field_type(const char *cat, const struct decl *d, uint32_t size, bool sgn)
{
	enum addrspace as = strcmp(cat, "syscalls") == 0 ? AS_USER : AS_KERNEL;
	struct type *t;
	int i;

	if (d->data_loc)
		return type_int(4, false);
	if (d->stars) {
		/* char * is a string pointer; bpftrace spells its target int8. */
		if (strcmp(d->base, "char") == 0)
			t = type_int(1, true);
		else
			t = base_type(d->base);
		if (!t)
			t = type_int(1, false);
		for (i = 0; i < d->stars; i++)
			t = type_pointer(t, as);
		if (d->is_array && d->nelems > 0)
			t = type_array(t, d->nelems);
		return t;
	}
	if (d->is_array) {
		long n = d->nelems;

		if (strcmp(d->base, "char") == 0 && n > 0)
			return type_string(n);
		t = base_type(d->base);
		if (n < 0)
			n = t && t->size ? size / t->size : 0;
		if (!t || t->kind == TYPE_VOID || (n > 0 && t->size * n != size))
			t = type_int(n > 0 && size % n == 0 ? size / n : 1, sgn);
		if (n < 0 || (n == 0 && size))
			n = size / t->size;
		return type_array(t, n);
	}
	if (strncmp(d->base, "struct ", 7) == 0 || strncmp(d->base, "union ", 6) == 0) {
		t = base_type(d->base);
		if (t && t->rec->complete && t->size == size)
			return t;
	}
	/*
	 * Integers: the format's size is authoritative (syscall arguments are stored as longs
	 * whatever their C type), but signedness follows the declared type the way bpftrace
	 * reads it: `int fd` recorded in 8 bytes with signed:0 is still a signed value.
	 */
	if (size == 1 || size == 2 || size == 4 || size == 8) {
		t = base_type(d->base);
		return type_int(size, t && t->kind == TYPE_INT ? t->is_signed : sgn);
	}
	return type_array(type_int(1, false), size);
}

static int parse_format(const char *cat, const char *name, const char *text,
			struct tp_cache *c)
{
	char *tag = xasprintf("_tracepoint_%s_%s", cat, name);
	struct record *rec = record_new(tag, false);
	size_t cap = 0;
	const char *line;
	uint32_t end = 0;

	free(tag);
	for (line = text; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
		const char *f = line, *semi;
		unsigned off, size, sgn;
		struct decl d;
		struct field *fld;
		char *decl;

		while (*f == ' ' || *f == '\t')
			f++;
		if (strncmp(f, "field:", 6) != 0)
			continue;
		f += 6;
		semi = strchr(f, ';');
		if (!semi || sscanf(semi, ";%*[ \t]offset:%u;%*[ \t]size:%u;%*[ \t]signed:%u;", &off,
				    &size, &sgn) != 3)
			goto bad;
		decl = xstrndup(f, semi - f);
		if (parse_decl(decl, &d)) {
			free(decl);
			goto bad;
		}
		if (strncmp(d.name, "common_", 7) == 0) {
			free(decl);
			continue;
		}
		xgrow((void **)&c->lines, &cap, c->nlines + 1, sizeof(*c->lines));
		c->lines[c->nlines++] = xasprintf("    %s", decl);
		free(decl);
		fld = record_add_field(rec, d.name, off, field_type(cat, &d, size, sgn));
		fld->data_loc = d.data_loc;
		end = MAX(end, off + size);
	}
	rec->size = end;
	rec->complete = true;
	c->rec = rec;
	return 0;
bad:
	diag_error(NULL, "cannot parse the format of tracepoint %s:%s: '%.*s'", cat, name,
		   (int)strcspn(line, "\n"), line);
	return -EINVAL;
}

static int lookup(const char *cat, const char *name, struct tp_cache **out)
{
	struct tp_cache *c;
	char *text;
	int err;

	for (c = cache; c; c = c->next) {
		if (strcmp(c->cat, cat) == 0 && strcmp(c->name, name) == 0) {
			*out = c;
			return 0;
		}
	}
	err = read_tp_file(cat, name, "format", &text);
	if (err == -ENOTDIR)
		err = -ENOENT;
	if (err) {
		if (err != -ENOENT)
			diag_error(NULL, "cannot read the format of tracepoint %s:%s: %s", cat, name,
				   strerror(-err));
		return err;
	}
	c = xcalloc(1, sizeof(*c));
	err = parse_format(cat, name, text, c);
	free(text);
	if (err) {
		tracefs_lines_free(c->lines, c->nlines);
		free(c);
		return err;
	}
	c->cat = xstrdup(cat);
	c->name = xstrdup(name);
	c->next = cache;
	cache = c;
	*out = c;
	return 0;
}

int tracefs_tp_args(const char *cat, const char *name, struct record **args)
{
	struct tp_cache *c;
	int err = lookup(cat, name, &c);

	if (!err)
		*args = c->rec;
	return err;
}

int tracefs_tp_fields_text(const char *cat, const char *name, char ***lines, size_t *n)
{
	struct tp_cache *c;
	size_t i;
	int err = lookup(cat, name, &c);

	if (err)
		return err;
	*lines = xcalloc(c->nlines ? c->nlines : 1, sizeof(**lines));
	for (i = 0; i < c->nlines; i++)
		(*lines)[i] = xstrdup(c->lines[i]);
	*n = c->nlines;
	return 0;
}

void tracefs_lines_free(char **lines, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(lines[i]);
	free(lines);
}

void tracefs_cleanup(void)
{
	while (cache) {
		struct tp_cache *c = cache;

		cache = c->next;
		tracefs_lines_free(c->lines, c->nlines);
		free(c->cat);
		free(c->name);
		free(c);
	}
	root = NULL;
}
