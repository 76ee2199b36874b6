/*
 * test_btf.c - kernel structs, typedefs and enums from vmlinux BTF, and kernel symbols from
 * kallsyms.  Expected layouts come from the user-space ABI headers (which the kernel must
 * match) or from walking the raw BTF members directly.
 */
#include <bpf/btf.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "runtime/btf.h"
#include "runtime/ksyms.h"
#include "common/types.h"
#include "common/util.h"
#include "tests/unit/tap.h"

static const struct field *field(const struct record *rec, const char *name, uint32_t *off)
{
	uint32_t o = 0;
	const struct field *f = record_find_field(rec, name, &o);

	if (off)
		*off = o;
	return f;
}

static bool is_int_type(const struct type *t, uint32_t size, bool sgn)
{
	return t && t->kind == TYPE_INT && t->size == size && t->is_signed == sgn;
}

static void test_sockaddr(void)
{
	struct record *rec = NULL, *in6;
	const struct field *f, *u;
	uint32_t off;

	if (!is_int(btf_find_record("sockaddr_in", false, &rec), 0, "sockaddr_in_found"))
		return;
	ok(rec->complete && rec->size == sizeof(struct sockaddr_in), "sockaddr_in_size_matches_abi");
	f = field(rec, "sin_port", &off);
	ok(f && off == offsetof(struct sockaddr_in, sin_port) && is_int_type(f->type, 2, false),
	   "sin_port_is_uint16_at_offset_2");
	f = field(rec, "sin_addr", &off);
	ok(f && f->type->kind == TYPE_RECORD && off == offsetof(struct sockaddr_in, sin_addr),
	   "sin_addr_is_nested_record");
	f = f && f->type->kind == TYPE_RECORD ? field(f->type->rec, "s_addr", &off) : NULL;
	ok(f && off + offsetof(struct sockaddr_in, sin_addr) == 4 && is_int_type(f->type, 4, false),
	   "sin_addr_s_addr_is_uint32_at_offset_4");

	if (!is_int(btf_find_record("sockaddr_in6", false, &in6), 0, "sockaddr_in6_found"))
		return;
	f = field(in6, "sin6_addr", &off);
	ok(f && off == offsetof(struct sockaddr_in6, sin6_addr) && f->type->kind == TYPE_RECORD,
	   "sin6_addr_at_abi_offset");
	u = f && f->type->kind == TYPE_RECORD ? field(f->type->rec, "in6_u", NULL) : NULL;
	ok(u && u->type->kind == TYPE_RECORD && u->type->rec->is_union, "in6_u_is_a_union");
	f = u && u->type->kind == TYPE_RECORD ? field(u->type->rec, "u6_addr8", &off) : NULL;
	ok(f && off == 0 && f->type->kind == TYPE_ARRAY && f->type->nelems == 16 &&
	   is_int_type(f->type->elem, 1, false), "u6_addr8_is_uint8_array_16");
	f = u && u->type->kind == TYPE_RECORD ? field(u->type->rec, "u6_addr32", NULL) : NULL;
	ok(f && f->type->kind == TYPE_ARRAY && f->type->nelems == 4 &&
	   is_int_type(f->type->elem, 4, false), "union_members_share_offset_0");
}

/* The raw BTF member of struct NAME called MEMBER: bit offset and bitfield width. */
static int raw_member(const char *sname, const char *mname, uint32_t *bits, uint32_t *width)
{
	struct btf *btf = btf__load_vmlinux_btf();
	const struct btf_type *t;
	const struct btf_member *m;
	int id, i, found = -1;

	if (!btf)
		return -1;
	id = btf__find_by_name_kind(btf, sname, BTF_KIND_STRUCT);
	t = id > 0 ? btf__type_by_id(btf, id) : NULL;
	for (i = 0, m = t ? btf_members(t) : NULL; t && i < btf_vlen(t); i++, m++) {
		if (strcmp(btf__name_by_offset(btf, m->name_off), mname) == 0) {
			*bits = btf_member_bit_offset(t, i);
			*width = btf_member_bitfield_size(t, i);
			found = 0;
			break;
		}
	}
	btf__free(btf);
	return found;
}

static void test_task_struct(void)
{
	struct record *rec = NULL, *again = NULL;
	const struct field *f;
	struct timespec a, b;
	uint32_t off, bits, width;
	double ms;

	clock_gettime(CLOCK_MONOTONIC, &a);
	if (!is_int(btf_find_record("task_struct", false, &rec), 0,
		    "recursive_task_struct_converts_and_terminates"))
		return;
	clock_gettime(CLOCK_MONOTONIC, &b);
	ms = (b.tv_sec - a.tv_sec) * 1e3 + (b.tv_nsec - a.tv_nsec) / 1e6;
	printf("# task_struct and everything it reaches converted in %.1f ms\n", ms);
	f = field(rec, "pid", &off);
	ok(f && raw_member("task_struct", "pid", &bits, &width) == 0 && off == bits / 8 &&
	   is_int_type(f->type, 4, true), "task_struct_pid_is_int32_at_btf_offset");
	f = field(rec, "comm", NULL);
	ok(f && f->type->kind == TYPE_STRING && f->type->size == 16, "task_struct_comm_is_string_16");
	f = field(rec, "parent", NULL);
	ok(f && f->type->kind == TYPE_POINTER && f->type->as == AS_KERNEL &&
	   f->type->elem->kind == TYPE_RECORD && f->type->elem->rec == rec,
	   "task_struct_parent_points_back_to_the_same_record");
	f = field(rec, "mm", NULL);
	ok(f && f->type->kind == TYPE_POINTER && f->type->elem->kind == TYPE_RECORD &&
	   f->type->elem->rec->complete && field(f->type->elem->rec, "mmap_base", NULL),
	   "pointed_to_struct_is_complete");
	ok(btf_find_record("task_struct", false, &again) == 0 && again == rec,
	   "records_are_cached");
}

static void test_bitfield(void)
{
	struct record *rec = NULL;
	const struct field *f;
	uint32_t off, bits = 0, width = 0;

	if (raw_member("sock", "sk_no_check_tx", &bits, &width) || !width) {
		skip("struct sock has no sk_no_check_tx bitfield here", "sock_bitfield_position");
		return;
	}
	if (!is_int(btf_find_record("sock", false, &rec), 0, "struct_sock_found"))
		return;
	f = field(rec, "sk_no_check_tx", &off);
	ok(f && f->bit_width == width && off * 8 + f->bit_offset == bits && f->bit_offset < 8,
	   "sock_bitfield_position");
	f = field(rec, "sk_type", NULL);
	ok(f && f->bit_width == 0, "ordinary_member_has_no_bit_width");
	f = field(rec, "__sk_common", NULL);
	ok(f && f->type->kind == TYPE_RECORD && field(f->type->rec, "skc_family", NULL) &&
	   field(rec, "sk_family", NULL) == NULL, "sock_common_is_nested_not_flattened");
}

static void test_anonymous(void)
{
	struct record *rec = NULL;
	const struct field *f;
	uint32_t off, bits, width;
	uint32_t i;
	bool anon = false;

	/* struct page is made of anonymous unions of anonymous structs. */
	if (!is_int(btf_find_record("page", false, &rec), 0, "struct_page_found"))
		return;
	for (i = 0; i < rec->nfields; i++)
		anon |= rec->fields[i].name == NULL && rec->fields[i].type->kind == TYPE_RECORD;
	ok(anon, "anonymous_members_have_no_name");
	f = field(rec, "flags", &off);
	ok(f && raw_member("page", "flags", &bits, &width) == 0 && off == bits / 8,
	   "named_member_found");
	f = field(rec, "lru", &off);
	ok(f != NULL, "member_of_anonymous_union_found_through_record_find_field");
	is_int(btf_find_record("sockaddr_in", true, &rec), -ENOENT, "struct_is_not_a_union");
	is_int(btf_find_record("no_such_struct_sonde", false, &rec), -ENOENT,
	       "unknown_struct_is_enoent");
}

static void test_typedef_enum(void)
{
	struct type *t = NULL;
	int64_t v = 0;

	ok(btf_find_typedef("u32", &t) == 0 && is_int_type(t, 4, false), "typedef_u32_is_uint32");
	ok(btf_find_typedef("pid_t", &t) == 0 && is_int_type(t, sizeof(pid_t), true),
	   "typedef_pid_t_is_int32");
	ok(btf_find_typedef("__be16", &t) == 0 && is_int_type(t, 2, false),
	   "typedef_be16_is_uint16");
	ok(btf_find_typedef("sigset_t", &t) == 0 && t->kind == TYPE_RECORD,
	   "typedef_of_struct_is_record");
	is_int(btf_find_typedef("no_such_typedef_sonde", &t), -ENOENT, "unknown_typedef_is_enoent");
	ok(btf_find_enum_value("IPPROTO_TCP", &v) == 0 && v == IPPROTO_TCP,
	   "enum_value_ipproto_tcp");
	ok(btf_find_enum_value("IPPROTO_UDP", &v) == 0 && v == IPPROTO_UDP,
	   "enum_value_ipproto_udp");
	/* include/net/tcp_states.h: TCP_ESTABLISHED = 1, TCP_LISTEN = 10 (kernel ABI). */
	ok(btf_find_enum_value("TCP_ESTABLISHED", &v) == 0 && v == 1, "enum_value_tcp_established");
	ok(btf_find_enum_value("TCP_LISTEN", &v) == 0 && v == 10, "enum_value_tcp_listen");
	/* include/linux/perf_event.h: PERF_EVENT_STATE_OFF = -1 in a signed enum. */
	ok(btf_find_enum_value("PERF_EVENT_STATE_OFF", &v) == 0 && v == -1,
	   "signed_enum_value_stays_negative");
	/* uapi/linux/bpf.h: BPF_F_INDEX_MASK = 0xffffffffULL, a 64-bit enum. */
	ok(btf_find_enum_value("BPF_F_INDEX_MASK", &v) == 0 && v == 0xffffffffLL,
	   "enum64_value");
	is_int(btf_find_enum_value("NO_SUCH_ENUMERATOR_SONDE", &v), -ENOENT,
	       "unknown_enumerator_is_enoent");
}

/* The address of name as /proc/kallsyms shows it, read here independently. */
static int kallsyms_lookup(const char *name, uint64_t *addr)
{
	FILE *f = fopen("/proc/kallsyms", "r");
	char line[512], sym[256], type;
	uint64_t a;
	int found = -1;

	while (f && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%" SCNx64 " %c %255s", &a, &type, sym) == 3 &&
		    strcmp(sym, name) == 0) {
			*addr = a;
			found = 0;
			break;
		}
	}
	if (f)
		fclose(f);
	return found;
}

/* The member called name of the struct called sname in b: its bit offset, or -1. */
static long long out_member(const struct btf *b, const char *sname, const char *name)
{
	int id = btf__find_by_name_kind(b, sname, BTF_KIND_STRUCT), i;
	const struct btf_type *t = id > 0 ? btf__type_by_id(b, id) : NULL;
	const struct btf_member *m = t ? btf_members(t) : NULL;

	for (i = 0; t && i < btf_vlen(t); i++, m++)
		if (strcmp(btf__name_by_offset(b, m->name_off), name) == 0)
			return btf_member_bit_offset(t, (uint32_t)i);
	return -1;
}

/*
 * btf_core.c: the BTF libbpf relocates CO-RE accesses against holds the local structs the
 * kernel has, with the local members the kernel has, at the kernel's offsets (vm_start sits
 * in an anonymous union of vm_area_struct), and nothing else.
 */
static void test_core(void)
{
	struct btf *local = btf__new_empty(), *out = NULL;
	struct record *vma = NULL, *task = NULL;
	uint32_t start_off = 0, file_off = 0, mm_off = 0;
	const char *path;
	int ul, vp;

	ul = btf__add_int(local, "unsigned long", 8, 0);
	vp = btf__add_ptr(local, 0);
	btf__add_struct(local, "vm_area_struct", 24);
	btf__add_field(local, "vm_start", ul, 0, 0);
	btf__add_field(local, "vm_file", vp, 64, 0);
	btf__add_field(local, "sonde_no_such_member", ul, 128, 0);
	btf__add_struct(local, "task_struct", 8);
	btf__add_field(local, "mm", vp, 0, 0);
	btf__add_struct(local, "sonde_no_such_struct", 8);
	btf__add_field(local, "x", ul, 0, 0);
	path = btf_core_path();
	ok(path && btf_core_fill(local, NULL, 0) == 0, "core_btf_written");
	out = path ? btf__parse(path, NULL) : NULL;
	ok(out != NULL, "core_btf_parses");
	if (!out || btf_find_record("vm_area_struct", false, &vma) ||
	    btf_find_record("task_struct", false, &task) ||
	    !record_find_field(vma, "vm_start", &start_off) ||
	    !record_find_field(vma, "vm_file", &file_off) || !record_find_field(task, "mm", &mm_off)) {
		ok(false, "core_btf_kernel_layouts_known");
		goto out;
	}
	ok(out_member(out, "vm_area_struct", "vm_start") == (long long)start_off * 8 &&
	   out_member(out, "vm_area_struct", "vm_file") == (long long)file_off * 8,
	   "core_btf_vm_area_struct_members_at_kernel_offsets");
	ok(out_member(out, "task_struct", "mm") == (long long)mm_off * 8,
	   "core_btf_task_struct_mm_at_kernel_offset");
	ok(out_member(out, "vm_area_struct", "sonde_no_such_member") == -1,
	   "core_btf_leaves_out_a_member_the_kernel_lacks");
	ok(btf__find_by_name_kind(out, "sonde_no_such_struct", BTF_KIND_STRUCT) < 0,
	   "core_btf_leaves_out_a_struct_the_kernel_lacks");
	ok(btf__type_by_id(out, (uint32_t)btf__find_by_name_kind(out, "vm_area_struct",
								BTF_KIND_STRUCT))->size == vma->size,
	   "core_btf_struct_has_the_kernel_size");
out:
	btf__free(out);
	btf__free(local);
	btf_core_cleanup();
}

static void test_ksyms(void)
{
	struct strbuf sb;
	uint64_t addr = 0, got = 0;

	if (kallsyms_lookup("do_sys_openat2", &addr) || !addr) {
		skip("kallsyms addresses hidden (not root?)", "ksym_resolves_symbol_plus_offset");
		return;
	}
	sb_init(&sb);
	ksyms_resolve(addr + 5, &sb);
	is_str(sb.buf, "do_sys_openat2+5", "ksym_resolves_symbol_plus_offset");
	sb.len = 0;
	ksyms_resolve(addr, &sb);
	is_str(sb.buf, "do_sys_openat2+0", "ksym_at_symbol_start_has_offset_0");
	sb.len = 0;
	ksyms_resolve_name(addr + 5, &sb);
	is_str(sb.buf, "do_sys_openat2", "ksym_name_only");
	sb.len = 0;
	ksyms_resolve(0x10, &sb);
	is_str(sb.buf, "0x10", "address_below_every_symbol_prints_as_hex");
	sb_free(&sb);
	ok(ksyms_addr("do_sys_openat2", &got) == 0 && got == addr, "ksyms_addr_matches_kallsyms");
	is_int(ksyms_addr("no_such_symbol_sonde", &got), -ENOENT, "unknown_ksym_is_enoent");
}

int main(void)
{
	if (access("/sys/kernel/btf/vmlinux", R_OK) != 0) {
		ok(!btf_available(), "btf_unavailable_without_vmlinux_file");
		skip("no /sys/kernel/btf/vmlinux", "kernel BTF tests");
	} else {
		ok(btf_available(), "btf_available_with_vmlinux_file");
		test_sockaddr();
		test_task_struct();
		test_bitfield();
		test_anonymous();
		test_typedef_enum();
		test_core();
	}
	test_ksyms();
	btf_cleanup();
	ksyms_cleanup();
	types_free_all();
	return done_testing();
}
