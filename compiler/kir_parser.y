/* kir_parser.y — the grammar of kiln text (bison; the C is generated at
 * build time into build/gen). It only builds the syntax tree of kir.h;
 * kir_load.c checks names, types, ops and data. The language is described
 * in README.md ("kiln text"). */

%code requires {
#include "kir.h"
#ifndef YY_TYPEDEF_YY_SCANNER_T
#define YY_TYPEDEF_YY_SCANNER_T
typedef void *yyscan_t;
#endif
}

%code {
#include <stdlib.h>
#include <string.h>

int yylex(YYSTYPE *lval, YYLTYPE *lloc, yyscan_t scanner);
static void yyerror(YYLTYPE *loc, yyscan_t scanner, KParse *kp, const char *msg);
static KLoc L(YYLTYPE l) { return (KLoc){l.first_line, l.first_column}; }

static KExpr *expr(KParse *kp, KExprKind kind, KLoc loc, KStr text)
{
    KExpr *e = kir_new(kp, sizeof *e);
    e->kind = kind;
    e->loc = loc;
    e->text = text.s;
    e->len = text.len;
    return e;
}

static KStmt *stmt(KParse *kp, KStmtKind kind, KLoc loc)
{
    KStmt *s = kir_new(kp, sizeof *s);
    s->kind = kind;
    s->loc = loc;
    return s;
}

static KRef *ref(KParse *kp, KStr name, KType *type, KList annot)
{
    KRef *r = kir_new(kp, sizeof *r);
    r->name = name.s;
    r->loc = name.loc;
    r->type = type;
    r->annot = annot;
    return r;
}

static KList one(KParse *kp, void *item)
{
    KList l = {0};
    kir_push(kp, &l, item);
    return l;
}
}

%define api.pure full
%define parse.error custom
%locations
%lex-param {yyscan_t scanner}
%parse-param {yyscan_t scanner} {KParse *kp}

%union {
    KStr str;
    KExpr *expr;
    KType *type;
    KRef *ref;
    KStmt *stmt;
    KPair *pair;
    KDim *dim;
    KList list;
}

%token <str> IDENT "name" STRING "string" INT "integer" FLOAT "number"
%token <str> KW_KILN "kiln" KW_GRAPH "graph" KW_OPSET "opset" KW_INPUT "input" KW_CONST "const"
%token <str> KW_OUTPUT "output" KW_BOUND "bound" KW_TENSOR "tensor" KW_ZEROS "zeros"
%token <str> KW_ONES "ones" KW_RANDOM "random" KW_FILE "file" KW_ELIDED "elided"
%token UNDERSCORE "_" LEXERROR "invalid token"

%type <str> name key
%type <expr> value data opset_opt
%type <type> type type_opt
%type <ref> decl out arg
%type <stmt> stmt call
%type <pair> pair
%type <dim> dim
%type <list> annot_opt pairs pairs_opt items items_opt outs args args_opt dims dims_opt attrs_opt

%%

file: KW_KILN INT graph             { kp->version = expr(kp, KX_INT, L(@2), $2); }
    ;

graph: KW_GRAPH name opset_opt annot_opt '{' stmts '}'
                                    { kp->graph_name = $2.s; kp->opset = $3; kp->graph_annot = $4; }
    ;

opset_opt: %empty                   { $$ = NULL; }
    | KW_OPSET INT                  { $$ = expr(kp, KX_INT, L(@2), $2); }
    ;

stmts: %empty
    | stmts stmt                    { kir_push(kp, &kp->stmts, $2); }
    ;

stmt: KW_INPUT decl                 { $$ = stmt(kp, KS_INPUT, L(@1)); $$->outs = one(kp, $2); }
    | KW_INPUT decl KW_BOUND data   { $$ = stmt(kp, KS_INPUT, L(@1)); $$->outs = one(kp, $2); $$->data = $4; }
    | KW_CONST decl '=' data        { $$ = stmt(kp, KS_CONST, L(@1)); $$->outs = one(kp, $2); $$->data = $4; }
    | KW_OUTPUT outs                { $$ = stmt(kp, KS_OUTPUT, L(@1)); $$->outs = $2; }
    | KW_OUTPUT outs '=' call       { $$ = $4; $$->loc = L(@1); $$->outs = $2; $$->is_output = true; }
    | outs '=' call                 { $$ = $3; $$->loc = L(@1); $$->outs = $1; }
    ;

decl: name ':' type annot_opt       { $$ = ref(kp, $1, $3, $4); }
    ;

outs: out                           { $$ = one(kp, $1); }
    | outs ',' out                  { $$ = $1; kir_push(kp, &$$, $3); }
    ;

out: UNDERSCORE                     { $$ = ref(kp, (KStr){NULL, 0, L(@1)}, NULL, (KList){0}); }
    | name type_opt annot_opt       { $$ = ref(kp, $1, $2, $3); }
    ;

type_opt: %empty                    { $$ = NULL; }
    | ':' type                      { $$ = $2; }
    ;

type: IDENT '[' dims_opt ']'        { $$ = kir_new(kp, sizeof *$$); $$->dtype = $1.s; $$->loc = L(@1); $$->dims = $3; }
    ;

dims_opt: %empty                    { $$ = (KList){0}; }
    | dims
    ;

dims: dim                           { $$ = one(kp, $1); }
    | dims ',' dim                  { $$ = $1; kir_push(kp, &$$, $3); }
    ;

dim: INT                            { $$ = kir_new(kp, sizeof *$$); $$->value = strtoll($1.s, NULL, 10); $$->loc = L(@1);
                                      if ($1.s[0] == '-' || strlen($1.s) > 18) { kir_error(kp, L(@1), "a dimension must be a non-negative integer below 10^18"); YYABORT; } }
    | name                          { $$ = kir_new(kp, sizeof *$$); $$->sym = $1.s; $$->value = -1; $$->loc = L(@1); }
    ;

call: name '(' args_opt ')' attrs_opt annot_opt
                                    { $$ = stmt(kp, KS_NODE, L(@1)); $$->op = $1.s; $$->op_loc = L(@1);
                                      $$->args = $3; $$->attrs = $5; $$->annot = $6; }
    ;

args_opt: %empty                    { $$ = (KList){0}; }
    | args
    ;

args: arg                           { $$ = one(kp, $1); }
    | args ',' arg                  { $$ = $1; kir_push(kp, &$$, $3); }
    ;

arg: UNDERSCORE                     { $$ = ref(kp, (KStr){NULL, 0, L(@1)}, NULL, (KList){0}); }
    | name                          { $$ = ref(kp, $1, NULL, (KList){0}); }
    ;

attrs_opt: %empty                   { $$ = (KList){0}; }
    | '{' pairs_opt '}'             { $$ = $2; }
    ;

annot_opt: %empty                   { $$ = (KList){0}; }
    | '@' '{' pairs_opt '}'         { $$ = $3; }
    ;

pairs_opt: %empty                   { $$ = (KList){0}; }
    | pairs
    ;

pairs: pair                         { $$ = one(kp, $1); }
    | pairs ',' pair                { $$ = $1; kir_push(kp, &$$, $3); }
    ;

pair: key '=' value                { $$ = kir_new(kp, sizeof *$$); $$->key = $1.s; $$->loc = L(@1); $$->val = $3; }
    ;

value: INT                          { $$ = expr(kp, KX_INT, L(@1), $1); }
    | FLOAT                         { $$ = expr(kp, KX_FLOAT, L(@1), $1); }
    | STRING                        { $$ = expr(kp, KX_STRING, L(@1), $1); }
    | '[' items_opt ']'             { $$ = expr(kp, KX_LIST, L(@1), (KStr){0}); $$->items = $2; }
    | KW_TENSOR type data           { $$ = expr(kp, KX_TENSOR, L(@1), (KStr){0}); $$->type = $2; $$->data = $3; }
    ;

items_opt: %empty                   { $$ = (KList){0}; }
    | items
    ;

items: value                        { $$ = one(kp, $1); }
    | items ',' value               { $$ = $1; kir_push(kp, &$$, $3); }
    ;

data: '[' items_opt ']'             { $$ = expr(kp, KX_LIST, L(@1), (KStr){0}); $$->items = $2; }
    | KW_ZEROS                      { $$ = expr(kp, KX_ZEROS, L(@1), (KStr){0}); }
    | KW_ONES                       { $$ = expr(kp, KX_ONES, L(@1), (KStr){0}); }
    | KW_RANDOM '(' pairs_opt ')'   { $$ = expr(kp, KX_RANDOM, L(@1), (KStr){0}); $$->args = $3; }
    | KW_FILE '(' STRING ')'        { $$ = expr(kp, KX_FILE, L(@1), $3); }
    | KW_FILE '(' STRING ',' pairs ')'
                                    { $$ = expr(kp, KX_FILE, L(@1), $3); $$->args = $5; }
    | KW_ELIDED '(' INT IDENT ')'   { $$ = expr(kp, KX_ELIDED, L(@1), (KStr){0}); }
    ;

name: IDENT
    | STRING
    ;

/* Attribute and annotation keys may be words the lexer reserves. */
key: name | KW_KILN | KW_GRAPH | KW_OPSET | KW_INPUT | KW_CONST | KW_OUTPUT | KW_BOUND | KW_TENSOR
    | KW_ZEROS | KW_ONES | KW_RANDOM | KW_FILE | KW_ELIDED
    ;

%%

#include "kir_lexer.h"

/* "'='" and "\"input\"" as bison names them, shown as '=' and 'input'. */
static const char *shown(yysymbol_kind_t k, char *buf, size_t n)
{
    const char *s = yysymbol_name(k);
    if (s[0] == '"') snprintf(buf, n, "'%.*s'", (int)strlen(s) - 2, s + 1);
    else snprintf(buf, n, "%s", s);
    return buf;
}

static int yyreport_syntax_error(const yypcontext_t *ctx, yyscan_t scanner, KParse *kp)
{
    (void)scanner;
    yysymbol_kind_t got = yypcontext_token(ctx), want[8];
    if (got == YYSYMBOL_LEXERROR) return 0; /* the lexer said why */
    int n = yypcontext_expected_tokens(ctx, want, 8);
    char msg[512], a[64];
    size_t k = (size_t)snprintf(msg, sizeof msg, "unexpected %s", shown(got, a, sizeof a));
    for (int i = 0; i < n && n <= 6 && k < sizeof msg; i++)
        k += (size_t)snprintf(msg + k, sizeof msg - k, "%s%s", i == 0 ? "; expected " : i == n - 1 ? " or " : ", ",
                              shown(want[i], a, sizeof a));
    kir_error(kp, L(*yypcontext_location(ctx)), "%s", msg);
    return 0;
}

static void yyerror(YYLTYPE *loc, yyscan_t scanner, KParse *kp, const char *msg)
{
    (void)scanner;
    kir_error(kp, L(*loc), "%s", msg); /* "memory exhausted": nesting too deep */
}

Status kir_parse(KParse *kp)
{
    yyscan_t scanner;
    if (kp->len > (size_t)INT32_MAX) return kir_error(kp, (KLoc){1, 1}, "file too large for kiln text (over 2 GiB)");
    if (yylex_init_extra(kp, &scanner)) return diag_error(kp->d, ST_INTERNAL, NULL, "out of memory");
    kp->line = kp->col = 1;
    YY_BUFFER_STATE buf = yy_scan_bytes(kp->text, (int)kp->len, scanner);
    int rc = yyparse(scanner, kp);
    yy_delete_buffer(buf, scanner);
    yylex_destroy(scanner);
    if (rc && !kp->d->status) kir_error(kp, (KLoc){kp->line, kp->col}, "cannot parse this file");
    return kp->d->status;
}
