/* ast.c - syntax tree construction, freeing and the -d ast dump. */
#include "ast.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "parser.h"
#include "probes/probe.h"
#include "util.h"

/* Deeper than this, the passes (which recurse) could exhaust the C stack. */
#define AST_MAX_DEPTH 1000

struct node *ast_node(enum node_kind kind, const struct loc *loc)
{
	struct node *n = xcalloc(1, sizeof(*n));

	n->kind = kind;
	n->loc = *loc;
	return n;
}

struct node *ast_int(int64_t v, const struct loc *loc)
{
	struct node *n = ast_node(N_INT, loc);

	n->ival = v;
	return n;
}

struct node *ast_str(char *s, size_t len, const struct loc *loc)
{
	struct node *n = ast_node(N_STR, loc);

	n->str = s;
	n->slen = len;
	return n;
}

struct node *ast_named(enum node_kind kind, char *name, struct node *args, const struct loc *loc)
{
	struct node *n = ast_node(kind, loc);

	n->str = name;
	n->args = args;
	return n;
}

struct node *ast_binop(int op, struct node *a, struct node *b, const struct loc *loc)
{
	struct node *n = ast_node(N_BINOP, loc);

	n->op = op;
	n->a = a;
	n->b = b;
	return n;
}

struct node *ast_unop(int op, struct node *a, const struct loc *loc)
{
	struct node *n = ast_node(N_UNOP, loc);

	n->op = op;
	n->a = a;
	return n;
}

struct node *ast_ternary(struct node *a, struct node *b, struct node *c, const struct loc *loc)
{
	struct node *n = ast_node(N_TERNARY, loc);

	n->a = a;
	n->b = b;
	n->c = c;
	return n;
}

struct node *ast_field(struct node *base, char *name, bool arrow, const struct loc *loc)
{
	struct node *n = ast_node(N_FIELD, loc);

	n->a = base;
	n->str = name;
	n->arrow = arrow;
	return n;
}

struct node *ast_index(struct node *base, struct node *index, const struct loc *loc)
{
	struct node *n = ast_node(N_INDEX, loc);

	n->a = base;
	n->b = index;
	return n;
}

struct node *ast_cast(struct type *t, struct node *a, const struct loc *loc)
{
	struct node *n = ast_node(N_CAST, loc);

	n->cast_type = t;
	n->a = a;
	return n;
}

struct node *ast_incdec(int op, bool post, struct node *a, const struct loc *loc)
{
	struct node *n = ast_node(N_INCDEC, loc);

	n->op = op;
	n->is_post = post;
	n->a = a;
	return n;
}

struct node *ast_assign(int op, struct node *target, struct node *value, const struct loc *loc)
{
	struct node *n = ast_node(N_ASSIGN, loc);

	n->op = op;
	n->a = target;
	n->b = value;
	return n;
}

struct node *ast_stmt(enum node_kind kind, struct node *a, struct node *body, struct node *c,
		      const struct loc *loc)
{
	struct node *n = ast_node(kind, loc);

	n->a = a;
	n->body = body;
	n->c = c;
	return n;
}

struct node *ast_cons(struct node *n, struct node *list)
{
	n->next = list;
	return n;
}

struct node *ast_append(struct node *list, struct node *n)
{
	struct node *p = list;

	if (!list)
		return n;
	while (p->next)
		p = p->next;
	p->next = n;
	return list;
}

size_t ast_list_len(const struct node *list)
{
	size_t n = 0;

	for (; list; list = list->next)
		n++;
	return n;
}

struct attach_point *ast_attach_point(char *text, const struct loc *loc)
{
	struct attach_point *ap = xcalloc(1, sizeof(*ap));

	ap->text = text;
	ap->loc = *loc;
	return ap;
}

/* Whether the identifier name appears in n or its list (deeper than the parser's limit: yes). */
static bool uses_ident(const struct node *n, const char *name, int depth)
{
	for (; n; n = n->next) {
		if (depth > AST_MAX_DEPTH)
			return true;
		if (n->kind == N_IDENT && n->str && strcmp(n->str, name) == 0)
			return true;
		if (uses_ident(n->a, name, depth + 1) || uses_ident(n->b, name, depth + 1) ||
		    uses_ident(n->c, name, depth + 1) || uses_ident(n->args, name, depth + 1) ||
		    uses_ident(n->body, name, depth + 1))
			return true;
	}
	return false;
}

struct probe *ast_probe(struct attach_point **aps, size_t naps, struct node *pred,
			struct node *body, const struct loc *loc)
{
	struct probe *p = xcalloc(1, sizeof(*p));
	bool args = uses_ident(pred, "args", 0) || uses_ident(body, "args", 0);

	for (size_t i = 0; i < naps; i++)
		aps[i]->uses_args = args;
	p->aps = aps;
	p->naps = naps;
	p->pred = pred;
	p->body = body;
	p->loc = *loc;
	return p;
}

void ast_program_add(struct program *prog, struct probe *p)
{
	xgrow((void **)&prog->probes, &prog->cap, prog->nprobes + 1, sizeof(*prog->probes));
	p->index = (int)prog->nprobes;
	prog->probes[prog->nprobes++] = p;
}

void ast_program_decl(struct program *prog, char *name, char *kind, char *str, int64_t ival,
		      bool has_ival, const struct loc *loc)
{
	struct decl *d = xcalloc(1, sizeof(*d)), **tail = kind ? &prog->maps : &prog->config;

	d->name = name;
	d->kind = kind;
	d->str = str;
	d->ival = ival;
	d->has_ival = has_ival;
	d->loc = *loc;
	while (*tail)
		tail = &(*tail)->next;
	*tail = d;
}

static void free_decls(struct decl *d)
{
	while (d) {
		struct decl *next = d->next;

		free(d->name);
		free(d->kind);
		free(d->str);
		free(d);
		d = next;
	}
}

/* Returns the node found beyond the limit, without recursing deeper than the limit. */
static const struct node *too_deep(const struct node *n, int depth)
{
	const struct node *bad;

	for (; n; n = n->next) {
		if (depth > AST_MAX_DEPTH)
			return n;
		if ((bad = too_deep(n->a, depth + 1)) || (bad = too_deep(n->b, depth + 1)) ||
		    (bad = too_deep(n->c, depth + 1)) || (bad = too_deep(n->args, depth + 1)) ||
		    (bad = too_deep(n->body, depth + 1)))
			return bad;
	}
	return NULL;
}

int ast_check_depth(const struct program *prog)
{
	size_t i;

	for (i = 0; i < prog->nprobes; i++) {
		const struct probe *p = prog->probes[i];
		const struct node *bad = too_deep(p->pred, 1);

		if (!bad)
			bad = too_deep(p->body, 1);
		if (bad) {
			diag_error(&bad->loc, "the program is nested too deeply (more than %d levels)",
				   AST_MAX_DEPTH);
			return -E2BIG;
		}
	}
	return 0;
}

/* Iterative, with its own stack: a tree too deep to check must still be freed. */
void ast_free_node(struct node *n)
{
	struct node **stack = NULL;
	size_t len = 0, cap = 0;

	if (!n)
		return;
	xgrow((void **)&stack, &cap, 1, sizeof(*stack));
	stack[len++] = n;
	while (len) {
		struct node *cur = stack[--len], *kids[6];
		size_t i;

		kids[0] = cur->next;
		kids[1] = cur->a;
		kids[2] = cur->b;
		kids[3] = cur->c;
		kids[4] = cur->args;
		kids[5] = cur->body;
		for (i = 0; i < 6; i++) {
			if (!kids[i])
				continue;
			xgrow((void **)&stack, &cap, len + 1, sizeof(*stack));
			stack[len++] = kids[i];
		}
		free(cur->str);
		free(cur);
	}
	free(stack);
}

void ast_free_attach_points(struct attach_point **aps, size_t n)
{
	size_t j;

	for (j = 0; j < n; j++) {
		free(aps[j]->text);
		free(aps[j]->provider);
		free(aps[j]->target);
		free(aps[j]->func);
		if (aps[j]->data && aps[j]->ops && aps[j]->ops->free_data)
			aps[j]->ops->free_data(aps[j]->data);
		free(aps[j]->data);
		free(aps[j]);
	}
	free(aps);
}

void ast_free_probe(struct probe *p)
{
	if (!p)
		return;
	ast_free_attach_points(p->aps, p->naps);
	free(p->all_args);
	ast_free_node(p->pred);
	ast_free_node(p->body);
	free(p);
}

void ast_free_program(struct program *prog)
{
	size_t i;

	for (i = 0; i < prog->nprobes; i++)
		ast_free_probe(prog->probes[i]);
	free(prog->probes);
	free_decls(prog->config);
	free_decls(prog->maps);
	memset(prog, 0, sizeof(*prog));
}

const char *ast_op_name(int op)
{
	switch (op) {
	case PLUS: return "+";
	case MINUS: return "-";
	case MUL: return "*";
	case DIV: return "/";
	case MOD: return "%";
	case BAND: return "&";
	case BOR: return "|";
	case BXOR: return "^";
	case LEFT: return "<<";
	case RIGHT: return ">>";
	case EQ: return "==";
	case NE: return "!=";
	case LT: return "<";
	case GT: return ">";
	case LE: return "<=";
	case GE: return ">=";
	case LAND: return "&&";
	case LOR: return "||";
	case LNOT: return "!";
	case BNOT: return "~";
	case INCREMENT: return "++";
	case DECREMENT: return "--";
	default: return "?";
	}
}

static void dump(const struct node *n, FILE *f, int depth);

static void dump_list(const struct node *n, FILE *f, int depth)
{
	for (; n; n = n->next)
		dump(n, f, depth);
}

static void dump(const struct node *n, FILE *f, int depth)
{
	fprintf(f, "%*s", depth * 1, "");
	switch (n->kind) {
	case N_INT: fprintf(f, "int: %lld\n", (long long)n->ival); return;
	case N_STR: fprintf(f, "string: %s\n", n->str); return;
	case N_IDENT: fprintf(f, "builtin: %s\n", n->str); return;
	case N_POSITIONAL: fprintf(f, "param: $%lld\n", (long long)n->ival); return;
	case N_POSCOUNT: fprintf(f, "param: $#\n"); return;
	case N_VAR: fprintf(f, "variable: %s\n", n->str); return;
	case N_MAP: fprintf(f, "map: %s\n", n->str); dump_list(n->args, f, depth + 1); return;
	case N_CALL: fprintf(f, "call: %s\n", n->str); dump_list(n->args, f, depth + 1); return;
	case N_BINOP: fprintf(f, "%s\n", ast_op_name(n->op)); break;
	case N_UNOP: fprintf(f, "%s\n", n->op == MUL ? "dereference" : ast_op_name(n->op)); break;
	case N_TERNARY: fprintf(f, "?:\n"); break;
	case N_FIELD: fprintf(f, "%s\n", n->arrow ? "->" : "."); dump(n->a, f, depth + 1);
		fprintf(f, "%*s%s\n", depth + 1, "", n->str); return;
	case N_TUPLE_INDEX: fprintf(f, ".\n"); dump(n->a, f, depth + 1);
		fprintf(f, "%*s%lld\n", depth + 1, "", (long long)n->ival); return;
	case N_INDEX: fprintf(f, "[]\n"); break;
	case N_TUPLE: fprintf(f, "tuple:\n"); dump_list(n->args, f, depth + 1); return;
	case N_CAST: fprintf(f, "(%s)\n", type_name(n->cast_type)); break;
	case N_INCDEC: fprintf(f, "%s %s\n", ast_op_name(n->op), n->is_post ? "(post)" : "(pre)"); break;
	case N_SIZEOF: fprintf(f, "sizeof\n"); break;
	case N_OFFSETOF: fprintf(f, "offsetof: %s\n", n->str); return;
	case N_EXPR_STMT: fprintf(f, "expr\n"); break;
	case N_ASSIGN: fprintf(f, "=%s\n", n->op ? ast_op_name(n->op) : ""); break;
	case N_IF: fprintf(f, "if\n"); break;
	case N_WHILE: fprintf(f, "while\n"); break;
	case N_UNROLL: fprintf(f, "unroll\n"); break;
	case N_RETURN: fprintf(f, "return\n"); return;
	case N_BREAK: fprintf(f, "break\n"); return;
	case N_CONTINUE: fprintf(f, "continue\n"); return;
	case N_FOR: fprintf(f, "for\n"); break;
	}
	if (n->a)
		dump(n->a, f, depth + 1);
	if (n->b)
		dump(n->b, f, depth + 1);
	if (n->body) {
		if (n->kind == N_IF || n->kind == N_WHILE || n->kind == N_UNROLL || n->kind == N_FOR)
			fprintf(f, "%*s then\n", depth, "");
		dump_list(n->body, f, depth + 2);
	}
	if (n->c && n->kind == N_FOR) {
		dump(n->c, f, depth + 1);
	} else if (n->c) {
		if (n->kind == N_IF)
			fprintf(f, "%*s else\n", depth, "");
		dump_list(n->c, f, depth + 2);
	}
}

void ast_dump(const struct program *prog, FILE *f)
{
	size_t i, j;

	fprintf(f, "Program\n");
	for (i = 0; i < prog->nprobes; i++) {
		const struct probe *p = prog->probes[i];

		for (j = 0; j < p->naps; j++)
			fprintf(f, " %s\n", p->aps[j]->text);
		if (p->pred) {
			fprintf(f, "  pred\n");
			dump(p->pred, f, 3);
		}
		dump_list(p->body, f, 2);
	}
}
