/*
 * parser.y - sonde's grammar: bpftrace 0.17's language.  A pure parser with locations; the
 * tree is built only through ast_* constructors.  Token aliases are the text bpftrace shows in
 * "syntax error, unexpected ;" messages.
 */
%define api.pure full
%define parse.error verbose
%locations
%param {void *scanner}
%parse-param {struct program *prog}

%code requires {
#include "ast.h"
#include "diag.h"
#define YYLTYPE struct loc
#define YYLTYPE_IS_DECLARED 1
#define YYLTYPE_IS_TRIVIAL 1
struct tlist { struct attach_point **v; size_t n, cap; };
}

%code {
#include <stdlib.h>
#include <string.h>

#include "util.h"

int yylex(YYSTYPE *lval, YYLTYPE *lloc, void *scanner);

static void yyerror(YYLTYPE *loc, void *scanner, struct program *prog, const char *msg)
{
	(void)scanner;
	(void)prog;
	diag_error(loc, "%s", msg);
}

static struct type *int_type_named(const char *name)
{
	bool is_signed = name[0] != 'u';
	int bits = atoi(name + (is_signed ? 3 : 4));

	return type_int((uint32_t)bits / 8, is_signed);
}

static struct type *record_type_named(const char *name, bool is_union)
{
	return type_record(record_new(name, is_union));
}
}

%union {
	int64_t num;
	char *str;
	struct { char *data; size_t len; } strlit;
	struct node *node;
	struct type *type;
	struct probe *probe;
	struct attach_point *ap;
	struct tlist aps;
	int op;
}

%token END_OF_FILE 0 "end of file"
%token <str> ATTACH_POINT "attach point" IDENT "identifier" VAR "variable" MAP "map"
%token <str> INT_TYPE "integer type"
%token <num> INT "integer" POSITIONAL "positional parameter"
%token <strlit> STRING "string"
%token POSCOUNT "$#"
%token PRED_START "predicate" PRED_END "end predicate"
%token LBRACE "{" RBRACE "}" LPAREN "(" RPAREN ")" LBRACKET "[" RBRACKET "]"
%token SEMI ";" COMMA "," DOT "." PTR "->" QUES "?" COLON ":"
%token ASSIGN "=" PLUSASSIGN "+=" MINUSASSIGN "-=" MULASSIGN "*=" DIVASSIGN "/="
%token MODASSIGN "%=" BANDASSIGN "&=" BORASSIGN "|=" BXORASSIGN "^="
%token LEFTASSIGN "<<=" RIGHTASSIGN ">>="
%token EQ "==" NE "!=" LT "<" GT ">" LE "<=" GE ">="
%token LEFT "<<" RIGHT ">>" PLUS "+" MINUS "-" MUL "*" DIV "/" MOD "%"
%token BAND "&" BOR "|" BXOR "^" LAND "&&" LOR "||" LNOT "!" BNOT "~"
%token INCREMENT "++" DECREMENT "--"
%token IF "if" ELSE "else" WHILE "while" UNROLL "unroll" RETURN "return"
%token BREAK "break" CONTINUE "continue" STRUCT "struct" UNION "union" ENUM "enum"
%token SIZEOF "sizeof" OFFSETOF "offsetof"
%token FOR "for" DOTDOT ".." CONFIG "config" LET "let"

%type <node> stmts simple_stmt block if_stmt expr cond_expr primary postfix unary
%type <node> args opt_args map var pred lvalue
%type <type> type ptr_type
%type <aps> attach_points
%type <probe> probe
%type <op> assign_op

%precedence LOW
%right QUES COLON
%left LOR
%left LAND
%left BOR
%left BXOR
%left BAND
%left EQ NE
%left LT GT LE GE
%left LEFT RIGHT
%left PLUS MINUS
%left MUL DIV MOD
%precedence LBRACKET

%destructor { free($$); } <str>
%destructor { free($$.data); } <strlit>
%destructor { ast_free_node($$); } <node>
%destructor { ast_free_attach_points($$.v, $$.n); } <aps>
%destructor { ast_free_probe($$); } <probe>

%%

program
	: %empty
	| probes
	;

probes
	: top_item
	| probes top_item
	;

top_item
	: probe			{ ast_program_add(prog, $1); }
	| CONFIG LBRACE config_items RBRACE
	| LET MAP ASSIGN IDENT LPAREN INT RPAREN SEMI
		{ ast_program_decl(prog, $2, $4, NULL, $6, true, &@2); }
	| LET MAP ASSIGN IDENT LPAREN RPAREN SEMI
		{ ast_program_decl(prog, $2, $4, NULL, 0, false, &@2); }
	;

config_items
	: %empty
	| config_item
	| config_item SEMI config_items
	;

config_item
	: IDENT ASSIGN INT	{ ast_program_decl(prog, $1, NULL, NULL, $3, true, &@1); }
	| IDENT ASSIGN STRING	{ ast_program_decl(prog, $1, NULL, $3.data, 0, false, &@1); }
	| IDENT ASSIGN IDENT	{ ast_program_decl(prog, $1, NULL, $3, 0, false, &@1); }
	;

probe
	: attach_points pred block
		{ $$ = ast_probe($1.v, $1.n, $2, $3, &@1); }
	;

attach_points
	: ATTACH_POINT
		{ $$.v = NULL; $$.n = $$.cap = 0;
		  xgrow((void **)&$$.v, &$$.cap, 1, sizeof(*$$.v));
		  $$.v[$$.n++] = ast_attach_point($1, &@1); }
	| attach_points COMMA ATTACH_POINT
		{ $$ = $1; xgrow((void **)&$$.v, &$$.cap, $$.n + 1, sizeof(*$$.v));
		  $$.v[$$.n++] = ast_attach_point($3, &@3); }
	;

pred
	: %empty				{ $$ = NULL; }
	| PRED_START expr PRED_END		{ $$ = $2; }
	;

block
	: LBRACE stmts RBRACE			{ $$ = $2; }
	;

stmts
	: %empty				{ $$ = NULL; }
	| simple_stmt				{ $$ = $1; }
	| simple_stmt SEMI stmts		{ $$ = ast_cons($1, $3); }
	| if_stmt stmts				{ $$ = ast_cons($1, $2); }
	| WHILE LPAREN expr RPAREN block stmts
		{ $$ = ast_cons(ast_stmt(N_WHILE, $3, $5, NULL, &@$), $6); }
	| UNROLL LPAREN expr RPAREN block stmts
		{ YYLTYPE l = @1; l.last_line = @4.last_line; l.last_column = @4.last_column;
		  $$ = ast_cons(ast_stmt(N_UNROLL, $3, $5, NULL, &l), $6); }
	| FOR LPAREN var COLON map RPAREN block stmts
		{ struct node *f = ast_stmt(N_FOR, $3, $7, NULL, &@$); f->b = $5;
		  $$ = ast_cons(f, $8); }
	| FOR LPAREN var COLON expr DOTDOT expr RPAREN block stmts
		{ struct node *f = ast_stmt(N_FOR, $3, $9, $7, &@$); f->b = $5;
		  $$ = ast_cons(f, $10); }
	| SEMI stmts				{ $$ = $2; }
	;

if_stmt
	: IF LPAREN expr RPAREN block
		{ $$ = ast_stmt(N_IF, $3, $5, NULL, &@$); }
	| IF LPAREN expr RPAREN block ELSE block
		{ $$ = ast_stmt(N_IF, $3, $5, $7, &@$); }
	| IF LPAREN expr RPAREN block ELSE if_stmt
		{ $$ = ast_stmt(N_IF, $3, $5, $7, &@$); }
	;

simple_stmt
	: expr					{ $$ = ast_stmt(N_EXPR_STMT, $1, NULL, NULL, &@1); }
	| lvalue ASSIGN expr			{ $$ = ast_assign(0, $1, $3, &@2); }
	| lvalue assign_op expr			{ $$ = ast_assign($2, $1, $3, &@2); }
	| RETURN				{ $$ = ast_stmt(N_RETURN, NULL, NULL, NULL, &@1); }
	| BREAK					{ $$ = ast_stmt(N_BREAK, NULL, NULL, NULL, &@1); }
	| CONTINUE				{ $$ = ast_stmt(N_CONTINUE, NULL, NULL, NULL, &@1); }
	;

lvalue
	: var
	| map
	;

assign_op
	: PLUSASSIGN	{ $$ = PLUS; }
	| MINUSASSIGN	{ $$ = MINUS; }
	| MULASSIGN	{ $$ = MUL; }
	| DIVASSIGN	{ $$ = DIV; }
	| MODASSIGN	{ $$ = MOD; }
	| BANDASSIGN	{ $$ = BAND; }
	| BORASSIGN	{ $$ = BOR; }
	| BXORASSIGN	{ $$ = BXOR; }
	| LEFTASSIGN	{ $$ = LEFT; }
	| RIGHTASSIGN	{ $$ = RIGHT; }
	;

expr
	: cond_expr
	;

cond_expr
	: unary
	| cond_expr QUES cond_expr COLON cond_expr	{ $$ = ast_ternary($1, $3, $5, &@$); }
	| cond_expr LOR cond_expr	{ $$ = ast_binop(LOR, $1, $3, &@$); $$->op_loc = @2; }
	| cond_expr LAND cond_expr	{ $$ = ast_binop(LAND, $1, $3, &@$); $$->op_loc = @2; }
	| cond_expr BOR cond_expr	{ $$ = ast_binop(BOR, $1, $3, &@$); $$->op_loc = @2; }
	| cond_expr BXOR cond_expr	{ $$ = ast_binop(BXOR, $1, $3, &@$); $$->op_loc = @2; }
	| cond_expr BAND cond_expr	{ $$ = ast_binop(BAND, $1, $3, &@$); $$->op_loc = @2; }
	| cond_expr EQ cond_expr	{ $$ = ast_binop(EQ, $1, $3, &@$); $$->op_loc = @2; }
	| cond_expr NE cond_expr	{ $$ = ast_binop(NE, $1, $3, &@$); $$->op_loc = @2; }
	| cond_expr LT cond_expr	{ $$ = ast_binop(LT, $1, $3, &@$); $$->op_loc = @2; }
	| cond_expr GT cond_expr	{ $$ = ast_binop(GT, $1, $3, &@$); $$->op_loc = @2; }
	| cond_expr LE cond_expr	{ $$ = ast_binop(LE, $1, $3, &@$); $$->op_loc = @2; }
	| cond_expr GE cond_expr	{ $$ = ast_binop(GE, $1, $3, &@$); $$->op_loc = @2; }
	| cond_expr LEFT cond_expr	{ $$ = ast_binop(LEFT, $1, $3, &@$); $$->op_loc = @2; }
	| cond_expr RIGHT cond_expr	{ $$ = ast_binop(RIGHT, $1, $3, &@$); $$->op_loc = @2; }
	| cond_expr PLUS cond_expr	{ $$ = ast_binop(PLUS, $1, $3, &@$); $$->op_loc = @2; }
	| cond_expr MINUS cond_expr	{ $$ = ast_binop(MINUS, $1, $3, &@$); $$->op_loc = @2; }
	| cond_expr MUL cond_expr	{ $$ = ast_binop(MUL, $1, $3, &@$); $$->op_loc = @2; }
	| cond_expr DIV cond_expr	{ $$ = ast_binop(DIV, $1, $3, &@$); $$->op_loc = @2; }
	| cond_expr MOD cond_expr	{ $$ = ast_binop(MOD, $1, $3, &@$); $$->op_loc = @2; }
	;

unary
	: postfix
	| LNOT unary			{ $$ = ast_unop(LNOT, $2, &@$); $$->op_loc = @1; }
	| BNOT unary			{ $$ = ast_unop(BNOT, $2, &@$); $$->op_loc = @1; }
	| MINUS unary			{ $$ = ast_unop(MINUS, $2, &@$); $$->op_loc = @1; }
	| MUL unary			{ $$ = ast_unop(MUL, $2, &@$); $$->op_loc = @1; }
	| INCREMENT lvalue		{ $$ = ast_incdec(INCREMENT, false, $2, &@$); }
	| DECREMENT lvalue		{ $$ = ast_incdec(DECREMENT, false, $2, &@$); }
	| LPAREN type RPAREN unary	{ YYLTYPE l = @1; l.last_line = @3.last_line; l.last_column = @3.last_column;
					  $$ = ast_cast($2, $4, &l); }
	;

postfix
	: primary
	| postfix DOT IDENT		{ $$ = ast_field($1, $3, false, &@$); }
	| postfix PTR IDENT		{ $$ = ast_field($1, $3, true, &@$); }
	| postfix DOT INT		{ $$ = ast_unop(0, $1, &@$); $$->kind = N_TUPLE_INDEX; $$->ival = $3; }
	| postfix LBRACKET expr RBRACKET	{ $$ = ast_index($1, $3, &@$); }
	| var INCREMENT			{ $$ = ast_incdec(INCREMENT, true, $1, &@$); }
	| var DECREMENT			{ $$ = ast_incdec(DECREMENT, true, $1, &@$); }
	| map INCREMENT			{ $$ = ast_incdec(INCREMENT, true, $1, &@$); }
	| map DECREMENT			{ $$ = ast_incdec(DECREMENT, true, $1, &@$); }
	;

primary
	: INT				{ $$ = ast_int($1, &@$); }
	| STRING			{ $$ = ast_str($1.data, $1.len, &@$); }
	| IDENT				{ $$ = ast_named(N_IDENT, $1, NULL, &@$); }
	| POSITIONAL			{ $$ = ast_int($1, &@$); $$->kind = N_POSITIONAL; }
	| POSCOUNT			{ $$ = ast_node(N_POSCOUNT, &@$); }
	| var %prec LOW
	| map %prec LOW
	| IDENT LPAREN opt_args RPAREN	{ $$ = ast_named(N_CALL, $1, $3, &@$); $$->op_loc = @1; }
	| LPAREN expr RPAREN		{ $$ = $2; }
	| LPAREN expr COMMA args RPAREN	{ $$ = ast_named(N_TUPLE, NULL, ast_cons($2, $4), &@$); }
	| SIZEOF LPAREN type RPAREN	{ $$ = ast_node(N_SIZEOF, &@$); $$->cast_type = $3; }
	| SIZEOF LPAREN expr RPAREN	{ $$ = ast_node(N_SIZEOF, &@$); $$->a = $3; }
	| OFFSETOF LPAREN type COMMA IDENT RPAREN
		{ $$ = ast_node(N_OFFSETOF, &@$); $$->cast_type = $3; $$->str = $5; }
	;

var
	: VAR				{ $$ = ast_named(N_VAR, $1, NULL, &@$); }
	;

map
	: MAP %prec LOW			{ $$ = ast_named(N_MAP, $1, NULL, &@$); }
	| MAP LBRACKET args RBRACKET	{ $$ = ast_named(N_MAP, $1, $3, &@$); }
	;

opt_args
	: %empty			{ $$ = NULL; }
	| args
	;

args
	: expr				{ $$ = $1; }
	| expr COMMA args		{ $$ = ast_cons($1, $3); }
	;

type
	: INT_TYPE			{ $$ = int_type_named($1); free($1); }
	| STRUCT IDENT			{ $$ = record_type_named($2, false); free($2); }
	| UNION IDENT			{ $$ = record_type_named($2, true); free($2); }
	| ENUM IDENT			{ $$ = type_int(8, true); free($2); }
	| ptr_type
	;

ptr_type
	: type MUL			{ $$ = type_pointer($1, AS_NONE); }
	;

%%
