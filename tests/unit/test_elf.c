/*
 * test_elf.c - ELF symbols, uprobe file offsets in every layout, debug files, C++ names,
 * instruction boundaries and library paths, on fixtures compiled at test time.
 *
 * Every offset sonde computes through the program headers is checked against an independent
 * route: nm for the symbol value and the containing section's sh_offset for the file offset.
 */
#include <errno.h>
#include <stdbool.h>
#include <sys/stat.h>

#include "runtime/demangle.h"
#include "runtime/disasm.h"
#include "runtime/elf.h"
#include "runtime/libpath.h"
#include "common/util.h"
#include "tests/fixtures/fixtures.h"
#include "tests/unit/tap.h"

static char name[256];

static const char *tname(const char *fmt, const char *arg)
{
	snprintf(name, sizeof(name), fmt, arg);
	return name;
}

/* sym's offset through sonde equals the section route, and func+N adds N. */
static void check_layout(const char *file, const char *label, bool want_pie)
{
	struct elf_file *ef;
	struct elf_sym s;
	uint64_t off = 0, off4 = 0, want = 0, v = 0, delta = 0, nmv;
	char sec[64] = "";
	int err;

	err = elf_open(fx_path(file), &ef);
	if (!ok(err == 0, tname("elf_open_opens_%s_fixture", label)))
		return;
	nmv = fx_nm(fx_path(file), "fixture_work");
	ok(elf_sym_find(ef, "fixture_work", &s) == 0 && s.vaddr == nmv && s.size > 0 && !s.demangled,
	   tname("symbol_value_matches_nm_on_%s", label));
	err = elf_sym_offset(ef, "fixture_work", 0, &off);
	ok(err == 0 && fx_section_offset(fx_path(file), nmv, &want, sec, sizeof(sec)) == 0 &&
		   strcmp(sec, ".text") == 0 && off == want,
	   tname("uprobe_offset_equals_text_section_offset_on_%s", label));
	ok(elf_sym_offset(ef, "fixture_work", 4, &off4) == 0 && off4 == off + 4,
	   tname("func_plus_n_offset_adds_n_on_%s", label));
	ok(elf_offset_to_vaddr(ef, off, &v) == 0 && v == nmv,
	   tname("offset_to_vaddr_inverts_vaddr_to_offset_on_%s", label));
	ok(elf_sym_at(ef, nmv + 3, &s, &delta) == 0 && strcmp(s.name, "fixture_work") == 0 && delta == 3,
	   tname("sym_at_finds_containing_function_and_delta_on_%s", label));
	is_int(elf_is_pie_or_dyn(ef), want_pie, tname("pie_detection_on_%s", label));
	elf_close(ef);
}

static void test_layouts(void)
{
	struct elf_file *ef;
	struct elf_sym s;
	uint64_t text_addr = 0, text_off = 0, off = 0, want = 0, v, nmv;
	unsigned char a[16], b[16];

	check_layout("target_gcc_pie", "gcc_pie", true);
	check_layout("target_gcc_nopie", "gcc_nopie", false);
	check_layout("target_lld", "clang_lld", true);

	/* the layout that broke older tools: .text's address is not its file offset */
	ok(fx_section(fx_path("target_lld"), ".text", &text_addr, &text_off) == 0 && text_addr != text_off,
	   "lld_fixture_has_text_vaddr_different_from_file_offset");
	if (elf_open(fx_path("target_lld"), &ef) == 0) {
		nmv = fx_nm(fx_path("target_lld"), "fixture_work");
		ok(elf_sym_offset(ef, "fixture_work", 0, &off) == 0 && off != nmv &&
			   off == nmv - text_addr + text_off,
		   "uprobe_offset_correct_on_lld_binary_where_text_vaddr_differs_from_offset");
		/* the bytes at the offset are the function's: same as through the section route */
		fx_section_offset(fx_path("target_lld"), nmv, &want, NULL, 0);
		ok(fx_read(fx_path("target_lld"), off, a, sizeof(a)) == 0 &&
			   fx_read(fx_path("target_lld"), want, b, sizeof(b)) == 0 && memcmp(a, b, 16) == 0 &&
			   elf_read(ef, off, b, sizeof(b)) == 0 && memcmp(a, b, 16) == 0,
		   "bytes_at_lld_uprobe_offset_are_the_function_entry");
		/* the movabs fixture: its first bytes are 48 b8 (REX.W mov imm64) */
		ok(elf_sym_offset(ef, "fixture_movabs", 0, &off) == 0 && fx_read(fx_path("target_lld"), off, a, 2) == 0 &&
			   a[0] == 0x48 && a[1] == 0xb8,
		   "lld_offset_of_asm_function_points_at_its_first_instruction");
		is_int(elf_sym_offset(ef, "fixture_work", 100000, &off), -ERANGE,
		       "func_plus_n_past_function_size_is_rejected");
		is_int(elf_sym_offset(ef, "no_such_function", 0, &off), -ENOENT,
		       "unknown_function_is_enoent");
		is_int(elf_vaddr_to_offset(ef, 0x7fff00000000ULL, &off), -ENOENT,
		       "vaddr_outside_every_pt_load_is_enoent");
		is_int(elf_offset_to_vaddr(ef, 0x7fff0000ULL, &v), -ENOENT,
		       "offset_outside_every_pt_load_is_enoent");
		ok(elf_sym_find(ef, "fixture_static", &s) == 0 && s.vaddr == fx_nm(fx_path("target_lld"), "fixture_static"),
		   "local_static_function_found_in_symtab");
		ok(elf_sym_find(ef, "fixture_weak", &s) == 0, "weak_function_found");
		elf_close(ef);
	}
}

struct count_ctx {
	const char *name;
	int seen, total;
	int stop_after;
};

static int count_cb(const struct elf_sym *s, void *p)
{
	struct count_ctx *c = p;

	c->total++;
	if (strcmp(s->name, c->name) == 0)
		c->seen++;
	if (c->stop_after && c->total == c->stop_after)
		return 42;
	return 0;
}

static void test_shared_lib_and_foreach(void)
{
	struct elf_file *ef;
	struct elf_sym s;
	struct count_ctx c = { .name = "libfix_add" };
	uint64_t off = 0, want = 0, nmv;

	if (!ok(elf_open(fx_path("libfix.so"), &ef) == 0, "elf_open_opens_shared_library"))
		return;
	nmv = fx_nm(fx_path("libfix.so"), "libfix_add");
	ok(elf_sym_offset(ef, "libfix_add", 0, &off) == 0 &&
		   fx_section_offset(fx_path("libfix.so"), nmv, &want, NULL, 0) == 0 && off == want,
	   "uprobe_offset_correct_in_shared_library");
	ok(elf_is_pie_or_dyn(ef), "shared_library_is_dyn");
	/* libfix_add is in both .symtab and .dynsym: reported once */
	ok(elf_sym_foreach(ef, count_cb, &c) == 0 && c.seen == 1 && c.total > 2,
	   "foreach_reports_each_function_name_once_across_symtab_and_dynsym");
	c = (struct count_ctx){ .name = "x", .stop_after = 2 };
	ok(elf_sym_foreach(ef, count_cb, &c) == 42 && c.total == 2,
	   "foreach_stops_at_nonzero_callback_return_and_returns_it");
	ok(elf_build_id(ef) && strcmp(elf_build_id(ef),
				      fx_sh("readelf -n '%s' | sed -n 's/.*Build ID: *//p'%s", fx_path("libfix.so"), "")) == 0,
	   "build_id_matches_readelf");
	elf_close(ef);

	if (elf_open(fx_path("libfix_stripped.so"), &ef) == 0) {
		ok(elf_sym_find(ef, "libfix_mul", &s) == 0 && s.vaddr == fx_nm(fx_path("libfix.so"), "libfix_mul") &&
			   elf_debug_path(ef) == NULL,
		   "stripped_shared_library_symbols_come_from_dynsym");
		elf_close(ef);
	}
	is_int(elf_open(fx_path("target.c") /* missing: sources are not in the build dir */, &ef), -ENOENT,
	       "elf_open_missing_file_is_enoent");
	is_int(elf_open("/etc/hostname", &ef), -ENOEXEC, "elf_open_non_elf_file_is_enoexec");
}

static void check_debug(const char *file, const char *label, bool want_found, const char *want_in_path)
{
	struct elf_file *ef;
	struct elf_sym s;
	uint64_t off = 0, want = 0, nmv;
	int err;

	if (elf_open(fx_path(file), &ef) != 0) {
		ok(0, tname("elf_open_%s", label));
		return;
	}
	err = elf_sym_find(ef, "fixture_work", &s);
	if (!want_found) {
		is_int(err, -ENOENT, tname("%s", label));
		elf_close(ef);
		return;
	}
	/* the symbol from the debug file, the offset from the stripped binary's program headers */
	nmv = s.vaddr;
	ok(err == 0 && elf_debug_path(ef) && strstr(elf_debug_path(ef), want_in_path) &&
		   elf_sym_offset(ef, "fixture_work", 0, &off) == 0 &&
		   fx_section_offset(fx_path(file), nmv, &want, NULL, 0) == 0 && off == want,
	   tname("%s", label));
	elf_close(ef);
}

static void test_debug_files(void)
{
	char empty[300], bidfile[600];
	const char *bid;

	snprintf(empty, sizeof(empty), "%s/no-debug-root", fx_dir);
	elf_set_debug_root(empty);
	check_debug("target_bid", "stripped_binary_without_debug_file_has_no_symtab_symbols", false, NULL);
	elf_set_debug_root(fx_path("debugroot"));
	check_debug("target_bid", "stripped_binary_symbols_from_build_id_debug_file", true, "/.build-id/");
	elf_set_debug_root(empty);
	check_debug("target_link", "stripped_binary_symbols_from_gnu_debuglink_in_same_dir", true,
		    "/target_link.debug");
	check_debug("target_link2", "stripped_binary_symbols_from_gnu_debuglink_in_debug_subdir", true,
		    "/.debug/target_link2.debug");
	check_debug("target_badcrc", "gnu_debuglink_file_with_wrong_crc_is_ignored", false, NULL);

	bid = fx_sh("readelf -n '%s' | sed -n 's/.*Build ID: *//p'%s", fx_path("target_bid"), "");
	snprintf(bidfile, sizeof(bidfile), "%s/debugroot/.build-id/%.2s/%s.debug", fx_dir, bid, bid + 2);
	elf_set_debug_file(bidfile);
	check_debug("target_bid", "debug_file_named_by_user_serves_binary_with_same_build_id", true, "/.build-id/");
	elf_set_debug_file(NULL);
	elf_set_debug_root(NULL);
}

static void check_cpp(struct elf_file *ef, const char *query, const char *mangled, const char *label)
{
	struct elf_sym s;
	uint64_t nmv = fx_nm(fx_path("cpp"), mangled);

	ok(nmv && elf_sym_find(ef, query, &s) == 0 && s.vaddr == nmv && strcmp(s.name, mangled) == 0, label);
}

static void test_cpp(void)
{
	struct elf_file *ef;
	struct elf_sym s;
	uint64_t delta = 0;
	char *d;

	d = demangle("_ZN2Ns3Cls1fEi");
	is_str(d, "Ns::Cls::f(int)", "demangle_gives_qualified_name_with_parameters");
	free(d);
	ok(demangle("main") == NULL && demangle("_Znot-a-name") == NULL, "demangle_returns_null_for_c_names");

	if (!ok(elf_open(fx_path("cpp"), &ef) == 0, "elf_open_opens_cpp_fixture"))
		return;
	check_cpp(ef, "Ns::Cls::f(int)", "_ZN2Ns3Cls1fEi", "cpp_overload_found_by_demangled_signature_int");
	check_cpp(ef, "Ns::Cls::f(double)", "_ZN2Ns3Cls1fEd", "cpp_overload_found_by_demangled_signature_double");
	check_cpp(ef, "Ns::Cls::g", "_ZN2Ns3Cls1gEl", "cpp_static_method_found_without_parameter_list");
	check_cpp(ef, "Ns::only_one", "_ZN2Ns8only_oneEi", "cpp_function_found_without_parameter_list");
	check_cpp(ef, "Ns::twice<int>", "_ZN2Ns5twiceIiEET_S1_",
		  "cpp_template_instance_found_without_return_type_and_parameters");
	check_cpp(ef, "Ns::twice<long>(long)", "_ZN2Ns5twiceIlEET_S1_",
		  "cpp_template_instance_found_by_signature_without_return_type");
	check_cpp(ef, "_ZN2Ns3Cls1fEd", "_ZN2Ns3Cls1fEd", "cpp_function_found_by_mangled_name");
	is_int(elf_sym_find(ef, "Ns::Cls::f", &s), -ENOTUNIQ, "cpp_overloaded_name_without_parameters_is_ambiguous");
	is_int(elf_sym_find(ef, "Ns::Cls::h(int)", &s), -ENOENT, "cpp_unknown_method_is_enoent");
	ok(elf_sym_at(ef, fx_nm(fx_path("cpp"), "_ZN2Ns3Cls1fEd") + 1, &s, &delta) == 0 && s.demangled &&
		   strcmp(s.demangled, "Ns::Cls::f(double)") == 0 && delta == 1,
	   "sym_at_reports_demangled_cpp_name");
	elf_close(ef);
}

/* objdump's instruction starts in fixture_work: the reference for the boundary check. */
static int objdump_starts(const char *file, uint64_t start, uint64_t *starts, int max)
{
	char cmd[700], line[512];
	FILE *f;
	int n = 0;

	snprintf(cmd, sizeof(cmd), "objdump -d --no-show-raw-insn --disassemble=fixture_work '%s'", file);
	f = popen(cmd, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char *end;
		unsigned long long a = strtoull(line, &end, 16);

		if (end != line && *end == ':' && line[0] == ' ' && n < max)
			starts[n++] = a - start;
	}
	pclose(f);
	return n;
}

static void test_disasm(void)
{
	const char *files[] = { "target_gcc_pie", "target_lld" };

	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		struct elf_file *ef;
		struct elf_sym s;
		uint64_t starts[256];
		int n, bad = 0, inside = 1;

		if (elf_open(fx_path(files[i]), &ef) != 0)
			continue;
		if (elf_sym_find(ef, "fixture_movabs", &s) == 0) {
			is_int(disasm_check_boundary(ef, &s, 0), 0, tname("boundary_check_accepts_function_entry_on_%s", files[i]));
			for (uint64_t a = 1; a < 10; a++)
				inside &= disasm_check_boundary(ef, &s, a) == -EINVAL;
			ok(inside, tname("boundary_check_rejects_offsets_inside_10_byte_movabs_on_%s", files[i]));
			is_int(disasm_check_boundary(ef, &s, 10), 0,
			       tname("boundary_check_accepts_instruction_after_movabs_on_%s", files[i]));
			is_int(disasm_check_boundary(ef, &s, 11), -ERANGE,
			       tname("boundary_check_rejects_offset_past_function_end_on_%s", files[i]));
		}
		if (elf_sym_find(ef, "fixture_work", &s) == 0) {
			n = objdump_starts(fx_path(files[i]), s.vaddr, starts, 256);
			for (uint64_t a = 0; a < s.size && n > 0; a++) {
				bool is_start = false;

				for (int k = 0; k < n; k++)
					is_start |= starts[k] == a;
				if ((disasm_check_boundary(ef, &s, a) == 0) != is_start)
					bad++;
			}
			ok(n > 3 && bad == 0, tname("boundary_check_agrees_with_objdump_at_every_offset_on_%s", files[i]));
		}
		elf_close(ef);
	}
}

/* binutils' addr2line for vaddr (independent of libdw): "file:line". */
static const char *addr2line(const char *file, uint64_t vaddr)
{
	char a[32];

	snprintf(a, sizeof(a), "0x%" PRIx64, vaddr);
	return fx_sh("addr2line -e '%s' %s", file, a);
}

static void test_lines(void)
{
	const char *files[] = { "target_gcc_pie", "target_lld", "target_bid" };

	elf_set_debug_root(fx_path("debugroot"));
	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		struct elf_file *ef;
		struct elf_sym s;
		char *file = NULL, got[700] = "";
		int line = 0;

		if (elf_open(fx_path(files[i]), &ef) != 0)
			continue;
		if (elf_sym_find(ef, "fixture_work", &s) == 0 &&
		    elf_addr_to_line(ef, s.vaddr + 4, &file, &line) == 0)
			snprintf(got, sizeof(got), "%s:%d", file, line);
		/* a stripped binary's lines come from its debug file; ask addr2line there */
		is_str(got, addr2line(elf_debug_path(ef) ? elf_debug_path(ef) : fx_path(files[i]), s.vaddr + 4),
		       tname("dwarf_source_line_matches_addr2line_on_%s", files[i]));
		ok(strstr(got, "/target.c:"), tname("dwarf_source_file_is_the_fixture_source_on_%s", files[i]));
		free(file);
		elf_close(ef);
	}
	elf_set_debug_root(NULL);
}

static void test_libpath(void)
{
	char *p = NULL, want[600];
	const char *ld;
	struct stat st;
	int err;

	err = libpath_resolve("libc", 0, &p);
	ok(err == 0 && strstr(p, "/libc.so.6") && stat(p, &st) == 0, "libpath_finds_libc_by_bare_name");
	free(p);
	p = NULL;
	err = libpath_resolve("libc.so.6", 0, &p);
	ok(err == 0 && strcmp(strrchr(p, '/'), "/libc.so.6") == 0, "libpath_finds_library_by_soname");
	free(p);
	p = NULL;
	/* the cache's first entry for libz, as ldconfig lists the cache in its own order */
	ld = fx_sh("ldconfig -p | awk '/^\\tlibz\\.so[ .].*x86-64/ { print $NF; exit }'%s%s", "", "");
	snprintf(want, sizeof(want), "%s", ld);
	err = libpath_resolve("libz", 0, &p);
	ok(*want && err == 0 && strcmp(p, want) == 0, "libpath_reads_ld_so_cache_like_ldconfig");
	free(p);
	p = NULL;
	is_int(libpath_resolve("libsonde_does_not_exist", 0, &p), -ENOENT, "libpath_unknown_library_is_enoent");
	err = libpath_resolve("sh", 0, &p);
	ok(err == 0 && p[0] == '/' && strcmp(strrchr(p, '/'), "/sh") == 0 && access(p, X_OK) == 0,
	   "libpath_finds_bare_executable_in_path");
	free(p);
	p = NULL;
	err = libpath_resolve(fx_path("target_lld"), 0, &p);
	ok(err == 0 && strcmp(p, fx_path("target_lld")) == 0, "libpath_returns_path_with_slash_as_is");
	free(p);
	p = NULL;
	/* with a pid: what the process mapped; our own libc is the same inode, so no prefix */
	{
		char pid[32], maps[64];

		snprintf(pid, sizeof(pid), "%d", (int)getpid());
		snprintf(maps, sizeof(maps), "/proc/%s/maps", pid);
		snprintf(want, sizeof(want), "%s",
			 fx_sh("awk '$6 ~ /\\/libc\\.so\\.6$/ { print $6; exit }' %s%s", maps, ""));
	}
	err = libpath_resolve("libc", (int)getpid(), &p);
	ok(*want && err == 0 && strcmp(p, want) == 0, "libpath_with_pid_uses_the_process_mapped_library");
	free(p);
	p = NULL;
	is_int(libpath_resolve("/no/such/file", (int)getpid(), &p), -ENOENT,
	       "libpath_with_pid_checks_the_path_exists_in_the_process_root");
}

int main(void)
{
	if (!fx_build("lib c stripped cpp")) {
		ok(0, "fixtures_build");
		fx_cleanup();
		return done_testing();
	}
	test_layouts();
	test_shared_lib_and_foreach();
	test_debug_files();
	test_cpp();
	test_disasm();
	test_lines();
	test_libpath();
	fx_cleanup();
	return done_testing();
}
