/*
 * include.c - #include and #include_next: "NAME" next to the including file first, then the
 * search list (-I, then the system directories); each header is read once.  A missing
 * system header is only noted (-v): sonde falls back on its built-in constants.
 */
#include "pp_impl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static char **seen_files;	/* headers already read (realpath) */
static size_t nseen, seen_cap;

static bool file_seen(const char *path)
{
	char *real = realpath(path, NULL);
	size_t i;

	if (!real)
		return false;
	for (i = 0; i < nseen; i++) {
		if (strcmp(seen_files[i], real) == 0) {
			free(real);
			return true;
		}
	}
	xgrow((void **)&seen_files, &seen_cap, nseen + 1, sizeof(*seen_files));
	seen_files[nseen++] = real;
	return false;
}

static bool is_file(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

char *pp_dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return xstrdup(".");
	if (slash == path)
		return xstrdup("/");
	return xstrndup(path, (size_t)(slash - path));
}

/* Read and process a header; a missing one is only noted (-v). */
static int include_file(struct pp *pp, const char *path, int dir_index)
{
	struct src h = { 0 };
	char *text;
	size_t len;
	int err;

	if (file_seen(path))
		return 0;
	if (pp->depth >= 200) {
		diag_verbose("sonde: #include nested too deeply at %s\n", path);
		return 0;
	}
	err = read_file(path, &text, &len);
	if (err) {
		diag_verbose("sonde: cannot read header %s: %s\n", path, strerror(-err));
		return 0;
	}
	if (!len) {
		/* read_file leaves an empty file's buffer unterminated */
		free(text);
		text = xstrdup("");
	}
	diag_verbose("sonde: reading header %s\n", path);
	h.text = text;
	h.path = path;
	h.dir = pp_dir_of(path);
	h.dir_index = dir_index;
	pp->depth++;
	err = pp_process(pp, &h);
	pp->depth--;
	free(h.dir);
	free(text);
	return err;
}

/* <linux/sched.h>, <net/sock.h>, <asm/...>: a header of the kernel's own include tree. */
static bool kernel_header(const char *name)
{
	static const char *const dirs[] = { "linux/", "net/", "asm/", "asm-generic/", "uapi/",
					    "trace/", "kernel/", "generated/", "crypto/", "scsi/",
					    "rdma/", "video/", "drm/", "sound/", "xen/", "keys/",
					    "misc/", "mtd/", "acpi/", "soc/", "vdso/", "ras/" };

	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++)
		if (strncmp(name, dirs[i], strlen(dirs[i])) == 0)
			return true;
	return false;
}

int pp_include(struct pp *pp, const struct src *s, const char *name, bool quoted, bool next)
{
	size_t i = 0;
	char *path;
	int err;

	if (name[0] == '/') {
		if (is_file(name))
			return include_file(pp, name, -1);
		goto missing;
	}
	if (quoted && !next) {
		path = xasprintf("%s/%s", s->dir, name);
		if (is_file(path)) {
			err = include_file(pp, path, s->dir_index);
			free(path);
			return err;
		}
		free(path);
	}
	if (next && s->dir_index >= 0)
		i = (size_t)s->dir_index + 1;
	for (; i < pp->ndirs; i++) {
		path = xasprintf("%s/%s", pp->dirs[i], name);
		if (is_file(path)) {
			err = include_file(pp, path, (int)i);
			free(path);
			return err;
		}
		free(path);
	}
missing:
	/*
	 * A kernel header may be missing (no kernel headers here: BTF and the built-in constants
	 * stand in for it); the script's own, or a library's header, may not.
	 */
	if (quoted || !kernel_header(name))
		return -ENOENT;
	diag_verbose("sonde: header %s not found; using built-in constants\n", name);
	return 0;
}


void pp_include_cleanup(void)
{
	size_t i;

	for (i = 0; i < nseen; i++)
		free(seen_files[i]);
	free(seen_files);
	seen_files = NULL;
	nseen = seen_cap = 0;
}
