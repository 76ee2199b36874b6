/*
 * flamegraph.c - folded stacks and the flame graph SVG.
 *
 * The SVG follows the layout of Brendan Gregg's flamegraph.pl, so it reads like the pictures
 * people know: the root ("all") at the bottom, each frame above its caller, widths
 * proportional to counts, children sorted by name.  It is self-contained: the style and the
 * script are embedded, nothing is fetched.  Every frame is a <g class="f"> holding a <title>
 * (the browser's hover text: frame, count and share), a <rect> and a <text>; the script shows
 * the hovered frame in the details line and zooms into a clicked frame (ancestors stretched
 * to the full width, frames outside it hidden).  Opening FILE.svg#fN zooms into frame N on
 * load, the same code path as a click.
 */
#include "flamegraph.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

#define FG_WIDTH 1200
#define FG_PAD 10
#define FG_FRAME_H 16
#define FG_HEAD 40
#define FG_FOOT 28
#define FG_FONT 12
#define FG_CHAR_W (FG_FONT * 0.59)	/* average Verdana glyph width, as flamegraph.pl */
#define FG_MIN_W 0.1			/* narrower frames are not drawn */

void flame_add(struct flame_set *fs, const char *frames, uint64_t count)
{
	xgrow((void **)&fs->v, &fs->cap, fs->n + 1, sizeof(*fs->v));
	fs->v[fs->n].frames = xstrdup(frames);
	fs->v[fs->n++].count = count;
}

static int cmp_stack(const void *a, const void *b)
{
	return strcmp(((const struct flame_stack *)a)->frames, ((const struct flame_stack *)b)->frames);
}

void flame_sort(struct flame_set *fs)
{
	size_t i, o = 0;

	if (!fs->n)
		return;
	qsort(fs->v, fs->n, sizeof(*fs->v), cmp_stack);
	for (i = 1; i < fs->n; i++) {
		if (strcmp(fs->v[i].frames, fs->v[o].frames) == 0) {
			fs->v[o].count += fs->v[i].count;
			free(fs->v[i].frames);
		} else {
			fs->v[++o] = fs->v[i];
		}
	}
	fs->n = o + 1;
}

void flame_free(struct flame_set *fs)
{
	size_t i;

	for (i = 0; i < fs->n; i++)
		free(fs->v[i].frames);
	free(fs->v);
	memset(fs, 0, sizeof(*fs));
}

int flame_write_folded(const struct flame_set *fs, FILE *f)
{
	size_t i;

	for (i = 0; i < fs->n; i++)
		fprintf(f, "%s %llu\n", fs->v[i].frames, (unsigned long long)fs->v[i].count);
	return ferror(f) ? -EIO : 0;
}

/*
 * "    fixture_add+4", "\t7f12ab fixture_add+4 (/path/bin)", "foo+8 (file.c:12)": the function
 * alone, so that samples at different offsets of one function share a frame.  ';' separates
 * frames in the folded format and becomes ':' inside a name.
 */
char *flame_frame_name(const char *line)
{
	const char *p = line, *e;
	char *name, *q;

	while (*p == ' ' || *p == '\t')
		p++;
	/* perf layout: a hex address, then the symbol */
	for (e = p; isxdigit((unsigned char)*e); e++)
		;
	if (e > p && *e == ' ' && e[1])
		p = e + 1;
	name = xstrdup(p);
	q = name + strlen(name);
	while (q > name && isspace((unsigned char)q[-1]))
		*--q = '\0';
	/* a trailing " (module)" or " (file:line)" */
	if (q > name && q[-1] == ')') {
		char *open = strstr(name, " (");

		if (open)
			*(q = open) = '\0';
	}
	/* a trailing +N or +0xN offset */
	if ((e = strrchr(name, '+')) && e > name && e[1]) {
		const char *d = e + 1;

		if (d[0] == '0' && d[1] == 'x')
			d += 2;
		while (isxdigit((unsigned char)*d))
			d++;
		if (!*d)
			name[e - name] = '\0';
	}
	for (q = name; *q; q++)
		if (*q == ';')
			*q = ':';
	return name;
}

/* The call tree of the folded stacks. */
struct fnode {
	char *name;
	uint64_t value;
	struct fnode *kids;
	size_t nkids, capkids;
};

static struct fnode *fnode_child(struct fnode *n, const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < n->nkids; i++)
		if (strlen(n->kids[i].name) == len && strncmp(n->kids[i].name, name, len) == 0)
			return &n->kids[i];
	xgrow((void **)&n->kids, &n->capkids, n->nkids + 1, sizeof(*n->kids));
	memset(&n->kids[n->nkids], 0, sizeof(*n->kids));
	n->kids[n->nkids].name = xstrndup(name, len);
	return &n->kids[n->nkids++];
}

static int cmp_fnode(const void *a, const void *b)
{
	return strcmp(((const struct fnode *)a)->name, ((const struct fnode *)b)->name);
}

static int fnode_finish(struct fnode *n)
{
	int depth = 0, d;
	size_t i;

	if (n->nkids)	/* a leaf has no array */
		qsort(n->kids, n->nkids, sizeof(*n->kids), cmp_fnode);
	for (i = 0; i < n->nkids; i++)
		if ((d = fnode_finish(&n->kids[i]) + 1) > depth)
			depth = d;
	return depth;
}

static void fnode_free(struct fnode *n)
{
	size_t i;

	for (i = 0; i < n->nkids; i++)
		fnode_free(&n->kids[i]);
	free(n->kids);
	free(n->name);
}

static void xml_escape(FILE *f, const char *s, size_t max)
{
	size_t i;

	for (i = 0; s[i] && i < max; i++) {
		switch (s[i]) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&apos;", f); break;
		default:
			/* control bytes are not allowed in XML 1.0 */
			fputc((unsigned char)s[i] < 0x20 ? '?' : s[i], f);
		}
	}
}

/* flamegraph.pl's "hot" palette, from a hash of the name so a frame keeps its colour. */
static void frame_color(const char *name, int rgb[3])
{
	uint32_t h = 2166136261u;
	const char *p;

	for (p = name; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	rgb[0] = 205 + (int)(h % 50);
	rgb[1] = (int)((h >> 8) % 230);
	rgb[2] = (int)((h >> 16) % 55);
}

struct svg_ctx {
	FILE *f;
	double scale;		/* pixels per count */
	int height, id;
	uint64_t total;
};

static void svg_frame(struct svg_ctx *c, const struct fnode *n, double x, int depth)
{
	double w = (double)n->value * c->scale, cx = x;
	int y = c->height - FG_FOOT - (depth + 1) * FG_FRAME_H, rgb[3];
	size_t i, fit = w > 6 ? (size_t)((w - 6) / FG_CHAR_W) : 0, len = strlen(n->name);

	if (w < FG_MIN_W)
		return;
	frame_color(n->name, rgb);
	fprintf(c->f, "<g class=\"f\" id=\"f%d\" data-x=\"%.2f\" data-y=\"%d\" data-w=\"%.2f\">"
		"<title>", c->id++, x, y, w);
	xml_escape(c->f, n->name, SIZE_MAX);
	fprintf(c->f, " (count %llu, %.2f%%)</title>", (unsigned long long)n->value,
		100.0 * (double)n->value / (double)c->total);
	fprintf(c->f, "<rect x=\"%.2f\" y=\"%d\" width=\"%.2f\" height=\"%d\" "
		"fill=\"rgb(%d,%d,%d)\" rx=\"2\" ry=\"2\"/>", x, y, w, FG_FRAME_H - 1,
		rgb[0], rgb[1], rgb[2]);
	fprintf(c->f, "<text x=\"%.2f\" y=\"%d\">", x + 3, y + FG_FRAME_H - 5);
	if (fit >= 3) {
		xml_escape(c->f, n->name, len > fit ? fit - 2 : len);
		if (len > fit)
			fputs("..", c->f);
	}
	fputs("</text></g>\n", c->f);
	for (i = 0; i < n->nkids; i++) {
		svg_frame(c, &n->kids[i], cx, depth + 1);
		cx += (double)n->kids[i].value * c->scale;
	}
}

static const char svg_script[] =
	"var W = " "1200" ", PAD = 10, CW = 12 * 0.59, frames, details, unzoombtn;\n"
	"function num(g, a) { return parseFloat(g.getAttribute(a)); }\n"
	"function group(n) {\n"
	"\twhile (n && n !== frames) {\n"
	"\t\tif (n.classList && n.classList.contains('f')) return n;\n"
	"\t\tn = n.parentNode;\n"
	"\t}\n"
	"\treturn null;\n"
	"}\n"
	"function label(g) {\n"
	"\tvar t = g.getElementsByTagName('title')[0].textContent;\n"
	"\treturn t.substring(0, t.lastIndexOf(' ('));\n"
	"}\n"
	"function place(g, x, w) {\n"
	"\tvar r = g.getElementsByTagName('rect')[0], t = g.getElementsByTagName('text')[0];\n"
	"\tvar name = label(g), fit = Math.floor((w - 6) / CW);\n"
	"\tr.setAttribute('x', x.toFixed(2));\n"
	"\tr.setAttribute('width', w.toFixed(2));\n"
	"\tt.setAttribute('x', (x + 3).toFixed(2));\n"
	"\tt.textContent = fit < 3 ? '' : name.length > fit ? name.substring(0, fit - 2) + '..' : name;\n"
	"}\n"
	"function zoom(node) {\n"
	"\tvar x = num(node, 'data-x'), y = num(node, 'data-y'), w = num(node, 'data-w');\n"
	"\tvar ratio = (W - 2 * PAD) / w, gs = frames.getElementsByClassName('f'), i;\n"
	"\tfor (i = 0; i < gs.length; i++) {\n"
	"\t\tvar g = gs[i], gx = num(g, 'data-x'), gy = num(g, 'data-y'), gw = num(g, 'data-w');\n"
	"\t\tg.classList.remove('hide');\n"
	"\t\tg.classList.remove('parent');\n"
	"\t\tif (gy > y && gx <= x + 0.01 && gx + gw >= x + w - 0.01) {\n"
	"\t\t\tg.classList.add('parent');\n"
	"\t\t\tplace(g, PAD, W - 2 * PAD);\n"
	"\t\t} else if (gy <= y && gx >= x - 0.01 && gx + gw <= x + w + 0.01) {\n"
	"\t\t\tplace(g, PAD + (gx - x) * ratio, gw * ratio);\n"
	"\t\t} else {\n"
	"\t\t\tg.classList.add('hide');\n"
	"\t\t}\n"
	"\t}\n"
	"\tnode.classList.add('zoomed');\n"
	"\tunzoombtn.classList.remove('hide');\n"
	"}\n"
	"function unzoom() {\n"
	"\tvar gs = frames.getElementsByClassName('f'), i;\n"
	"\tfor (i = 0; i < gs.length; i++) {\n"
	"\t\tgs[i].classList.remove('hide', 'parent', 'zoomed');\n"
	"\t\tplace(gs[i], num(gs[i], 'data-x'), num(gs[i], 'data-w'));\n"
	"\t}\n"
	"\tunzoombtn.classList.add('hide');\n"
	"}\n"
	"function init() {\n"
	"\tframes = document.getElementById('frames');\n"
	"\tdetails = document.getElementById('details');\n"
	"\tunzoombtn = document.getElementById('unzoom');\n"
	"\tframes.addEventListener('click', function (e) {\n"
	"\t\tvar g = group(e.target);\n"
	"\t\tif (g) { unzoom(); zoom(g); }\n"
	"\t});\n"
	"\tframes.addEventListener('mouseover', function (e) {\n"
	"\t\tvar g = group(e.target);\n"
	"\t\tif (g) details.textContent = g.getElementsByTagName('title')[0].textContent;\n"
	"\t});\n"
	"\tframes.addEventListener('mouseout', function () { details.textContent = ' '; });\n"
	"\tunzoombtn.addEventListener('click', unzoom);\n"
	"\tvar h = location.hash.substring(1), n = h ? document.getElementById(h) : null;\n"
	"\tif (n && n.classList.contains('f')) zoom(n);\n"
	"}\n"
	"window.addEventListener('load', init);\n";

int flame_write_svg(const struct flame_set *fs, const char *title, FILE *f)
{
	struct fnode root = { .name = xstrdup("all") };
	struct svg_ctx c = { .f = f };
	size_t i;
	int depth;

	for (i = 0; i < fs->n; i++) {
		const char *p = fs->v[i].frames;
		struct fnode *n = &root;

		root.value += fs->v[i].count;
		while (*p) {
			size_t len = strcspn(p, ";");

			n = fnode_child(n, p, len);
			n->value += fs->v[i].count;
			p += len;
			if (*p == ';')
				p++;
		}
	}
	depth = fnode_finish(&root);
	c.height = FG_HEAD + (depth + 1) * FG_FRAME_H + FG_FOOT;
	c.total = root.value ? root.value : 1;
	c.scale = (double)(FG_WIDTH - 2 * FG_PAD) / (double)c.total;
	fprintf(f, "<?xml version=\"1.0\" standalone=\"no\"?>\n"
		"<svg version=\"1.1\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
		"xmlns=\"http://www.w3.org/2000/svg\">\n", FG_WIDTH, c.height, FG_WIDTH, c.height);
	fprintf(f, "<style type=\"text/css\">\n"
		"text { font-family: Verdana, 'DejaVu Sans', sans-serif; font-size: %dpx; "
		"fill: rgb(0,0,0); }\n"
		"#title { text-anchor: middle; font-size: 17px; }\n"
		"#unzoom { cursor: pointer; }\n"
		".f { cursor: pointer; }\n"
		".f:hover rect { stroke: black; stroke-width: 0.5; }\n"
		".f text { pointer-events: none; }\n"
		".hide { display: none; }\n"
		".parent { opacity: 0.5; }\n"
		"</style>\n", FG_FONT);
	fprintf(f, "<script type=\"text/ecmascript\"><![CDATA[\n%s]]></script>\n", svg_script);
	fprintf(f, "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"rgb(238,238,224)\"/>\n",
		FG_WIDTH, c.height);
	fprintf(f, "<text id=\"title\" x=\"%d\" y=\"24\">", FG_WIDTH / 2);
	xml_escape(f, title ? title : "Flame Graph", SIZE_MAX);
	fprintf(f, "</text>\n<text id=\"unzoom\" class=\"hide\" x=\"%d\" y=\"24\">Reset Zoom</text>\n"
		"<text id=\"details\" x=\"%d\" y=\"%d\"> </text>\n<g id=\"frames\">\n", FG_PAD, FG_PAD,
		c.height - 10);
	svg_frame(&c, &root, FG_PAD, 0);
	fputs("</g>\n</svg>\n", f);
	fnode_free(&root);
	return ferror(f) ? -EIO : 0;
}
