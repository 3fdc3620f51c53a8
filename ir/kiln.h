/*
 * kiln.h — the one internal header of the kiln compiler, in sections:
 * util, diagnostics, dtypes, IR, IR helpers, shape rules, passes, kernel
 * calls and codegen, frontends. Data flows one way:
 * frontend -> IR -> passes -> codegen. Nothing here prints or exits: every
 * fallible function returns a Status and fills a Diag.
 */
#ifndef KILN_H
#define KILN_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "kiln_rt.h"

#define KILN_MAX_RANK 8

/* ---- util.c ------------------------------------------------------------ */

/* A region allocator: a graph and everything it points to is freed at once. */
typedef struct Arena Arena;
Arena *arena_new(void);
void arena_free(Arena *a);
void *arena_alloc(Arena *a, size_t n);           /* zeroed, 16-aligned; NULL only if out of memory */
char *arena_strdup(Arena *a, const char *s);
char *arena_printf(Arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A growable byte buffer for building text. */
typedef struct { char *data; size_t len, cap; } Buf;
void buf_printf(Buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_put(Buf *b, const void *p, size_t n);
void buf_free(Buf *b);

/* Overflow-checked size arithmetic: false if the result does not fit. */
bool mul_size(size_t a, size_t b, size_t *out);

/* ---- diag.c ------------------------------------------------------------ */

/* Exit codes of the kiln command, and the status every function returns. */
typedef enum {
    ST_OK = 0,
    ST_INPUT = 1,     /* a problem with the model or the data: bad, unsupported, mismatched */
    ST_USAGE = 2,     /* a bad command line */
    ST_INTERNAL = 3,  /* a bug in kiln */
} Status;

typedef struct {
    Status status;
    bool unsupported;  /* the input is valid but uses something kiln lacks */
    char msg[2048];    /* "node 'NAME' (Op): what is wrong" without file or "error:" */
} Diag;

struct Node;
/* Fill d (first error wins) and return status. n may be NULL. */
Status diag_error(Diag *d, Status status, const struct Node *n, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* As diag_error with ST_INPUT, marking the input valid but unsupported. */
Status diag_unsupported(Diag *d, const struct Node *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- dtype.c ----------------------------------------------------------- */

typedef kiln_dtype DType;
const char *dtype_name(DType t);       /* "f32"; "undefined" if unknown */
size_t dtype_size(DType t);            /* 0 for undefined and string */
const char *dtype_ctype(DType t);      /* C storage type in generated code: "float", "uint16_t" for f16 */
DType dtype_from_name(const char *s);  /* KILN_DTYPE_UNDEFINED if unknown */
bool dtype_is_float(DType t);          /* f16, bf16, f32, f64 */
bool dtype_is_int(DType t);            /* signed or unsigned integers, not bool */
bool dtype_is_signed(DType t);
/* Element i of a buffer as double / int64 (for folding and shape values). */
double dtype_load_f64(DType t, const void *p, size_t i);
int64_t dtype_load_i64(DType t, const void *p, size_t i);
void dtype_store_f64(DType t, void *p, size_t i, double v);
uint16_t f32_to_f16(float f);
float f16_to_f32(uint16_t h);
uint16_t f32_to_bf16(float f);
float bf16_to_f32(uint16_t h);

/* ---- IR ---------------------------------------------------------------- */

typedef enum {
#define OP(name, ...) OP_##name,
#define KOP OP
#include "ops.def"
#undef KOP
#undef OP
    OP_COUNT_
} Op;

#define V (-1) /* variadic arity in ops.def */
typedef struct {
    const char *name;     /* ONNX op type */
    int min_in, max_in;   /* max V: unbounded */
    int min_out, max_out;
    const char *attrs;    /* "name:kind ..." */
    bool kiln_only;       /* a KOP row: not an ONNX operator */
} OpInfo;
#undef V
extern const OpInfo op_info[OP_COUNT_];
Op op_from_name(const char *onnx_name);  /* OP_COUNT_ if unknown */

typedef struct {
    int rank;
    int64_t dims[KILN_MAX_RANK];      /* -1 where symbolic */
    const char *sym[KILN_MAX_RANK];   /* name of a symbolic dim, else NULL */
} Shape;

typedef enum {
    VAL_ACT,    /* computed by a node at run time */
    VAL_INPUT,  /* a graph input */
    VAL_CONST,  /* known at compile time: data holds it */
} ValueKind;

typedef struct Node Node;

typedef struct Value {
    const char *name;
    int id;
    ValueKind kind;
    DType dtype;
    Shape shape;
    bool typed;          /* dtype and shape are known */
    bool is_output;      /* a graph output */
    const void *data;    /* VAL_CONST: dense little-endian elements; bound inputs: their value */
    bool bound;          /* VAL_INPUT specialised to data (a shape tensor given at compile time) */
    Node *producer;      /* NULL for inputs and constants */
    Node **users;
    int nusers, users_cap;
    int64_t offset;      /* byte offset in the workspace, -1 if not in it */
} Value;

typedef enum {
    ATTR_FLOAT, ATTR_INT, ATTR_STRING, ATTR_TENSOR, ATTR_GRAPH,
    ATTR_FLOATS, ATTR_INTS, ATTR_STRINGS, ATTR_TENSORS,
} AttrKind;

typedef struct {
    const char *name;
    AttrKind kind;
    double f;
    int64_t i;
    const char *s;
    Value *t;            /* a detached constant value (not in the graph's lists) */
    int n;               /* element count of the list kinds */
    double *floats;
    int64_t *ints;
    const char **strings;
} Attr;

struct Node {
    Op op;
    int id;
    const char *name;    /* ONNX node name, or generated */
    const char *loc;     /* source location for diagnostics, or NULL */
    Value **in;          /* NULL entries are omitted optional inputs */
    int nin;
    Value **out;         /* NULL entries are omitted optional outputs */
    int nout;
    Attr *attrs;
    int nattrs;
    int opset;           /* default-domain opset: some ops moved attributes to inputs */
    bool dead;           /* removed; swept by graph_compact */
    int64_t scratch_offset;  /* workspace offset of the kernel's scratch memory, -1 if none */
};

typedef struct {
    const char *name;
    const char *file;    /* where it came from, for diagnostics */
    Arena *arena;
    Value **values;
    int nvalues, values_cap;
    Node **nodes;        /* topological order */
    int nnodes, nodes_cap;
    Value **inputs;
    int ninputs;
    Value **outputs;
    int noutputs;
    int64_t opset;       /* of the default domain */
    int64_t workspace_size;  /* set by the memory planner, -1 before */
} Graph;

/* graph.c: building and editing */
Graph *graph_new(const char *name);
void graph_free(Graph *g);
Value *graph_value(Graph *g, const char *name);               /* new VAL_ACT value */
Value *graph_find(const Graph *g, const char *name);          /* by name, or NULL */
void graph_add_value(Graph *g, Value *v);                     /* adopt a detached value (from arena memory) */
Value *graph_const(Graph *g, const char *name, DType t, const Shape *s, const void *data);  /* copies data */
Node *graph_node(Graph *g, Op op, const char *name, int nin, int nout);  /* appended; fill in/out with node_set_* */
void node_set_input(Node *n, int k, Value *v);
void node_set_output(Node *n, int k, Value *v);
Attr *node_add_attr(Graph *g, Node *n, const char *name, AttrKind kind);
void value_replace_uses(Value *old, Value *new_);  /* every user of old reads new_ instead */
void graph_compact(Graph *g);                      /* drop dead nodes and unused values */
void graph_add_input(Graph *g, Value *v);
void graph_add_output(Graph *g, Value *v);

/* Attribute access; defaults when absent. attr_ints returns the count (or -1 if absent). */
const Attr *attr_get(const Node *n, const char *name);
int64_t attr_int(const Node *n, const char *name, int64_t def);
double attr_float(const Node *n, const char *name, double def);
const char *attr_str(const Node *n, const char *name, const char *def);
int attr_ints(const Node *n, const char *name, const int64_t **out);

/* shape.c: shapes and values */
int64_t shape_numel(const Shape *s);              /* -1 if symbolic or overflowing */
bool shape_is_static(const Shape *s);
bool shape_equal(const Shape *a, const Shape *b);
Shape shape_make(int rank, const int64_t *dims);
size_t value_bytes(const Value *v);               /* numel * dtype size; 0 if unknown */
bool value_is_const(const Value *v);              /* VAL_CONST or bound input */
/* NumPy broadcasting of a and b into out; false if incompatible. */
bool shape_broadcast(const Shape *a, const Shape *b, Shape *out);
/* Normalise a possibly negative axis for a rank; false if out of range. */
bool norm_axis(int64_t axis, int rank, int64_t *out);
const char *shape_str(const Shape *s, char *buf, size_t n);  /* "[1, 3, N]" */

/* verify.c: invariants (topological order, arity, producers and users agree) */
Status graph_verify(const Graph *g, Diag *d);

/* print.c: the kiln text form of a graph */
void graph_print(const Graph *g, FILE *f);

/* ---- shape rules (ir/infer_*.c) ---------------------------------------- */

/*
 * A shape rule checks a node's inputs and attributes and sets the dtype and
 * shape of every output (value_set_type). It may read constant inputs
 * (const_ints) and must reject what the op cannot do with a diagnostic.
 */
typedef Status (*InferFn)(Node *n, Diag *d);
typedef struct { Op op; InferFn infer; } InferRule;

void value_set_type(Value *v, DType t, const Shape *s);
/* Input k of n as integers, if it is a compile-time constant of an integer
 * type; returns the count, or -1 with a diagnostic (not constant, too long). */
int const_ints(const Node *n, int k, int64_t *out, int max, Diag *d);
/* The same for an input of any numeric type, read as doubles. */
int const_f64s(const Node *n, int k, double *out, int max, Diag *d);
/* True if input k is present (not omitted). */
bool has_input(const Node *n, int k);

/* Each group file defines one table, ended by {OP_COUNT_, NULL}. */
extern const InferRule infer_elementwise[], infer_linalg[], infer_pool_norm[],
    infer_reduce[], infer_movement[], infer_resize[];
InferFn infer_rule(Op op);  /* NULL if the op has no rule yet */

/* Normalised parameters that a shape rule and its lowering share. */
Status movement_slice_plan(const Node *n, int64_t *start, int64_t *step, int64_t *len, Diag *d);
Status movement_pad_plan(const Node *n, int64_t *begin, int64_t *end, int *mode, Diag *d);
Status movement_range_plan(const Node *n, int64_t *count, double *start, double *delta, Diag *d);
Status movement_onehot_plan(const Node *n, int64_t *depth, int64_t *axis, Diag *d);
Status reduce_axes(const Node *n, bool mask[KILN_MAX_RANK], Diag *d);        /* infer_reduce.c */
struct kiln_resize_geom;                                                     /* kernels/c/resize.h */
Status resize_geometry(const Node *n, struct kiln_resize_geom *g, Diag *d);  /* infer_resize.c */

/* ---- kernel calls and codegen (codegen/) ------------------------------- */

/*
 * Every kernel in kernels/c has one signature:
 *
 *     void kiln_NAME(const int64_t *p, const double *f,
 *                    const void *const *in, void *const *out);
 *
 * p and f are the node's integer and float parameters (shapes, strides,
 * attributes) in an order the kernel and its lowering agree on; in and out
 * are the node's inputs and outputs in node order (NULL where omitted).
 * Lowering a node yields a KernelCall: codegen prints it as a call with the
 * parameters as static const arrays, and constant folding executes the same
 * function in the compiler, so the folded value is what the module computes.
 * A kernel that needs temporary memory sets scratch; it then finds that many
 * bytes (KILN_ALIGNMENT-aligned) at out[nout], after the node's outputs.
 */
typedef void (*KernelFn)(const int64_t *p, const double *f, const void *const *in, void *const *out);

typedef struct {
    const char *name;     /* C function name in the kernel header */
    KernelFn fn;          /* the same function, linked into the compiler */
    const char *header;   /* kernels/c/<header>.h that defines it */
    int64_t *p;
    int np, p_cap;
    double *f;
    int nf, f_cap;
    int64_t scratch;      /* bytes of temporary memory the kernel needs, passed as out[nout] */
} KernelCall;

#define KC_KERNEL(kc, hdr, func) kc_kernel((kc), (hdr), #func, (func))
void kc_kernel(KernelCall *kc, const char *header, const char *name, KernelFn fn);
void kc_i(KernelCall *kc, int64_t v);                     /* append one integer parameter */
void kc_is(KernelCall *kc, const int64_t *v, int n);      /* append n */
void kc_f(KernelCall *kc, double v);                      /* append one float parameter */
void kc_free(KernelCall *kc);

/* A lowering picks the kernel for a node (by dtype, attributes) and fills its parameters. */
typedef Status (*LowerFn)(const Node *n, KernelCall *kc, Diag *d);
typedef struct { Op op; LowerFn lower; } LowerRule;
extern const LowerRule lower_elementwise[], lower_linalg[], lower_pool_norm[],
    lower_reduce[], lower_movement[], lower_resize[];
LowerFn lower_rule(Op op);  /* NULL if the op has no lowering yet */
Status lower_node(const Node *n, KernelCall *kc, Diag *d);

/* Run n on its constant inputs at compile time; its outputs become constants. */
Status eval_node(Graph *g, Node *n, Diag *d);

/* c.c: write NAME.c and NAME.h for the C target into outdir. */
typedef struct {
    const char *name;        /* C identifier prefix */
    const char *outdir;
    const char *source;      /* model path, for the banner */
} CodegenOptions;
Status codegen_c(const Graph *g, const CodegenOptions *o, Diag *d);

/* Kernel header text compiled into kiln (build/embedded.c), by file name. */
const char *embedded_file(const char *name);

/* ---- passes (passes/) -------------------------------------------------- */

typedef Status (*PassFn)(Graph *g, Diag *d);
typedef struct {
    const char *name;
    const char *help;
    PassFn run;
} Pass;
extern const Pass passes[];
extern const int npasses;
const Pass *pass_find(const char *name);
/* The pass names of -O0, -O1, -O2, ending in NULL. */
const char *const *pipeline_for_level(int level);

/* True if n can run at compile time: a lowering exists and its inputs are known. */
bool node_is_foldable(const Node *n);
Status pass_infer_shapes(Graph *g, Diag *d);
Status pass_fold_constants(Graph *g, Diag *d);
Status pass_eliminate_dead(Graph *g, Diag *d);
Status pass_plan_memory(Graph *g, Diag *d);

/* ---- frontends (compiler/) --------------------------------------------- */

/* Read an ONNX model file into a new graph. */
Status onnx_load(const char *path, Graph **out, Diag *d);

/* npy.c: NumPy .npy files (format 1.0 to 3.0, little-endian, C order). */
typedef struct {
    DType dtype;
    Shape shape;
    void *data;   /* malloc'd; the caller frees it */
    size_t bytes;
} NpyArray;
Status npy_read(const char *path, NpyArray *out, Diag *d);
Status npy_write(const char *path, DType t, const Shape *s, const void *data, Diag *d);

/* ---- the driver (compiler/) ------------------------------------------- */

enum { MAX_BINDINGS = 64 };

/* What kiln compile and kiln run share. */
typedef struct {
    const char *model;
    const char *outdir;
    const char *name;               /* C identifier of the module */
    const char *target;             /* "c" */
    const char *dump_after;         /* pass name, "all", or NULL: write IR files after it */
    bool dump_ir;                   /* print the IR after the pipeline */
    bool verify_each;
    bool time_passes;               /* print a table of time and node counts per pass */
    int level;                      /* -O0, -O1, -O2 */
    const char *pass_list;          /* --passes a,b,c (or "none"): replaces the level's pipeline */
    const char *depfile;            /* -MD -MF */
    int nbind;
    struct { const char *name; const char *file; } bind[MAX_BINDINGS];   /* --bind NAME=FILE.npy */
    int ndim;
    struct { const char *name; int64_t value; } dim[MAX_BINDINGS];       /* --dim NAME=VALUE */
} CompileOptions;

/* driver.c: load the model, specialise its inputs, run the pipeline. */
Status load_model(const char *path, Graph **out, Diag *d);
Status specialise_inputs(Graph *g, const CompileOptions *o, Diag *d);
Status run_pipeline(Graph *g, const CompileOptions *o, Diag *d);
Status require_codegen_passes(Graph *g, Diag *d);
/* Print "FILE: error: MSG" (with "unsupported" where it applies) and return the exit code. */
int report(const char *file, const Diag *d);

/* options.c: options kiln compile, run and inspect share. */
int parse_common_option(int argc, char **argv, int *i, CompileOptions *o, Diag *d);
Status check_options(const CompileOptions *o, Diag *d);

int cmd_compile(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_inspect(int argc, char **argv);

#endif
