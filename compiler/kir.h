/*
 * kir.h — kiln text (.kir) between its parser and its loader. The bison
 * grammar (kir_parser.y) builds this syntax tree and checks nothing else;
 * kir_load.c gives it meaning (names, types, ops, data) and builds a Graph.
 * Everything lives in one Arena, freed when loading ends.
 */
#ifndef KIR_H
#define KIR_H

#include "kiln.h"

typedef struct { int line, col; } KLoc;  /* 1-based */

/* A token's text (strings decoded, so len counts NULs) and where it starts. */
typedef struct { const char *s; size_t len; KLoc loc; } KStr;

/* A growable array of pointers, allocated in the parse's arena. */
typedef struct { void **v; int n, cap; } KList;

typedef enum {
    KX_INT,     /* text: an integer literal as written */
    KX_FLOAT,   /* text: a float literal (digits, exponent, inf, nan) as written */
    KX_STRING,  /* text: the decoded string (len bytes, may hold NULs) */
    KX_LIST,    /* items: [a, b, ...] */
    KX_TENSOR,  /* type + data: tensor f32[2] [1, 2] */
    KX_ZEROS,   /* zeros */
    KX_ONES,    /* ones */
    KX_RANDOM,  /* args: random(seed = S, low = L, high = H) */
    KX_FILE,    /* text: path; args: file("path", offset = N) */
    KX_ELIDED,  /* elided(N elements): a dump for people, not for parsing */
} KExprKind;

typedef struct KType KType;
typedef struct KExpr {
    KExprKind kind;
    KLoc loc;
    const char *text;
    size_t len;
    KList items;   /* KExpr * */
    KList args;    /* KPair * */
    KType *type;
    struct KExpr *data;
} KExpr;

typedef struct { const char *key; KLoc loc; KExpr *val; } KPair;

typedef struct { const char *sym; int64_t value; KLoc loc; } KDim;  /* sym NULL: static */
struct KType {
    const char *dtype;
    KLoc loc;
    KList dims;    /* KDim * */
};

/* A name being defined (with optional type and annotations) or used. */
typedef struct {
    const char *name;  /* NULL: '_', an omitted optional input or output */
    KLoc loc;
    KType *type;       /* NULL: not written */
    KList annot;       /* KPair * */
} KRef;

typedef enum {
    KS_INPUT,   /* input x: f32[...] [bound DATA] */
    KS_CONST,   /* const|param w: f32[...] = DATA */
    KS_OUTPUT,  /* output a, b */
    KS_NODE,    /* a, b = Op(x, _, y) {attrs} @{annotations}; with output: also graph outputs */
} KStmtKind;

typedef struct {
    KStmtKind kind;
    KLoc loc;
    bool is_output;   /* KS_NODE written as "output y = Op(...)" */
    KList outs;       /* KRef *: the names declared (one for input/const) */
    const char *op;
    KLoc op_loc;
    KList args;       /* KRef * */
    KList attrs;      /* KPair * */
    KList annot;      /* KPair *: the node's annotations */
    KExpr *data;      /* input's bound data, const's data */
} KStmt;

typedef struct {
    Arena *arena;
    const char *path;     /* for messages */
    const char *text;     /* the whole file, NUL-terminated */
    size_t len;
    Diag *d;
    /* the lexer's position */
    int line, col;
    /* the result */
    KExpr *version;
    const char *graph_name;
    KExpr *opset;         /* NULL if not written */
    KList graph_annot;    /* KPair * */
    KList stmts;          /* KStmt * */
} KParse;

/* kir_parser.y: parse kp->text; a syntax error fills kp->d (with the
 * source line and a caret) and returns ST_INPUT. */
Status kir_parse(KParse *kp);

/* kir_load.c: helpers the grammar's actions call. */
void *kir_new(KParse *kp, size_t n);                  /* zeroed */
char *kir_strndup(KParse *kp, const char *s, size_t n);
void kir_push(KParse *kp, KList *l, void *item);
/* Report "FILE:LINE:COL: error: MSG", then the line and a caret, into kp->d (first error wins). */
Status kir_error(KParse *kp, KLoc loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
