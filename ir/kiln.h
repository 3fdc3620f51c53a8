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
    char where[512];   /* "FILE:LINE:COL" in kiln text, reported in place of the file; or empty */
    char context[1024];/* the source line and a caret under the column; or empty */
} Diag;

struct Node;
/* Fill d (first error wins) and return status. n may be NULL. */
Status diag_error(Diag *d, Status status, const struct Node *n, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* As diag_error with ST_INPUT, marking the input valid but unsupported. */
Status diag_unsupported(Diag *d, const struct Node *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* util.c: open an input file for reading; NULL (with a diagnostic) unless it
 * is a regular file. */
FILE *open_regular_file(const char *path, size_t *size, Diag *d);

/* ---- limits (util.c; README "Limits") ---------------------------------- */

/* What kiln accepts; beyond these an input is rejected with a clear error. */
#define KILN_MAX_ELEMENTS ((int64_t)1 << 40)  /* elements of one tensor (and so one dimension) */
#define KILN_MAX_ATTR_ELEMENTS (1 << 24)      /* entries of a list attribute, bytes of a string */
#define KILN_MAX_NESTING 32                   /* nesting of ONNX messages (subgraphs in attributes) */
#define KILN_MAX_MODEL_BYTES ((size_t)2 << 30) /* an ONNX file: protobuf's own limit is 2 GiB */

typedef struct {
    size_t max_memory;          /* bytes of tensor data the compiler may allocate (--max-memory) */
    size_t used;                /* reserved so far */
    bool allow_absolute_paths;  /* external data may name absolute paths (--allow-absolute-paths) */
} Limits;
extern Limits kiln_limits;
/* Reserve bytes of kiln_limits.max_memory for a big allocation (what it is
 * for, for the message); ST_INPUT with a diagnostic if they would exceed it. */
Status mem_reserve(size_t bytes, const struct Node *n, const char *what, Diag *d);
bool parse_size(const char *s, size_t *out);  /* "512M", "8G", "1000": bytes */

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
    const char **deps;   /* files read besides g->file (kiln text's file(...)), for depfiles */
    int ndeps;
} Graph;

/* graph.c: building and editing */
Graph *graph_new(const char *name);
void graph_free(Graph *g);
Value *graph_value(Graph *g, const char *name);               /* new VAL_ACT value */
Value *graph_find(const Graph *g, const char *name);          /* by name, or NULL */
void graph_add_value(Graph *g, Value *v);
/* A constant owning data (arena memory), not yet in the graph's lists. */
Value *value_new_const(Graph *g, const char *name, DType t, const Shape *s, const void *data);                     /* adopt a detached value (from arena memory) */
Value *graph_const(Graph *g, const char *name, DType t, const Shape *s, const void *data);  /* copies data */
Node *graph_node(Graph *g, Op op, const char *name, int nin, int nout);  /* appended; fill in/out with node_set_* */
void node_set_input(Node *n, int k, Value *v);
void node_set_output(Node *n, int k, Value *v);
Attr *node_add_attr(Graph *g, Node *n, const char *name, AttrKind kind);
void value_replace_uses(Value *old, Value *new_);  /* every user of old reads new_ instead */
/* Rewriting passes: every use of old, as a node input or as a graph output,
 * becomes new_ (same dtype and shape); a graph output keeps its name, so
 * new_'s producer writes old instead. Then mark old's producer dead. Check
 * value_replaceable first: false where new_ is an input, a constant or an
 * output itself and old is an output. */
bool value_replaceable(const Value *old, const Value *new_);
void graph_replace_value(Value *old, Value *new_);
/* Drop n, whose output k equals x: its uses take x. False, with nothing
 * changed, if that cannot be done or another output of n is used. */
bool node_bypass(Node *n, int k, Value *x);
void node_set_ninputs(Graph *g, Node *n, int nin);  /* grow (omitted inputs) or shrink n->in */
Attr *node_set_attr(Graph *g, Node *n, const char *name, AttrKind kind);  /* reset existing, or added */
void node_set_ints(Graph *g, Node *n, const char *name, const int64_t *v, int count);  /* an ATTR_INTS copy of v */
void graph_compact(Graph *g);                      /* drop dead nodes and unused values */
void graph_add_input(Graph *g, Value *v);
void graph_add_output(Graph *g, Value *v);

/* Attribute access; defaults when absent. attr_ints returns the count (or -1 if absent). */
const Attr *attr_get(const Node *n, const char *name);
int64_t attr_int(const Node *n, const char *name, int64_t def);
double attr_float(const Node *n, const char *name, double def);
const char *attr_str(const Node *n, const char *name, const char *def);
int attr_ints(const Node *n, const char *name, const int64_t **out);
/* ops.c: the kind ops.def gives attribute name of op; false if op has no such attribute. */
bool op_attr_kind(Op op, const char *name, AttrKind *kind);

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

/* print.c: the kiln text form of a graph (README.md, "kiln text") */
void graph_print(const Graph *g, FILE *f);   /* for people: constants over 64 elements elided */
/* Complete and parseable: constants over 64 elements go to PATH.bin, named
 * by file(...); path "-" writes everything inline to stdout. */
Status graph_write_kir(const Graph *g, const char *path, Diag *d);
/* Float attributes: the shortest text that reads back to x, and the rule for
 * reading one (at most 9 significant digits: a 32-bit float, like ONNX's). */
void kir_format_float(double x, char *buf, size_t n);
int kir_sig_digits(const char *s);

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
    infer_reduce[], infer_movement[], infer_resize[], infer_fused[];
InferFn infer_rule(Op op);  /* NULL if the op has no rule yet */

/* Normalised parameters that a shape rule and its lowering share. */
Status movement_slice_plan(const Node *n, int64_t *start, int64_t *step, int64_t *len, Diag *d);
Status movement_pad_plan(const Node *n, int64_t *begin, int64_t *end, int *mode, Diag *d);
Status movement_range_plan(const Node *n, int64_t *count, double *start, double *delta, Diag *d);
Status movement_onehot_plan(const Node *n, int64_t *depth, int64_t *axis, Diag *d);
Status reduce_axes(const Node *n, bool mask[KILN_MAX_RANK], Diag *d);        /* infer_reduce.c */
Shape elementwise_bcast_shape(const Node *n, int k);  /* input k as broadcasting sees it (opset <= 6 axis rules) */
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
    char *source;         /* a kernel generated for this node (malloc'd C text defining name), or NULL:
                           * codegen emits it before the run function; fn stays its reference */
    char gen_name[48];    /* storage for name when the kernel is generated */
    bool reference;       /* set before lowering: reference kernels only (constant folding) */
    bool epilogue_done;   /* a fast linalg kernel that applies its Fused node's whole epilogue itself */
    int packed_in;        /* k + 1 if in[k] is replaced by packed (a weight laid out for the kernel), else 0 */
    int packed_too;       /* k + 1 if in[k] is packed there too (the kernel gets 0 for it), else 0 */
    float *packed;        /* malloc'd; codegen emits it as a const array, folding passes it */
    int64_t npacked;
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
    lower_reduce[], lower_movement[], lower_resize[], lower_fused[];
LowerFn lower_rule(Op op);  /* NULL if the op has no lowering yet */
Status lower_node(const Node *n, KernelCall *kc, Diag *d);
bool lower_takes_epilogue(const Node *n);  /* lower_fused.c: n's linalg kernel has a fused form */

/* Run n on its constant inputs at compile time; its outputs become constants. */
Status eval_node(Graph *g, Node *n, Diag *d);

/* c.c: write NAME.c and NAME.h for the C target into outdir. */
typedef struct {
    const char *name;        /* C identifier prefix */
    const char *outdir;
    const char *source;      /* model path, for the banner */
    int cuda_arch;           /* CUDA: the compute capability it is built for (90: sm_90) */
    bool cuda_graph;         /* CUDA: capture the forward pass in a CUDA graph by default */
    bool checked;            /* C: NAME_run returns KILN_STATUS_NONFINITE if an output holds NaN or Inf */
} CodegenOptions;
Status codegen_c(const Graph *g, const CodegenOptions *o, Diag *d);

/* cpu.c: the CPU the C target's fast kernels are for (--cpu, --threads). */
typedef struct {
    const char *name;     /* generic, avx2, avx512, neon */
    int vec_bytes;        /* vector width of the micro-kernel */
    int mr, nr;           /* its register tile: weights are packed in panels of these */
    const char *target;   /* GCC/Clang target attribute enabling the ISA, or "" */
    const char *feature;  /* __builtin_cpu_supports name NAME_run checks, or "" */
    int threads;          /* > 1: kernels split work across rtlib's pool */
} CpuTarget;
extern const CpuTarget *codegen_cpu;  /* NULL: reference kernels only */
Status cpu_select(const char *name, int threads, Diag *d);  /* NULL or "native": the host's */
void emit_cpu_config(Buf *b, const char *const *headers, int nheaders);  /* #defines gemm.h reads */
void emit_cpu_check(Buf *b, const char *const *headers, int nheaders);   /* NAME_run's ISA check */
void emit_cpu_header(Buf *h, const char *name);                           /* NAME_CPU, NAME_THREADS */
bool value_only_packed(const Graph *g, const KernelCall *calls, const Value *v);
void emit_packed(Buf *b, const Node *n, const KernelCall *kc);            /* static const float pkID[] */
/* cuda.c: write NAME.cu and NAME.h for the CUDA target into outdir. */
Status codegen_cuda(const Graph *g, const CodegenOptions *o, Diag *d);
const char *cuda_pass_list(int level);  /* the CUDA target's pipeline at -O<level>, or NULL: the default */

/* emit.c: what both targets' emitters share. */
void emit_value_ref(const Graph *g, const Value *v, char *buf, size_t n);  /* inputs[k], outputs[k], wID, (ws + OFF) */
void emit_comment(Buf *b, const char *s);             /* text safe inside a C comment */
void emit_string_lit(Buf *b, const char *s);          /* a C string literal */
void emit_float_lit(Buf *b, double x, bool single);
void emit_element_lit(Buf *b, DType t, const void *data, size_t i);
void emit_const(Buf *b, const Value *v);              /* static const wID[] = {...} */
void emit_params(Buf *b, const Node *n, const KernelCall *kc);  /* static const pID[], fID[] */
void emit_tensor_descs(Buf *b, const char *what, Value *const *vals, int count);
void emit_kernel_headers(Buf *b, const char *dir, const char *ext, const char *const *headers, int nheaders);
void emit_header_banner(Buf *h, const Graph *g, const CodegenOptions *o, const char *target);
Status emit_write_file(const char *dir, const char *name, const char *text, size_t len, Diag *d);

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
Status pass_fuse_epilogues(Graph *g, Diag *d);
Status pass_fuse_elementwise(Graph *g, Diag *d);
Status pass_fuse_layernorm(Graph *g, Diag *d);
Status pass_fuse_gelu(Graph *g, Diag *d);
Status pass_fuse_attention(Graph *g, Diag *d);

/* fusion.c: pattern helpers of the fuse-* passes */
bool only_use(const Value *v, const Node *user);   /* v is an intermediate that user alone reads */
Node *sole_user(const Value *v, Op op);            /* the one reader of intermediate v, if its op is op (OP_COUNT_: any) */
Value *other_operand(const Node *n, const Value *v);  /* the other input of a binary node that reads v */
bool value_scalar(const Value *v, double *x);      /* a known single number */
bool const_near(const Value *v, double want);      /* ... within 1e-4 of want, relatively (exporters round) */
void node_remove(Node *n);                         /* dead, its inputs released */
/* A new node of op with nin inputs in root's place, writing root's output; root is removed. */
Node *fuse_replace(Graph *g, Node *root, Op op, int nin);
Status fuse_check(Node *n, Diag *d);               /* its shape rule accepts it and keeps its output type */
Status pass_eliminate_noops(Graph *g, Diag *d);
Status pass_cse(Graph *g, Diag *d);
Status pass_simplify(Graph *g, Diag *d);
Status pass_fold_batchnorm(Graph *g, Diag *d);
Status pass_layout_channels_last(Graph *g, Diag *d);
Status pass_fuse_separable(Graph *g, Diag *d);

/* rewrite.c: pattern helpers of the rewriting passes */
bool op_is_reshape_like(Op op);              /* Reshape, Flatten, Squeeze, Unsqueeze: same bytes, new shape */
Node *live_producer(const Value *v, Op op);  /* v's live producer if its op is op (OP_COUNT_: any), else NULL */
int transpose_perm(const Node *n, int64_t perm[KILN_MAX_RANK]);  /* the rank, or -1 for a bad perm */
bool perm_keeps_order(const int64_t *perm, const Shape *in);     /* only size-1 axes move */
bool value_all_equal(const Value *v, double x);                  /* a constant whose every element is x */
Value *new_const(Graph *g, const char *base, DType t, const Shape *s, const void *data);  /* fresh name from base */
bool node_make_reshape(Graph *g, Node *n, Value *x);             /* n = Reshape(x) to n's output shape */

/* ---- frontends (compiler/) --------------------------------------------- */

/* Read an ONNX model file into a new graph. */
Status onnx_load(const char *path, Graph **out, Diag *d);
/* The same from memory; path names it in diagnostics and its folder holds
 * external data (NULL: none may be used). */
Status onnx_load_buffer(const void *bytes, size_t len, const char *path, Graph **out, Diag *d);
/* kir_load.c: read a kiln text file (.kir, README "kiln text"); errors carry FILE:LINE:COL. */
Status kir_load(const char *path, Graph **out, Diag *d);

/* npy.c: NumPy .npy files (format 1.0 to 3.0, little-endian, C order). */
typedef struct {
    DType dtype;
    Shape shape;
    void *data;   /* malloc'd; the caller frees it */
    size_t bytes;
} NpyArray;
Status npy_read(const char *path, NpyArray *out, Diag *d);
Status npy_decode(const void *bytes, size_t len, const char *path, NpyArray *out, Diag *d);  /* from memory */
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
    bool checked;                   /* --checked: the module checks its outputs for NaN and Inf */
    int level;                      /* -O0, -O1, -O2 */
    const char *pass_list;          /* --passes a,b,c (or "none"): replaces the level's pipeline */
    const char *depfile;            /* -MD -MF */
    const char *cpu;                /* --cpu: native (NULL), generic, avx2, avx512, neon, none */
    int threads;                    /* --threads N (0: 1) */
    int cuda_arch;                  /* --cuda-arch SM (default 90) */
    bool cuda_graph;                /* --cuda-graph */
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
const char *option_name(const char *text, size_t len);  /* a copy that lives until exit */
Status check_options(const CompileOptions *o, Diag *d);

/* cmd_run.c: run a program (its output to log, if given): its exit status, or 128+signal. */
int run_spawn(char *const argv[], const char *log);
Status run_write_raw(const char *path, const void *data, size_t n, Diag *d);
/* run_cuda.c: build DIR/model.cu with nvcc around the CUDA harness and run it. */
typedef struct {
    int arch;           /* sm_XX */
    bool with_copies;   /* --with-copies: time host-device copies too */
    bool profile;       /* --profile: per-node GPU times */
} CudaRunOptions;
Status build_and_run_cuda(Graph *g, const char *dir, int bench, const CudaRunOptions *ro, Diag *d);

int cmd_compile(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_inspect(int argc, char **argv);

#endif
