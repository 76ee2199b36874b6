/*
 * test_flamegraph.c - frame names from decoded stack lines, folding (sort and merge), and the
 * flame graph SVG's frames, hover titles and widths.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/flamegraph.h"
#include "tests/unit/tap.h"

static void name_is(const char *line, const char *want, const char *tname)
{
	char *got = flame_frame_name(line);

	is_str(got, want, tname);
	free(got);
}

static char *svg_of(const struct flame_set *fs)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	flame_write_svg(fs, "Test <graph>", f);
	fclose(f);
	return buf;
}

int main(void)
{
	struct flame_set fs = { 0 };
	char *buf = NULL, *svg;
	size_t len = 0;
	FILE *f;

	name_is("    fixture_add+4", "fixture_add", "frame_name_drops_indent_and_offset");
	name_is("fixture_add+0x1c", "fixture_add", "frame_name_drops_hex_offset");
	name_is("\t7f12ab34 fixture_add+4 (/tmp/uprobe_target)", "fixture_add",
		"frame_name_perf_layout_drops_address_and_module");
	name_is("main+12 (uprobe_target.c:40)", "main", "frame_name_drops_file_line");
	name_is("Ip::ProbeTransport()+33", "Ip::ProbeTransport()", "frame_name_keeps_cxx_signature");
	name_is("0x7f0012", "0x7f0012", "frame_name_keeps_unsymbolized_address");
	name_is("a;b+1", "a:b", "frame_name_semicolon_cannot_split_a_frame");

	flame_add(&fs, "main;outer;inner", 3);
	flame_add(&fs, "main;a_first", 1);
	flame_add(&fs, "main;outer;inner", 4);
	flame_sort(&fs);
	is_int((int64_t)fs.n, 2, "sort_merges_identical_stacks");
	f = open_memstream(&buf, &len);
	flame_write_folded(&fs, f);
	fclose(f);
	is_str(buf, "main;a_first 1\nmain;outer;inner 7\n", "folded_lines_sorted_with_summed_counts");
	free(buf);

	svg = svg_of(&fs);
	ok(strncmp(svg, "<?xml", 5) == 0 && strstr(svg, "</svg>\n"), "svg_is_a_complete_document");
	ok(strstr(svg, "<title>all (count 8, 100.00%)</title>") != NULL, "svg_root_frame_counts_all");
	ok(strstr(svg, "<title>inner (count 7, 87.50%)</title>") != NULL,
	   "svg_hover_title_has_frame_count_and_share");
	ok(strstr(svg, "<title>a_first (count 1, 12.50%)</title>") != NULL, "svg_small_frame_present");
	ok(strstr(svg, "width=\"1180.00\"") && strstr(svg, "width=\"1032.50\""),
	   "svg_widths_proportional_to_counts");
	ok(strstr(svg, "Test &lt;graph&gt;") != NULL, "svg_title_is_escaped");
	ok(strstr(svg, "function zoom(") && strstr(svg, "addEventListener('click'"),
	   "svg_embeds_its_zoom_script");
	ok(strstr(svg, "http") == strstr(svg, "http://www.w3.org/2000/svg") &&
	   !strstr(svg, "src=") && !strstr(svg, "href="), "svg_fetches_nothing");
	free(svg);
	flame_free(&fs);

	flame_add(&fs, "x<&>", 1);
	svg = svg_of(&fs);
	ok(strstr(svg, "<title>x&lt;&amp;&gt; (count 1") != NULL, "svg_frame_names_are_escaped");
	free(svg);
	flame_free(&fs);
	return done_testing();
}
