/* usyms.h - symbolize user-space addresses of processes (ustack, usym). */
#ifndef SONDE_USYMS_H
#define SONDE_USYMS_H

#include <stdbool.h>
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


/*
 * Append one frame of pid in the given layout (no newline): usyms_format without a file.
 * 0, or -ENOENT when the frame is unknown (it is still appended, in bpftrace's unknown-frame
 * form).
 */
int usyms_format_frame(struct usyms *us, int pid, uint64_t addr, enum usyms_mode mode,
			struct strbuf *out);

/* A frame of a user stack, as the stack walker recorded it. */
struct usym_frame {
	int pid;
	uint64_t addr;
	unsigned int major, minor;	/* the file's device (as /proc/PID/maps shows it)... */
	unsigned long ino;		/* ...and inode; 0 when the frame is in no file */
	const char *path;		/* a path to that file, when known */
	uint64_t file_off;
	bool caller;		/* a return address: lines and inlines come from the call */
	bool inlines;		/* each inlined call on a line of its own, innermost first */
	int indent;		/* of the lines after the first */
};

/*
 * Append a stack frame in the given layout (no final newline): symbolized through its file
 * (also after the process exited), else through pid's mappings.  -ENOENT when unknown (it is
 * still appended, in bpftrace's unknown-frame form).
 */
int usyms_format(struct usyms *us, const struct usym_frame *f, enum usyms_mode mode,
		 struct strbuf *out);
/* Make a file known up front (uprobe and usdt targets): stacks through it symbolize after exit. */
int usyms_add_file(struct usyms *us, const char *path);

/* Forget pid's snapshot (and close files no other pid maps). */
void usyms_evict(struct usyms *us, int pid);
/* Forget exited processes unused for a while, keeping their most recent files (usyms.c). */
void usyms_sweep(struct usyms *us);

#endif
