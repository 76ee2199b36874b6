/*
 * test_usdt_notes.c - .note.stapsdt parsing on <sys/sdt.h> fixtures (gcc and clang+lld) and
 * x86-64 USDT argument spec decoding.
 */
#include <errno.h>
#include <stdbool.h>

#include "runtime/elf.h"
#include "runtime/usdt_notes.h"
#include "common/util.h"
#include "tests/fixtures/fixtures.h"
#include "tests/unit/tap.h"

struct seen {
	struct usdt_note plain, sema;
	char plain_args[128], sema_args[128];
	int n;
};

static int note_cb(const struct usdt_note *n, void *p)
{
	struct seen *s = p;

	s->n++;
	if (strcmp(n->provider, "fixprov") != 0)
		return 0;
	if (strcmp(n->name, "plain") == 0) {
		s->plain = *n;
		snprintf(s->plain_args, sizeof(s->plain_args), "%s", n->args);
	} else if (strcmp(n->name, "withsema") == 0) {
		s->sema = *n;
		snprintf(s->sema_args, sizeof(s->sema_args), "%s", n->args);
	}
	return 0;
}

static int stop_cb(const struct usdt_note *n, void *p)
{
	return 7;
}

static char tn[200];

static const char *name(const char *fmt, const char *a)
{
	snprintf(tn, sizeof(tn), fmt, a);
	return tn;
}

static void check_fixture(const char *file)
{
	struct elf_file *ef;
	struct seen s = { 0 };
	struct usdt_arg args[USDT_MAX_ARGS];
	struct elf_sym fn;
	uint64_t sec_addr = 0, sec_off = 0, delta;
	unsigned char byte = 0;
	int nargs = USDT_MAX_ARGS;

	if (!ok(elf_open(fx_path(file), &ef) == 0, name("elf_open_opens_usdt_fixture_%s", file)))
		return;
	ok(usdt_notes_foreach(ef, note_cb, &s) == 0 && s.n == 2, name("both_usdt_notes_found_in_%s", file));
	is_int(usdt_notes_foreach(ef, stop_cb, NULL), 7, name("usdt_foreach_returns_callback_stop_value_%s", file));

	/* the probe site is a nop: the byte at the computed file offset must be 0x90 */
	ok(s.plain.pc && fx_read(fx_path(file), s.plain.pc_offset, &byte, 1) == 0 && byte == 0x90,
	   name("usdt_probe_file_offset_points_at_its_nop_%s", file));
	ok(s.sema.pc && fx_read(fx_path(file), s.sema.pc_offset, &byte, 1) == 0 && byte == 0x90,
	   name("usdt_semaphore_probe_file_offset_points_at_its_nop_%s", file));
	ok(elf_sym_at(ef, s.plain.pc, &fn, &delta) == 0 && strcmp(fn.name, "main") == 0,
	   name("usdt_probe_pc_lies_in_the_function_that_fires_it_%s", file));
	is_int(s.plain.semaphore, 0, name("usdt_probe_without_semaphore_reports_none_%s", file));
	ok(s.sema.semaphore && s.sema.semaphore == fx_nm(fx_path(file), "fixprov_withsema_semaphore"),
	   name("usdt_semaphore_address_matches_its_symbol_%s", file));
	ok(fx_section(fx_path(file), ".probes", &sec_addr, &sec_off) == 0 &&
		   s.sema.sema_offset == s.sema.semaphore - sec_addr + sec_off,
	   name("usdt_semaphore_file_offset_matches_probes_section_%s", file));
	ok(usdt_parse_args(s.plain_args, args, &nargs) == 0 && nargs == 2 && args[0].size == 4 &&
		   args[0].is_signed && args[1].size == 8 && args[1].is_signed,
	   name("usdt_fixture_argument_spec_decodes_int_and_long_%s", file));
	elf_close(ef);
}

static void test_parse(void)
{
	struct usdt_arg a[USDT_MAX_ARGS];
	int n = USDT_MAX_ARGS;
	const char *field;
	int off;

	ok(usdt_parse_args("-4@%edi 8@-16(%rbp) 4@$5 -8@%rax 8@8(%rax,%rbx,4)", a, &n) == 0 && n == 5,
	   "usdt_args_decodes_five_specs");
	ok(a[0].kind == USDT_ARG_REG && a[0].size == 4 && a[0].is_signed && strcmp(a[0].reg, "di") == 0 &&
		   a[0].reg_off == 112,
	   "usdt_arg_32bit_register_maps_to_pt_regs_di");
	ok(a[1].kind == USDT_ARG_MEM && a[1].size == 8 && !a[1].is_signed && strcmp(a[1].reg, "bp") == 0 &&
		   a[1].reg_off == 32 && a[1].val == -16 && a[1].idx_off == -1,
	   "usdt_arg_memory_with_negative_displacement_off_rbp");
	ok(a[2].kind == USDT_ARG_CONST && a[2].size == 4 && a[2].val == 5, "usdt_arg_constant");
	ok(a[3].kind == USDT_ARG_REG && a[3].is_signed && a[3].size == 8 && strcmp(a[3].reg, "ax") == 0 &&
		   a[3].reg_off == 80,
	   "usdt_arg_signed_64bit_register_rax");
	ok(a[4].kind == USDT_ARG_MEM && a[4].val == 8 && strcmp(a[4].reg, "ax") == 0 && a[4].reg_off == 80 &&
		   strcmp(a[4].idx_reg, "bx") == 0 && a[4].idx_off == 40 && a[4].scale == 4,
	   "usdt_arg_memory_with_base_index_and_scale");

	n = USDT_MAX_ARGS;
	ok(usdt_parse_args("1@%r8b 2@%r9w -4@%r10d 8@%r15 8@%rsp 8@%rip", a, &n) == 0 && n == 6 &&
		   a[0].reg_off == 72 && strcmp(a[0].reg, "r8") == 0 && a[1].reg_off == 64 && a[2].reg_off == 56 &&
		   a[3].reg_off == 0 && a[4].reg_off == 152 && a[5].reg_off == 128 && a[0].size == 1 && a[1].size == 2,
	   "usdt_arg_numbered_registers_of_every_width_normalize");
	n = USDT_MAX_ARGS;
	ok(usdt_parse_args("8@counter(%rip) -4@(%rsi) 4@$-0x10", a, &n) == 0 && n == 3 &&
		   strcmp(a[0].sym, "counter") == 0 && a[0].reg_off == 128 && a[1].val == 0 &&
		   a[1].reg_off == 104 && a[2].val == -16,
	   "usdt_arg_rip_relative_symbol_plain_indirect_and_hex_constant");
	n = USDT_MAX_ARGS;
	ok(usdt_parse_args("", a, &n) == 0 && n == 0, "usdt_empty_spec_has_no_arguments");
	n = 2;
	is_int(usdt_parse_args("4@%eax 4@%ebx 4@%ecx", a, &n), -E2BIG, "usdt_more_args_than_capacity_is_e2big");
	n = USDT_MAX_ARGS;
	is_int(usdt_parse_args("3@%eax", a, &n), -EINVAL, "usdt_invalid_size_is_einval");
	n = USDT_MAX_ARGS;
	is_int(usdt_parse_args("4@%xmm0", a, &n), -ENOTSUP, "usdt_vector_register_is_unsupported");
	n = USDT_MAX_ARGS;
	is_int(usdt_parse_args("1@%ah", a, &n), -ENOTSUP, "usdt_high_byte_register_is_unsupported");
	n = USDT_MAX_ARGS;
	is_int(usdt_parse_args("8@-16(%rbp", a, &n), -EINVAL, "usdt_unterminated_memory_operand_is_einval");
	ok(usdt_reg_lookup("esi", &field, &off) == 0 && strcmp(field, "si") == 0 && off == 104,
	   "usdt_reg_lookup_esi_is_si_at_104");
}

/*
 * Simulate prelink: in a copy of the fixture, make every note record a .stapsdt.base and pc
 * 0x1000 lower than the section's actual address.  The parser must apply the SDT spec's
 * adjustment (pc += actual base - recorded base) and find the same probe sites.
 */
static void test_base_adjustment(void)
{
	struct elf_file *ef;
	struct seen orig = { 0 }, moved = { 0 };
	uint64_t naddr, noff, cur = 0, size;
	char cmd[700];
	FILE *f;
	int patched = 0;

	if (elf_open(fx_path("usdt_gcc"), &ef) != 0)
		return;
	usdt_notes_foreach(ef, note_cb, &orig);
	elf_close(ef);
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", fx_path("usdt_gcc"), fx_path("usdt_prelinked"));
	if (system(cmd) != 0 || fx_section(fx_path("usdt_gcc"), ".note.stapsdt", &naddr, &noff) != 0)
		return;
	size = strtoull(fx_sh("readelf -SW '%s' | awk '$2 == \".note.stapsdt\" { print $6 }'%s",
			      fx_path("usdt_gcc"), ""), NULL, 16);
	f = fopen(fx_path("usdt_prelinked"), "r+b");
	while (f && cur + 12 <= size) {
		uint32_t nh[3];
		uint64_t pc, base;
		uint64_t desc;

		if (fseek(f, (long)(noff + cur), SEEK_SET) || fread(nh, 4, 3, f) != 3)
			break;
		desc = noff + cur + 12 + ALIGN_UP(nh[0], 4);
		if (fseek(f, (long)desc, SEEK_SET) || fread(&pc, 8, 1, f) != 1 || fread(&base, 8, 1, f) != 1)
			break;
		pc -= 0x1000;
		base -= 0x1000;
		if (fseek(f, (long)desc, SEEK_SET) || fwrite(&pc, 8, 1, f) != 1 || fwrite(&base, 8, 1, f) != 1)
			break;
		patched++;
		cur += 12 + ALIGN_UP(nh[0], 4) + ALIGN_UP(nh[1], 4);
	}
	if (f)
		fclose(f);
	if (elf_open(fx_path("usdt_prelinked"), &ef) != 0)
		return;
	usdt_notes_foreach(ef, note_cb, &moved);
	elf_close(ef);
	ok(patched == 2 && moved.plain.base == orig.plain.base - 0x1000 && moved.plain.pc == orig.plain.pc &&
		   moved.sema.pc == orig.sema.pc && moved.plain.pc_offset == orig.plain.pc_offset,
	   "usdt_pc_adjusted_by_stapsdt_base_delta_as_sdt_spec_says");
}

int main(void)
{
	test_parse();
	if (!fx_build("usdt")) {
		ok(0, "fixtures_build");
		fx_cleanup();
		return done_testing();
	}
	check_fixture("usdt_gcc");
	check_fixture("usdt_lld");
	test_base_adjustment();
	{
		uint64_t a = 0, o = 0;

		ok(fx_section(fx_path("usdt_lld"), ".text", &a, &o) == 0 && a != o,
		   "usdt_lld_fixture_has_text_vaddr_different_from_file_offset");
	}
	fx_cleanup();
	return done_testing();
}
