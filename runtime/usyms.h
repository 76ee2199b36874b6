/* usyms.h - symbolize user-space addresses of processes (ustack, usym). */
#ifndef SONDE_USYMS_H
#define SONDE_USYMS_H

#include <stddef.h>
#include <stdint.h>

struct strbuf;
struct usyms;

struct usym_info {
	const char *sym;	/* demangled when enabled; NULL when unknown */
	uint64_t off;		/* addr - symbol start */
	const char *module;	/* path as /proc/PID/maps names it; NULL outside any file mapping */
};

enum usyms_mode {
	USYMS_BPFTRACE,	/* "sym+off", "0x7f..." when unknown (the caller indents) */
	USYMS_PERF,	/* "\t7f... sym+off (/path)", "\t7f... 0x7f... ([unknown])" when unknown */
	USYMS_SOURCE,	/* "sym+off (file.c:12)" from DWARF, "sym+off" without line info */
};

struct usyms *usyms_new(void);
void usyms_free(struct usyms *us);

/*
 * Snapshot /proc/PID/maps and open every executable file mapping (through /proc/PID/root or
 * /proc/PID/map_files when the path is not this namespace's file), so that addresses resolve
 * after the process exits.  Call it when a probe on PID is attached or a pid is first seen.
 * Re-preparing a pid refreshes its snapshot.  0, or -errno when the maps cannot be read
 * (-ENOENT for a process that is gone).
 */
int usyms_prepare(struct usyms *us, int pid);

/*
 * Symbolize addr in pid (prepared on demand).  Strings live until usyms_evict/usyms_free.
 * -ENOENT when no symbol covers addr: out->module is still set when a mapping does.
 */
int usyms_resolve(struct usyms *us, int pid, uint64_t addr, struct usym_info *out);

/* The executable file mapping that holds addr in pid (prepared on demand). */
struct usym_mapping {
	unsigned int major, minor;	/* device, as /proc/PID/maps shows it */
	unsigned long ino;
	uint64_t start, end, pgoff;	/* pgoff in bytes */
	const char *path;
};
int usyms_mapping(struct usyms *us, int pid, uint64_t addr, struct usym_mapping *out);

/* The source file (malloc'ed) and line of addr, from DWARF.  -ENOENT without line info,
 * -ENOTSUP when built without libdw. */
int usyms_resolve_line(struct usyms *us, int pid, uint64_t addr, char **file, int *line);

/* Append one frame in the given layout (no newline).  0, or -ENOENT when the frame is unknown
 * (it is still appended, in bpftrace's unknown-frame form). */
int usyms_format_frame(struct usyms *us, int pid, uint64_t addr, enum usyms_mode mode,
			struct strbuf *out);

/*
 * Frames captured as (build id, file offset) by a BPF_F_STACK_BUILD_ID stack map: symbolized
 * through the file, so they resolve after the process exited.  Files are found among those
 * already seen (process snapshots, usyms_add_file) and, on a miss, by scanning the mapped files
 * of running processes (at most once a second).  Appends "sym+off", or "0x<offset>" if unknown;
 * the perf layout shows addr (the frame's address, when known) and the module.
 */
int usyms_format_build_id(struct usyms *us, const unsigned char *build_id, size_t len,
			  uint64_t file_off, uint64_t addr, enum usyms_mode mode, struct strbuf *out);
/*
 * A frame captured as (device, inode, file offset) by the stack walker: symbolized through the
 * file already known by that identity (a process snapshot), else through path when given.
 * -ENOENT, with nothing appended, when the file is unknown; otherwise appends the frame as
 * usyms_format_frame does.
 */
int usyms_format_file(struct usyms *us, unsigned int major, unsigned int minor, unsigned long ino,
		      const char *path, uint64_t file_off, uint64_t addr, enum usyms_mode mode,
		      struct strbuf *out);
/* Make a file known for build-id lookups (uprobe and usdt targets). */
int usyms_add_file(struct usyms *us, const char *path);

/* Forget pid's snapshot (and close files no other pid maps). */
void usyms_evict(struct usyms *us, int pid);

#endif
