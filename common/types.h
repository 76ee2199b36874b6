/*
 * types.h - sonde's value types, shared by the compiler (sema, codegen) and the runtime
 * (decoding what BPF programs report, BTF and tracepoint formats, C definitions in scripts).
 *
 * Every type and record lives in one arena that is freed once at exit (types_free_all), so
 * passes can share type pointers freely.  Types are compared structurally with type_equal.
 */
#ifndef SONDE_TYPES_H
#define SONDE_TYPES_H

#include <stdbool.h>
#include <stdint.h>

#include "util.h"

/* How a user stack is walked: frame pointers (bpftrace's way) or call-frame information. */
enum stack_unwind {
	STACK_UNWIND_FP,
	STACK_UNWIND_DWARF,
};

enum type_kind {
	TYPE_NONE = 0,		/* not inferred yet */
	TYPE_VOID,		/* statements and calls without a value */
	TYPE_INT,		/* size 1, 2, 4 or 8, is_signed */
	TYPE_STRING,		/* NUL-padded char[size] */
	TYPE_BUFFER,		/* buf(): u8 len; u8 data[size - 1] */
	TYPE_TUPLE,		/* fields[], offsets[] */
	TYPE_POINTER,		/* elem, as */
	TYPE_RECORD,		/* struct or union: rec */
	TYPE_ARRAY,		/* elem[nelems] */
	/*
	 * Value kinds with their own printed form: each is a row in runtime/kinds.c (its name,
	 * size, text), and its types point at the row (vk).  The bytes a program reports:
	 */
	TYPE_USTACK,		/* u64 stack key (bpf/ustack.h), u64 pid, u64 0 (24 bytes) */
	TYPE_KSTACK,		/* u64 stack id (8 bytes) */
	TYPE_USYM,		/* u64 address, u64 pid */
	TYPE_KSYM,		/* u64 address */
	TYPE_INET,		/* ntop(): u64 family, u8 addr[16] */
	TYPE_USERNAME,		/* u64 uid */
	TYPE_PROBE,		/* u64 index into the program's probe names */
	TYPE_TIMESTAMP,		/* strftime(): u64 format id, u64 nsecs */
	TYPE_MACADDR,		/* u8[6] padded to 8 */
	TYPE_CGROUP_PATH,	/* cgroup_path(): u64 cgroup id, u64 filter format id */
	TYPE_ERRNO,		/* strerror(): u64 error number */
	/* Aggregations: only ever map values. */
	TYPE_COUNT,
	TYPE_SUM,
	TYPE_MIN,
	TYPE_MAX,
	TYPE_AVG,
	TYPE_STATS,
	TYPE_HIST,
	TYPE_LHIST,
};

/* Where a pointer points: decides bpf_probe_read_user vs _kernel. */
enum addrspace {
	AS_NONE = 0,
	AS_KERNEL,
	AS_USER,
	AS_CTX,		/* the program's context (tracepoint args): direct loads */
	AS_SCRATCH,	/* a value the program holds itself (pton()'s array) */
};

/* How a value kind's text is laid out when printed (runtime/output*.c). */
enum value_form {
	FORM_TEXT = 0,	/* as it is, like a string */
	/*
	 * ksym/usym/ntop: a map of them prints its entries with nothing between them and sorts
	 * their keys as equal (bpftrace 0.17 does both)
	 */
	FORM_SYM,
	FORM_STACK,	/* one frame a line, indented by where it is printed; also a FORM_SYM */
};

struct record;
struct session;
struct type;

/*
 * A value kind with its own printed form (ntop, usym, username, stacks, ...): one row of
 * runtime/kinds.c, made by the builtin in src/builtins/ with kind_type().  The compiler reads
 * its name, size, scalar and printf conversions; the runtime turns the bytes into its text.
 */
struct value_kind {
	const char *name;	/* bpftrace's name in messages: "usym", "mac_address" */
	uint32_t size;		/* bytes the value occupies (the layout is in enum type_kind) */
	bool scalar;		/* one u64 held in a register, not a value kept in memory */
	bool printf_int;	/* printf's integer conversions take it too, besides %s */
	enum value_form form;
	/* Its text from the bytes a program reported; ss: the session decoding them. */
	char *(*text)(struct session *ss, const struct type *t, const void *data);
	/* printf("%s", v) when that differs from text (stacks); NULL: text. */
	char *(*printf_text)(struct session *ss, const struct type *t, const void *data);
};

struct type {
	enum type_kind kind;
	uint32_t size;		/* bytes the value occupies in BPF memory */
	bool is_signed;		/* TYPE_INT, and SUM/MIN/MAX/AVG/STATS of signed values */
	enum addrspace as;	/* TYPE_POINTER */
	struct type *elem;	/* TYPE_POINTER target, TYPE_ARRAY element */
	uint32_t nelems;	/* TYPE_ARRAY */
	struct record *rec;	/* TYPE_RECORD */
	struct type **fields;	/* TYPE_TUPLE */
	uint32_t *offsets;	/* TYPE_TUPLE: byte offset of each field */
	uint32_t nfields;	/* TYPE_TUPLE */
	int stack_mode;		/* USTACK/KSTACK: 0 bpftrace, 1 perf, 2 raw, 3 source */
	uint32_t stack_limit;	/* USTACK/KSTACK: frames to print, 0 for all */
	int stack_unwind;	/* USTACK: STACK_UNWIND_FP or STACK_UNWIND_DWARF */
	const struct value_kind *vk;	/* a value kind's row (runtime/kinds.c), else NULL */
};

struct field {
	char *name;		/* NULL for an anonymous struct/union member */
	uint32_t offset;	/* bytes from the start of the record */
	uint32_t bit_offset;	/* bitfields: bits past offset */
	uint32_t bit_width;	/* bitfields: width in bits; 0 for ordinary members */
	bool data_loc;		/* tracepoint __data_loc: u32 (len << 16 | offset) to a string */
	struct type *type;
};

struct record {
	char *name;		/* tag without "struct "; "" for anonymous */
	bool is_union;
	bool complete;		/* size and fields are known */
	uint32_t size;
	struct field *fields;
	uint32_t nfields;
};

/* Constructors: results live in the type arena. */
struct type *type_new(enum type_kind kind);
struct type *type_void(void);
struct type *type_int(uint32_t size, bool is_signed);
struct type *type_string(uint32_t size);
struct type *type_buffer(uint32_t size);
struct type *type_pointer(struct type *elem, enum addrspace as);
struct type *type_array(struct type *elem, uint32_t nelems);
struct type *type_record(struct record *rec);
/* A tuple of n fields laid out like a C struct (natural alignment, as bpftrace 0.17). */
struct type *type_tuple(struct type **fields, uint32_t n);
/* Kinds whose size is fixed: aggregations, void.  Value kinds come from kind_type(). */
struct type *type_simple(enum type_kind kind);
/* A copy of t whose values are addresses in address space as (records, arrays, pointers). */
struct type *type_with_as(const struct type *t, enum addrspace as);

struct record *record_new(const char *name, bool is_union);
/* Append a member; fields array grows in the arena. */
struct field *record_add_field(struct record *rec, const char *name, uint32_t offset,
			       struct type *type);
/*
 * Find member name in rec, descending into anonymous struct/union members.  *offset gets
 * the byte offset from the start of rec.  NULL if there is no such member.
 */
const struct field *record_find_field(const struct record *rec, const char *name,
				      uint32_t *offset);

/* Arena allocation for modules that build records (BTF, tracefs, C definitions). */
void *types_alloc(size_t n);
char *types_strdup(const char *s);
void types_free_all(void);

bool type_equal(const struct type *a, const struct type *b);
bool type_is_int(const struct type *t);
bool type_is_aggregation(const struct type *t);
/* Values that live in memory rather than in a register: strings, tuples, records, ... */
bool type_is_aggregate(const struct type *t);
/* bpftrace's spelling for diagnostics: int64, uint8, string[64], struct sockaddr *, ... */
void type_format(const struct type *t, struct strbuf *sb);
/* Same, into a static buffer that is valid until the next call (for diagnostics). */
const char *type_name(const struct type *t);
/* bpftrace's word for a kind in messages: integer, string, buffer, or the type's name. */
const char *type_kind_word(const struct type *t);

#endif
