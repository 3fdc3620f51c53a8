/* cuda.c — the CUDA target: NAME.h, NAME.cu (and copies of kiln_rt.h and
 * kiln_rt_cuda.h). The module owns a context: weights and kernel parameters
 * are uploaded once at create into one device block, activations live in a
 * device workspace laid out by the memory planner, and each node is one
 * launch: cuBLAS for f32 MatMul/Gemm, cuDNN for f32 Conv, grid-stride
 * kernels from kernels/cuda for the ops that have one, and otherwise the C
 * reference kernel compiled as device code and run by one thread (slow but
 * exact), so the whole op set is correct on the GPU. */
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "kiln.h"
#include "../kernels/c/elementwise.h"
#include "../kernels/c/fused.h"
#include "../ir/fused_plan.h"

typedef enum {
    CU_REF,     /* the C kernel, one device thread */
    CU_MAP,     /* kiln_cu_X over out[0]'s elements */
    CU_BCAST,   /* kiln_cu_X with broadcast parameters: axes merged first */
    CU_LINES,   /* kiln_cu_X, one block per line (softmax, layer norm) */
    CU_COPY,    /* bytes moved with cudaMemcpyAsync */
    CU_MATMUL,  /* cuBLAS */
    CU_GEMM,    /* cuBLAS, after kiln_cu_gemm_c_f32 copied C into Y */
    CU_CONV,    /* cuDNN where the plan says so, else the reference kernel */
    CU_FUSED,   /* FusedConv/Gemm/MatMul f32: the library call, then kiln_cu_epilogue_f32 */
    CU_EW,      /* an Elementwise node: a kernel generated for it (emit_ew_kernel) */
} CuKind;

/* The elementwise kernels kernels/cuda/elementwise.cuh instantiates, by name. */
#define CU_NAME(S, Op, base, ...) "kiln_" #base "_" #S,
#define CU_NAME2(S, T) "kiln_cast_" #S "_" #T,
#define CU_POW_NAME(S, T) "kiln_pow_" #S "_" #T,
static const char *const cu_maps[] = {
    KILN_EW_FLOATS(KILN_EW_UNARY_F, CU_NAME) KILN_EW_FLOATS(KILN_EW_PRED_F, CU_NAME)
    KILN_EW_SINTS(KILN_EW_UNARY_S, CU_NAME) KILN_EW_UINTS(KILN_EW_UNARY_U, CU_NAME) KILN_EW_UNARY_B(CU_NAME, b8)
    KILN_EW_NUMERIC(KILN_EW_CLIP, CU_NAME) KILN_EW_ALL(KILN_EW_CAST_TO, CU_NAME2)
    "kiln_batchnorm_f32", NULL};
static const char *const cu_bcasts[] = {
    KILN_EW_FLOATS(KILN_EW_BINARY_F, CU_NAME) KILN_EW_SINTS(KILN_EW_BINARY_S, CU_NAME)
    KILN_EW_UINTS(KILN_EW_BINARY_U, CU_NAME) KILN_EW_LOGICAL(CU_NAME, b8) KILN_EW_ALL(KILN_EW_COMPARE, CU_NAME)
    KILN_EW_POW_BASES(KILN_EW_POW_EXPS, CU_POW_NAME)
    "kiln_where_8", "kiln_where_16", "kiln_where_32", "kiln_where_64", NULL};
static const char *const cu_strided[] = {"kiln_strided_copy_1", "kiln_strided_copy_2", "kiln_strided_copy_4",
                                         "kiln_strided_copy_8", "kiln_strided_copy_16", NULL};

static bool in_list(const char *const *list, const char *name)
{
    for (; *list; list++)
        if (strcmp(*list, name) == 0) return true;
    return false;
}

/* How node n runs, given its lowering. */
static CuKind classify(const Node *n, const KernelCall *kc)
{
    const char *k = kc->name;
    if (n->nout > 0 && n->out[0] && value_bytes(n->out[0]) == 0 && strcmp(k, "kiln_identity") != 0) return CU_REF;
    if (strcmp(k, "kiln_matmul_f32") == 0) return CU_MATMUL;
    if (strcmp(k, "kiln_gemm_f32") == 0) return CU_GEMM;
    if (strcmp(k, "kiln_conv_f32") == 0) return CU_CONV;
    if (strcmp(k, "kiln_fused_conv_f32") == 0 || strcmp(k, "kiln_fused_gemm_f32") == 0 ||
        strcmp(k, "kiln_fused_matmul_f32") == 0)
        return CU_FUSED;
    if (n->op == OP_Elementwise && kc->source) return CU_EW;
    if (strcmp(k, "kiln_copy") == 0 || strcmp(k, "kiln_identity") == 0) return CU_COPY;
    if (in_list(cu_maps, k) || in_list(cu_strided, k) || strcmp(k, "kiln_gather") == 0) return CU_MAP;
    if (in_list(cu_bcasts, k)) return CU_BCAST;
    if (strcmp(k, "kiln_pool_f32") == 0 && kc->p[0] <= 1 && !kc->p[5]) return CU_MAP;
    if (strcmp(k, "kiln_softmax_f32") == 0 && kc->p[3] <= 1) return CU_LINES;
    if (strcmp(k, "kiln_layernorm_f32") == 0) return CU_LINES;
    return CU_REF;
}

/* Broadcast axes: merge each axis into the next where every input steps
 * through both as one, and drop size-1 axes, so equal shapes become rank 1
 * and kernels divide less. dims[r], st[nin][r] -> od[], ost[nin][r]; the new rank. */
static int merge_bcast(int nin, int r, const int64_t *dims, const int64_t *st, int64_t *od, int64_t *ost)
{
    int nr = 0;
    for (int a = 0; a < r; a++) {
        int64_t d = dims[a];
        if (d == 1) continue; /* a size-1 axis contributes nothing */
        bool merge = nr > 0;
        for (int k = 0; k < nin && merge; k++) merge = ost[k * r + nr - 1] == st[k * r + a] * d;
        if (merge) {
            od[nr - 1] *= d;
            for (int k = 0; k < nin; k++) ost[k * r + nr - 1] = st[k * r + a];
        } else {
            od[nr] = d;
            for (int k = 0; k < nin; k++) ost[k * r + nr] = st[k * r + a];
            nr++;
        }
    }
    if (nr == 0) {
        od[0] = 1;
        for (int k = 0; k < nin; k++) ost[k * r] = 0;
        nr = 1;
    }
    return nr;
}

/* A broadcast kernel's parameters [nin, rank, dims, strides per input], merged. */
static void merge_axes(KernelCall *kc)
{
    int64_t *p = kc->p, nin = p[0];
    int r = (int)p[1];
    int64_t dims[KILN_MAX_RANK], st[4 * KILN_MAX_RANK];
    if (r < 1 || nin > 4 || kc->np != 2 + r * (1 + nin)) return;
    int nr = merge_bcast((int)nin, r, p + 2, p + 2 + r, dims, st);
    p[1] = nr;
    for (int a = 0; a < nr; a++) p[2 + a] = dims[a];
    for (int k = 0; k < nin; k++)
        for (int a = 0; a < nr; a++) p[2 + (k + 1) * nr + a] = st[k * r + a];
    kc->np = 2 + nr * (1 + (int)nin);
}

/* An Elementwise node as its own kernel, one thread an element: the node's
 * postfix program (kernels/c/fused.h) unrolled into straight code that calls
 * the kiln_fz_ functions the C target's loops call, so both targets compute
 * the same; dims and strides are literals. p: nin, rank, dims[rank],
 * strides[nin][rank], nprog, (kind, arg) pairs; f: the constants. */
static void emit_ew_kernel(Buf *b, const Node *n, const KernelCall *kc)
{
    const int64_t *p = kc->p;
    int nin = (int)p[0], r = (int)p[1], nr;
    int64_t dims[KILN_MAX_RANK], st[4 * KILN_MAX_RANK], numel = 1;
    const int64_t *prog = p + 2 + r + (int64_t)nin * r + 1, nprog = prog[-1];
    const char *S = n->out[0]->dtype == KILN_DTYPE_F64 ? "f64" : n->out[0]->dtype == KILN_DTYPE_F16 ? "f16"
                    : n->out[0]->dtype == KILN_DTYPE_BF16 ? "bf16" : "f32";
    bool used[KILN_FZ_MAX_IN] = {0};
    nr = merge_bcast(nin, r, p + 2, p + 2 + r, dims, st);
    for (int a = 0; a < nr; a++) numel *= dims[a];
    const char *ix = numel < ((int64_t)1 << 31) ? "unsigned" : "int64_t"; /* offsets are at most numel */
    for (int i = 0; i < nprog; i++)
        if (prog[2 * i] == 0) used[prog[2 * i + 1]] = true;
    buf_printf(b, "\n/* Elementwise '");
    emit_comment(b, n->name);
    buf_printf(b, "': %s */\ntemplate <int NI, int NO> static __global__ void kiln_cu_ew_n%d(kiln_ip p, kiln_fp f, kiln_cu_io<NI, NO> io)\n{\n",
               attr_str(n, "expr", ""), n->id);
    buf_printf(b, "    kiln_ew_t_%s *y = (kiln_ew_t_%s *)io.out[0];\n    (void)p;\n    (void)f;\n", S, S);
    buf_printf(b, "    for (%s e = blockIdx.x * blockDim.x + threadIdx.x; e < %" PRId64 "%s; e += gridDim.x * blockDim.x) {\n", ix,
               numel, *ix == 'u' ? "u" : "");
    buf_printf(b, "        %s rem = e, i[%d];\n", ix, nr);
    for (int a = nr - 1; a > 0; a--)
        buf_printf(b, "        i[%d] = rem %% %" PRId64 ", rem /= %" PRId64 ";\n", a, dims[a], dims[a]);
    buf_printf(b, "        i[0] = rem;\n");
    for (int k = 0; k < nin; k++) {
        if (!used[k]) continue;
        buf_printf(b, "        kiln_ew_n_%s v%d = KILN_EW_LD(%s, ((const kiln_ew_t_%s *)io.in[%d])[0", S, k, S, S, k);
        for (int a = 0; a < nr; a++)
            if (st[k * r + a]) buf_printf(b, " + i[%d] * %" PRId64, a, st[k * r + a]);
        buf_printf(b, "]);\n");
    }
    char res[48];
    fz_emit_program(b, (int)nprog, prog, prog + 1, 2, kc->f, S, 8, res, sizeof res);
    buf_printf(b, "        y[e] = KILN_EW_ST(%s, %s);\n    }\n}\n", S, res);
}

/* Strided copy parameters [rank, base, dims, strides] (Transpose, Slice,
 * Expand): drop size-1 axes and merge axes that step as one, then move 2, 4,
 * 8 or 16 bytes at a time while the innermost run is contiguous and every
 * stride allows it, so a [B,S,H,D] -> [B,H,S,D] transpose moves 16-byte
 * words with a rank-3 index. */
static void simplify_copy(KernelCall *kc)
{
    int64_t *p = kc->p, base = p[1], dims[KILN_MAX_RANK], st[KILN_MAX_RANK];
    int r = (int)p[0], nr = 0, elem = atoi(kc->name + strlen("kiln_strided_copy_"));
    if (r < 1 || r > KILN_MAX_RANK || kc->np != 2 + 2 * r) return;
    for (int a = 0; a < r; a++) {
        int64_t d = p[2 + a], sa = p[2 + r + a];
        if (d == 1) continue;
        if (nr > 0 && st[nr - 1] == sa * d) {
            dims[nr - 1] *= d;
            st[nr - 1] = sa;
        } else {
            dims[nr] = d;
            st[nr++] = sa;
        }
    }
    if (nr == 0) dims[0] = 1, st[0] = 1, nr = 1;
    for (bool wider = true; wider && elem < 16;) {
        wider = st[nr - 1] == 1 && dims[nr - 1] % 2 == 0 && base % 2 == 0;
        for (int a = 0; a < nr - 1; a++) wider = wider && st[a] % 2 == 0;
        if (!wider) break;
        dims[nr - 1] /= 2, base /= 2, elem *= 2;
        for (int a = 0; a < nr - 1; a++) st[a] /= 2;
    }
    static const char *const names[] = {"", "kiln_strided_copy_1", "kiln_strided_copy_2", "", "kiln_strided_copy_4", "",
                                        "", "", "kiln_strided_copy_8", "", "", "", "", "", "", "", "kiln_strided_copy_16"};
    kc->name = names[elem];
    p[0] = nr, p[1] = base;
    for (int a = 0; a < nr; a++) p[2 + a] = dims[a], p[2 + nr + a] = st[a];
    kc->np = 2 + 2 * nr;
}

typedef struct {
    const Graph *g;
    const CodegenOptions *o;
    KernelCall *calls;
    CuKind *kinds;
    bool *absorbed;       /* computed by a later node's kernel (see masked_softmax) */
    int64_t *poff, *foff; /* device offsets of each node's p and f, -1 if none */
    int64_t *voff;        /* device offset of each constant, by value id */
    int64_t const_bytes;
    Buf *b;
} Cu;

static int64_t align256(int64_t x) { return (x + 255) & ~(int64_t)255; }

/* Is node i a Conv, and where in its p do the Conv parameters start? */
static bool is_conv(const Cu *c, int i, int64_t *at)
{
    *at = c->kinds[i] == CU_FUSED ? c->calls[i].p[0] : 0;
    return c->kinds[i] == CU_CONV || (c->kinds[i] == CU_FUSED && strcmp(c->calls[i].name, "kiln_fused_conv_f32") == 0);
}

/* A 2-D depthwise Conv whose epilogue, if any, is a ReLU or Clip: it runs
 * kiln_cu_dwconv_f32 (clamped to [*lo, *hi]) instead of cuDNN. */
static bool own_dwconv(const Cu *c, int i, double *lo, double *hi)
{
    const Node *n = c->g->nodes[i];
    int64_t at;
    if (!is_conv(c, i, &at)) return false;
    const int64_t *q = c->calls[i].p + at;
    if (q[0] != 2 || q[4] != q[2] || q[3] != q[2] || q[4] < 2) return false;
    bool clamp;
    *lo = -INFINITY, *hi = INFINITY;
    if (c->kinds[i] != CU_FUSED) return true;
    return !has_input(n, 3) && !has_input(n, 4) && fz_clamp_activation(n, &clamp, lo, hi);
}

/* Does node i run cuDNN, and where in its p do the Conv parameters start? */
static bool cudnn_conv(const Cu *c, int i, int64_t *at)
{
    double lo, hi;
    return is_conv(c, i, at) && !own_dwconv(c, i, &lo, &hi);
}

/* A value as the device code reads it. */
static void ref(const Cu *c, const Value *v, char *buf, size_t n)
{
    if (!v) {
        snprintf(buf, n, "0");
        return;
    }
    emit_value_ref(c->g, v, buf, n);
}

static void emit_float(Buf *b, double v)
{
    if (isinf(v)) buf_printf(b, v < 0 ? "-INFINITY" : "INFINITY");
    else buf_printf(b, "(float)%.17g", v);
}

static void emit_io(Cu *c, const Node *n, const KernelCall *kc, int *ni, int *no)
{
    Buf *b = c->b;
    char r[96];
    *ni = n->nin > 0 ? n->nin : 1;
    *no = n->nout + (kc->scratch > 0);
    buf_printf(b, "        kiln_cu_io<%d, %d> io = {{", *ni, *no);
    for (int k = 0; k < n->nin; k++) {
        ref(c, n->in[k], r, sizeof r);
        buf_printf(b, "%s%s", k ? ", " : "", r);
    }
    buf_printf(b, "%s}, {", n->nin ? "" : "0");
    for (int k = 0; k < n->nout; k++) {
        ref(c, n->out[k], r, sizeof r);
        buf_printf(b, "%s%s", k ? ", " : "", r);
    }
    if (kc->scratch > 0) buf_printf(b, ", (ws + %" PRId64 ")", n->scratch_offset);
    buf_printf(b, "}};\n");
}

static void emit_launch(Cu *c, int i, const char *kernel, int64_t grid, int block, int ni, int no)
{
    const Node *n = c->g->nodes[i];
    if (grid > 65535) grid = 65535;
    if (grid < 1) grid = 1;
    buf_printf(c->b, "        %s<%d, %d><<<%" PRId64 ", %d, 0, s>>>(", kernel, ni, no, grid, block);
    buf_printf(c->b, c->poff[i] >= 0 ? "pd%d, " : "0, ", n->id);
    buf_printf(c->b, c->foff[i] >= 0 ? "fd%d, io);\n" : "0, io);\n", n->id);
}

static void emit_ref_launch(Cu *c, int i, int ni, int no)
{
    char kernel[160];
    snprintf(kernel, sizeof kernel, "kiln_cu_ref<%s, %d, %d>", c->calls[i].name, ni, no);
    const Node *n = c->g->nodes[i];
    buf_printf(c->b, "        %s<<<1, 1, 0, s>>>(", kernel);
    buf_printf(c->b, c->poff[i] >= 0 ? "pd%d, " : "0, ", n->id);
    buf_printf(c->b, c->foff[i] >= 0 ? "fd%d, io);\n" : "0, io);\n", n->id);
}


static void emit_dwconv(Cu *c, int i, double lo, double hi)
{
    const Node *n = c->g->nodes[i];
    int64_t at;
    is_conv(c, i, &at);
    const int64_t *q = c->calls[i].p + at;
    int64_t total = q[1] * q[2] * q[8] * q[9], grid = total / 256 + 1 > 65535 ? 65535 : total / 256 + 1;
    char x[96], w[96], bias[96], y[96];
    ref(c, n->in[0], x, sizeof x);
    ref(c, n->in[1], w, sizeof w);
    ref(c, n->nin > 2 && q[5] ? n->in[2] : NULL, bias, sizeof bias);
    ref(c, n->out[0], y, sizeof y);
    buf_printf(c->b, "        kiln_cu_dwconv_f32<<<%" PRId64 ", 256, 0, s>>>((const float *)%s, (const float *)%s, (const float *)%s, "
                     "(float *)%s, %" PRId64 "u, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d, ",
               grid, x, w, bias, y, total, (int)q[2], (int)q[6], (int)q[7], (int)q[8], (int)q[9], (int)q[10], (int)q[11],
               (int)q[12], (int)q[13], (int)q[14], (int)q[15], (int)q[16], (int)q[17]);
    emit_float(c->b, lo);
    buf_printf(c->b, ", ");
    emit_float(c->b, hi);
    buf_printf(c->b, ");\n");
}

/* y = a b through cuBLAS. */
static void emit_matmul(Cu *c, int i, int64_t at, const char *a, const char *b, const char *y)
{
    buf_printf(c->b, "        KILN_CU_STATUS(kiln_cu_matmul_f32(c->cublas, p%d + %" PRId64 ", (const float *)%s, (const float *)%s, "
                     "(float *)%s, node_names[%d]));\n", c->g->nodes[i]->id, at, a, b, y, i);
}

/* FusedConv / FusedGemm / FusedMatMul (f32): cuDNN or cuBLAS with the base
 * kernel's parameters (at p + E, f + F), then the epilogue in one pass; a
 * conv cuDNN cannot plan runs the fused reference kernel. */
static void emit_fused(Cu *c, int i)
{
    const Node *n = c->g->nodes[i];
    const KernelCall *kc = &c->calls[i];
    Buf *b = c->b;
    char x[96], w[96], cb[96], y[96], cbias[160] = "0";
    int ni, no, id = n->id;
    int64_t E = kc->p[0], F = kc->p[1], r = kc->p[3], numel = shape_numel(&n->out[0]->shape), nch = 1, inner = 1;
    int64_t grid = numel / 256 + 1 > 65535 ? 65535 : numel / 256 + 1;
    const int64_t *q = kc->p + E, *dims = kc->p + 4, *rs = dims + 2 * r;
    bool conv = strcmp(kc->name, "kiln_fused_conv_f32") == 0, gemm = strcmp(kc->name, "kiln_fused_gemm_f32") == 0;
    /* the residual is dense when its strides are y's own */
    int dense = 1;
    for (int64_t a = r - 1, st = 1; a >= 0; st *= dims[a], a--) dense = dense && (dims[a] == 1 || rs[a] == st);
    ref(c, n->in[0], x, sizeof x);
    ref(c, n->in[1], w, sizeof w);
    ref(c, n->nin > 2 ? n->in[2] : NULL, cb, sizeof cb);
    ref(c, n->out[0], y, sizeof y);
    if (conv) {
        nch = q[3];
        inner = q[1] > 0 && q[3] > 0 ? numel / (q[1] * q[3]) : 1;
        if (q[5]) snprintf(cbias, sizeof cbias, "(const float *)%s", cb);
        buf_printf(b, "        if (c->conv%d.ok) {\n", id);
        buf_printf(b, "        KILN_CU_STATUS(kiln_cu_conv_run(&c->conv%d, c->cudnn, p%d + %" PRId64 ", %s, %s, %s, %s, c->dnn_ws, 0, "
                      "node_names[%d]));\n", id, id, E, x, w, cb, y, i);
    } else if (gemm) {
        buf_printf(b, "        {\n");
        if (q[7]) {
            buf_printf(b, "        {\n");
            emit_io(c, n, kc, &ni, &no);
            buf_printf(b, "        kiln_cu_gemm_c_f32<%d, %d><<<%" PRId64 ", 256, 0, s>>>(pd%d + %" PRId64 ", 0, io);\n        }\n",
                       ni, no, grid, id, E);
        }
        buf_printf(b, "        KILN_CU_STATUS(kiln_cu_gemm_f32(c->cublas, p%d + %" PRId64 ", f%d + %" PRId64 ", (const float *)%s, "
                      "(const float *)%s, (float *)%s, node_names[%d]));\n", id, E, id, F, x, w, y, i);
    } else {
        buf_printf(b, "        {\n");
        emit_matmul(c, i, E, x, w, y);
    }
    emit_io(c, n, kc, &ni, &no);
    /* the bias (in[3]) is per column: stride 1 along the last axis, 0 elsewhere */
    bool bias = n->nin > 3 && n->in[3], res = n->nin > 4 && n->in[4], col = true;
    const int64_t *bs = dims + r;
    for (int64_t a = 0; a < r; a++) col = col && (a == r - 1 ? bs[a] == 1 : bs[a] == 0 || dims[a] == 1);
    int64_t ncol = r > 0 ? dims[r - 1] : 1;
    if (numel % 4 == 0 && numel < ((int64_t)1 << 31) && (!res || dense) && (!conv || !q[5] || inner % 4 == 0) &&
        (!bias || (col && ncol % 4 == 0))) {
        int64_t g4 = numel / 4 / 256 + 1 > 65535 ? 65535 : numel / 4 / 256 + 1;
        buf_printf(b, "        kiln_cu_epilogue4_f32<%d, %d><<<%" PRId64 ", 256, 0, s>>>(pd%d, fd%d, io, %s, %" PRId64 "u, %" PRId64
                      "u, %" PRId64 "u, %" PRId64 "u);\n",
                   ni, no, g4, id, id, cbias, numel / 4, nch, inner, ncol);
    } else {
        buf_printf(b, "        kiln_cu_epilogue_f32<%d, %d><<<%" PRId64 ", 256, 0, s>>>(pd%d, fd%d, io, %s, %" PRId64 ", %" PRId64
                      ", %d);\n",
                   ni, no, grid, id, id, cbias, nch, inner, dense);
    }
    if (conv) {
        buf_printf(b, "        } else {\n");
        emit_io(c, n, kc, &ni, &no);
        emit_ref_launch(c, i, ni, no);
    }
    buf_printf(b, "        }\n");
}

/* Softmax over contiguous lines, or LayerNormalization with Scale and B dense
 * along its normalized axes, of at most 1024 floats: the warp-a-line
 * kernels (kernels/cuda/pool_norm.cuh) can hold a line in registers.
 * LayerNorm p: outer, inner, nr, has B, mean?, invstd?, dims[nr], scale
 * strides[nr], B strides[nr]. */
static bool warp_lines(const KernelCall *kc)
{
    const int64_t *p = kc->p;
    if (p[1] > 1024 || p[1] < 1) return false;
    if (strcmp(kc->name, "kiln_softmax_f32") == 0) return p[2] == 1;
    int nr = (int)p[2];
    for (int a = nr - 1, st = 1; a >= 0; st *= (int)p[6 + a], a--)
        if ((p[6 + a] > 1 && p[6 + nr + a] != st) || (p[3] && p[6 + a] > 1 && p[6 + 2 * nr + a] != st)) return false;
    return true;
}

/* Do workspace values a and b share bytes? */
static bool overlap(const Value *a, const Value *b)
{
    return a->offset >= 0 && b->offset >= 0 && a->offset < b->offset + (int64_t)value_bytes(b) &&
           b->offset < a->offset + (int64_t)value_bytes(a);
}

/* An Elementwise program over two inputs that is s * c + m, c * s + m,
 * s / c + m or s + m (either order of the sum): s's input and the scale. */
static bool ew_scaled_sum(const KernelCall *kc, int *si, double *scale)
{
    const int64_t *p = kc->p, *prog = p + 2 + p[1] + p[0] * p[1] + 1, n = prog[-1];
    int64_t k[5], a[5];
    if (p[0] != 2 || (n != 3 && n != 5)) return false;
    for (int i = 0; i < n; i++) k[i] = prog[2 * i], a[i] = prog[2 * i + 1];
    if (k[n - 1] != 2 || a[n - 1] != KILN_FZ_add) return false;
    *scale = 1;
    if (n == 3) { /* x x add */
        *si = (int)a[0];
        return k[0] == 0 && k[1] == 0 && a[0] != a[1];
    }
    /* a scaled term (3 tokens) and an input, in either order */
    int t = k[0] == 0 && k[1] == 0 ? 1 : 0; /* where the scaled term starts */
    int m = t ? 0 : 3;                       /* where the other input is */
    int64_t *tk = k + t, *ta = a + t;
    if (k[m] != 0 || tk[2] != 2 || (ta[2] != KILN_FZ_mul && ta[2] != KILN_FZ_div)) return false;
    int in = tk[0] == 0 ? 0 : 1; /* the term's input token; the other is the constant */
    if (tk[in] != 0 || tk[1 - in] != 1 || (ta[2] == KILN_FZ_div && in != 0) || ta[in] == a[m]) return false;
    double c = kc->f[ta[1 - in]];
    if (c == 0 || c != c) return false;
    *si = (int)ta[in], *scale = ta[2] == KILN_FZ_div ? 1 / c : c;
    return true;
}

/* Attention scores: Softmax(e) where e = s * c + mask (or s / c + mask, or
 * s + mask) is one Elementwise node or an Add that only the Softmax reads.
 * Then the softmax kernel reads s and the mask and e launches nothing
 * (c->absorbed). The memory plan gave s and the mask lifetimes that end at
 * e: so e must come just before the Softmax (nothing in between can
 * overwrite them), and the output may not share the mask's bytes, nor s's
 * other than line for line. Returns e, or NULL. */
static const Node *masked_softmax(const Cu *c, int i, const Value **t, const Value **mask, double *scale)
{
    const Node *sm = c->g->nodes[i], *e = sm->in[0]->producer;
    const Value *y = sm->out[0];
    int si;
    if (!warp_lines(&c->calls[i]) || strcmp(c->calls[i].name, "kiln_softmax_f32") != 0 || c->calls[i].p[3] != 0 || !e ||
        e->id != sm->id - 1 || !only_use(sm->in[0], sm) || e->nin != 2)
        return NULL;
    if (e->op == OP_Add) si = shape_equal(&e->in[0]->shape, &sm->in[0]->shape) ? 0 : 1, *scale = 1;
    else if (e->op != OP_Elementwise || !ew_scaled_sum(&c->calls[e->id], &si, scale)) return NULL;
    const Value *s = e->in[si], *m = e->in[1 - si];
    Shape out;
    if (s->dtype != KILN_DTYPE_F32 || m->dtype != KILN_DTYPE_F32 || !shape_equal(&s->shape, &sm->in[0]->shape) ||
        !shape_broadcast(&m->shape, &s->shape, &out) || !shape_equal(&out, &s->shape) || m->shape.rank > 8 ||
        overlap(y, m) || (overlap(y, s) && y->offset != s->offset))
        return NULL;
    *t = s, *mask = m;
    return e;
}

/* Softmax a warp a line (kiln_cu_softmax_lines_f32): of x, or with the
 * attention scores' scale and mask folded in (mask non-NULL). */
static void emit_softmax_lines(Cu *c, int i, const Value *x, const Value *mask, double scale)
{
    const Node *sm = c->g->nodes[i];
    const Shape *s = &sm->in[0]->shape;
    int r = s->rank, L = (int)(s->dims[r - 1] + 31) / 32;
    int64_t st[KILN_MAX_RANK] = {0}, acc = 1, lines = shape_numel(s) / s->dims[r - 1];
    char rx[96], rm[96] = "0", ry[96];
    for (int a = r - 1; mask && a >= 0; a--) { /* the mask's strides over the scores' axes, 0 where broadcast */
        int ia = a - (r - mask->shape.rank);
        st[a] = ia < 0 || mask->shape.dims[ia] == 1 ? 0 : acc;
        if (ia >= 0) acc *= mask->shape.dims[ia];
    }
    ref(c, x, rx, sizeof rx);
    if (mask) ref(c, mask, rm, sizeof rm);
    ref(c, sm->out[0], ry, sizeof ry);
    buf_printf(c->b, "        kiln_cu_bcast mb = {%d, {", mask ? r - 1 : 0);
    for (int a = 0; a < r - 1; a++) buf_printf(c->b, "%s%" PRId64, a ? ", " : "", s->dims[a]);
    buf_printf(c->b, "%s}, {", r > 1 ? "" : "0");
    for (int a = 0; a < r - 1; a++) buf_printf(c->b, "%s%" PRId64, a ? ", " : "", st[a]);
    buf_printf(c->b, "%s}};\n", r > 1 ? "" : "0");
    buf_printf(c->b, "        kiln_cu_softmax_lines_f32<%d><<<%" PRId64 ", 256, 0, s>>>((const float *)%s, ", L, (lines + 7) / 8, rx);
    emit_float(c->b, scale);
    buf_printf(c->b, ", (const float *)%s, mb, %" PRId64 ", (float *)%s, %" PRId64 ", %d, %d);\n", rm, st[r - 1], ry, lines,
               (int)s->dims[r - 1], sm->op == OP_LogSoftmax);
}

static void emit_node(Cu *c, int i)
{
    const Node *n = c->g->nodes[i];
    const KernelCall *kc = &c->calls[i];
    Buf *b = c->b;
    char r0[96], r1[96], r2[96], r3[96];
    int ni, no;
    double lo, hi;
    int64_t numel = n->out[0] ? shape_numel(&n->out[0]->shape) : 0;
    buf_printf(b, "    /* %s '", op_info[n->op].name);
    emit_comment(b, n->name);
    buf_printf(b, "' */\n    KILN_CU_NODE_BEGIN(%d);\n    {\n", i);
    if (c->absorbed[i]) buf_printf(b, "        /* computed by the Softmax that reads it */\n");
    else switch (c->kinds[i]) {
    case CU_MAP:
    case CU_BCAST:
        emit_io(c, n, kc, &ni, &no);
        snprintf(r0, sizeof r0, "kiln_cu_%s", kc->name + 5);
        if (strcmp(kc->name, "kiln_pool_f32") == 0 && kc->p[1] == 2 && numel < ((int64_t)1 << 30))
            snprintf(r0, sizeof r0, "kiln_cu_pool2d_f32"); /* 32-bit indexing */
        emit_launch(c, i, r0, (numel + 255) / 256, 256, ni, no);
        break;
    case CU_LINES: {
        const Value *t, *mask;
        double scale;
        bool sm = strcmp(kc->name, "kiln_softmax_f32") == 0;
        if (sm && warp_lines(kc)) {
            if (masked_softmax(c, i, &t, &mask, &scale)) emit_softmax_lines(c, i, t, mask, scale);
            else emit_softmax_lines(c, i, n->in[0], NULL, 1);
            break;
        }
        emit_io(c, n, kc, &ni, &no);
        int64_t lines = sm ? kc->p[0] * kc->p[2] : kc->p[0], len = kc->p[1];
        if (warp_lines(kc)) { /* LayerNorm a warp a line, 8 lines a block, L floats a lane */
            buf_printf(b, "        kiln_cu_layernorm_warp_f32<%d, %d, %d><<<%" PRId64 ", 256, 0, s>>>(pd%d, ", ni, no,
                       (int)(len + 31) / 32, (lines + 7) / 8, n->id);
            buf_printf(b, c->foff[i] >= 0 ? "fd%d, io);\n" : "0, io);\n", n->id);
        } else {
            snprintf(r0, sizeof r0, "kiln_cu_%s", kc->name + 5);
            emit_launch(c, i, r0, lines, len >= 512 ? 256 : len > 64 ? 128 : 32, ni, no);
        }
        break;
    }
    case CU_COPY:
        ref(c, n->in[0], r0, sizeof r0);
        ref(c, n->out[0], r1, sizeof r1);
        buf_printf(b, "        if ((const void *)%s != (const void *)%s) KILN_CU_CALL(cudaMemcpyAsync(%s, %s, %" PRId64
                      ", cudaMemcpyDeviceToDevice, s), %d);\n",
                   r1, r0, r1, r0, kc->p[0], i);
        if (strcmp(kc->name, "kiln_identity") == 0 && kc->p[1] > 0) {
            ref(c, n->out[1], r2, sizeof r2);
            buf_printf(b, "        KILN_CU_CALL(cudaMemsetAsync(%s, 1, %" PRId64 ", s), %d);\n", r2, kc->p[1], i);
        }
        break;
    case CU_MATMUL:
        ref(c, n->in[0], r0, sizeof r0);
        ref(c, n->in[1], r1, sizeof r1);
        ref(c, n->out[0], r2, sizeof r2);
        emit_matmul(c, i, 0, r0, r1, r2);
        break;
    case CU_GEMM:
        ref(c, n->in[0], r0, sizeof r0);
        ref(c, n->in[1], r1, sizeof r1);
        ref(c, n->out[0], r2, sizeof r2);
        if (kc->p[7]) {
            emit_io(c, n, kc, &ni, &no);
            emit_launch(c, i, "kiln_cu_gemm_c_f32", (numel + 255) / 256, 256, ni, no);
        }
        buf_printf(b, "        KILN_CU_STATUS(kiln_cu_gemm_f32(c->cublas, p%d, f%d, (const float *)%s, (const float *)%s, "
                      "(float *)%s, node_names[%d]));\n",
                   n->id, n->id, r0, r1, r2, i);
        break;
    case CU_CONV:
        if (own_dwconv(c, i, &lo, &hi)) {
            emit_dwconv(c, i, lo, hi);
            break;
        }
        ref(c, n->in[0], r0, sizeof r0);
        ref(c, n->in[1], r1, sizeof r1);
        ref(c, n->nin > 2 ? n->in[2] : NULL, r2, sizeof r2);
        ref(c, n->out[0], r3, sizeof r3);
        buf_printf(b, "        if (c->conv%d.ok) {\n", n->id);
        buf_printf(b, "            KILN_CU_STATUS(kiln_cu_conv_run(&c->conv%d, c->cudnn, p%d, %s, %s, %s, %s, c->dnn_ws, 1, "
                      "node_names[%d]));\n        } else {\n",
                   n->id, n->id, r0, r1, r2, r3, i);
        emit_io(c, n, kc, &ni, &no);
        emit_ref_launch(c, i, ni, no);
        buf_printf(b, "        }\n");
        break;
    case CU_FUSED:
        if (own_dwconv(c, i, &lo, &hi)) emit_dwconv(c, i, lo, hi);
        else emit_fused(c, i);
        break;
    case CU_EW:
        emit_io(c, n, kc, &ni, &no);
        snprintf(r0, sizeof r0, "kiln_cu_ew_n%d", n->id);
        emit_launch(c, i, r0, (numel + 255) / 256, 256, ni, no);
        break;
    case CU_REF:
        emit_io(c, n, kc, &ni, &no);
        emit_ref_launch(c, i, ni, no);
        break;
    }
    buf_printf(b, "    }\n    KILN_CU_NODE_END(%d);\n", i);
}

static void emit_header(Buf *h, const Graph *g, const CodegenOptions *o)
{
    const char *N = o->name;
    char target[32];
    snprintf(target, sizeof target, " for CUDA (sm_%d)", o->cuda_arch);
    emit_header_banner(h, g, o, target);
    buf_printf(h, "#ifndef %s_H\n#define %s_H\n\n#include <cuda_runtime_api.h>\n\n#include \"kiln_rt.h\"\n"
                  "#include \"kiln_rt_cuda.h\"\n\n#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n", N, N);
    buf_printf(h, "#define %s_NUM_INPUTS %d\n#define %s_NUM_OUTPUTS %d\n", N, g->ninputs, N, g->noutputs);
    buf_printf(h, "#define %s_WORKSPACE_SIZE %" PRId64 " /* device bytes for activations */\n", N, g->workspace_size);
    buf_printf(h, "#define %s_CUDA_ARCH %d /* the compute capability it runs on, times ten */\n\n", N, o->cuda_arch);
    buf_printf(h, "typedef struct %s_context %s_context;\n\n", N, N);
    buf_printf(h, "/* Names, dtypes and shapes of the inputs and outputs. */\n"
                  "const kiln_model_desc *%s_desc(void);\n\n", N);
    buf_printf(h, "/* Device bytes a context needs (weights, parameters, workspace) when the\n"
                  " * caller provides them; more bytes than this go to cuDNN's workspace. */\n"
                  "size_t %s_device_memory_size(void);\n\n", N);
    buf_printf(h, "/* Make a context on device: check the GPU, upload the weights, plan the\n"
                  " * library calls. device_memory (%s_device_memory_size() bytes or more,\n"
                  " * 256-aligned) or alloc may give the memory; both NULL: cudaMalloc.\n"
                  " * On failure *out is NULL and kiln_cuda_last_error() says why. */\n", N);
    buf_printf(h, "kiln_status %s_create(int device, void *device_memory, const kiln_cuda_allocator *alloc,\n"
                  "                      %s_context **out);\n", N, N);
    buf_printf(h, "/* CUDA graphs, debug sync, per-node profiler (see kiln_rt_cuda.h). */\n"
                  "kiln_status %s_configure(%s_context *ctx, const kiln_cuda_options *options);\n", N, N);
    buf_printf(h, "/* Inputs and outputs are device buffers. run waits for the result; enqueue\n"
                  " * queues the work on stream and returns. One context runs one inference at\n"
                  " * a time; contexts are independent. */\n");
    buf_printf(h, "kiln_status %s_run(%s_context *ctx, const void *const inputs[], void *const outputs[]);\n", N, N);
    buf_printf(h, "kiln_status %s_enqueue(%s_context *ctx, const void *const inputs[], void *const outputs[],\n"
                  "                       cudaStream_t stream);\n", N, N);
    buf_printf(h, "void %s_destroy(%s_context *ctx);\n\n", N, N);
    buf_printf(h, "#ifdef __cplusplus\n}\n#endif\n\n#endif\n");
}

/* The module's fixed part: context, create, run, enqueue, destroy. */
static void emit_api(Cu *c)
{
    const Graph *g = c->g;
    const char *N = c->o->name;
    Buf *b = c->b;
    int nconv = 0;
    int64_t at;
    for (int i = 0; i < g->nnodes; i++) nconv += cudnn_conv(c, i, &at);
    buf_printf(b, "\n/* ---- context ---- */\n");
    buf_printf(b, "struct %s_context {\n    int device, live;\n    unsigned flags;\n"
                  "    kiln_cuda_profiler profiler;\n    void *profiler_user;\n"
                  "    cudaStream_t stream;\n    cublasHandle_t cublas;\n    cudnnHandle_t cudnn;\n"
                  "    kiln_cuda_allocator alloc;\n    int own;          /* 1: cudaMalloc, 2: alloc */\n"
                  "    unsigned char *mem, *consts, *ws, *dnn_ws;\n    size_t mem_size, dnn_ws_size;\n"
                  "    cudaGraphExec_t graph;\n    const void *graph_in[%d];\n    void *graph_out[%d];\n"
                  "    cudaStream_t graph_stream;\n    cudaEvent_t events[%d];\n",
               N, g->ninputs + 1, g->noutputs + 1, 2 * g->nnodes + 1);
    for (int i = 0; i < g->nnodes; i++) {
        if (cudnn_conv(c, i, &at)) buf_printf(b, "    kiln_cu_conv conv%d;\n", g->nodes[i]->id);
    }
    buf_printf(b, "};\n\n");

    buf_printf(b, "#define KILN_CU_CALL(call, i) do { cudaError_t e_ = (call); if (e_ != cudaSuccess) "
                  "return kiln_cuda_check(0, (int)e_, #call, node_names[i]); } while (0)\n");
    buf_printf(b, "#define KILN_CU_STATUS(call) do { kiln_status s_ = (call); if (s_ != KILN_STATUS_OK) return s_; } while (0)\n");
    buf_printf(b, "#define KILN_CU_NODE_BEGIN(i) do { if (c->profiler) KILN_CU_CALL(cudaEventRecord(c->events[2 * (i)], s), i); "
                  "} while (0)\n");
    buf_printf(b, "#define KILN_CU_NODE_END(i) KILN_CU_STATUS(kiln_cu_node_end(c->flags, c->profiler ? c->events[2 * (i) + 1] : 0, "
                  "s, node_names[i]))\n\n");

    /* forward */
    buf_printf(b, "static kiln_status forward(%s_context *c, const void *const *inputs, void *const *outputs, cudaStream_t s)\n{\n", N);
    buf_printf(b, "    unsigned char *ws = c->ws;\n    const unsigned char *K = c->consts;\n"
                  "    (void)ws; (void)K; (void)inputs; (void)outputs;\n");
    for (int i = 0; i < g->nnodes; i++) emit_node(c, i);
    for (int k = 0; k < g->noutputs; k++) {
        const Value *v = g->outputs[k];
        char r[96], self[32];
        emit_value_ref(g, v, r, sizeof r);
        snprintf(self, sizeof self, "outputs[%d]", k);
        if (strcmp(r, self) != 0 && value_bytes(v))
            buf_printf(b, "    { cudaError_t e_ = cudaMemcpyAsync(outputs[%d], %s, %zu, cudaMemcpyDeviceToDevice, s);\n"
                          "      if (e_ != cudaSuccess) return kiln_cuda_check(0, (int)e_, \"cudaMemcpyAsync\", \"output\"); }\n",
                       k, r, value_bytes(v));
    }
    buf_printf(b, "    return KILN_STATUS_OK;\n}\n\n");

    /* live contexts: run on a destroyed context is an error, not a crash */
    buf_printf(b, "static void release(%s_context *c)\n{\n", N);
    for (int i = 0; i < g->nnodes; i++) {
        if (cudnn_conv(c, i, &at)) buf_printf(b, "    kiln_cu_conv_free(&c->conv%d);\n", g->nodes[i]->id);
    }
    buf_printf(b, "    for (int i = 0; i < %d; i++) if (c->events[i]) cudaEventDestroy(c->events[i]);\n"
                  "    if (c->graph) cudaGraphExecDestroy(c->graph);\n"
                  "    if (c->cudnn) cudnnDestroy(c->cudnn);\n    if (c->cublas) cublasDestroy(c->cublas);\n"

                  "    if (c->stream) cudaStreamDestroy(c->stream);\n"
                  "    if (c->own == 1) cudaFree(c->mem);\n    if (c->own == 2) c->alloc.free(c->alloc.user, c->mem);\n"
                  "    c->live = 0;\n    free(c);\n}\n\n",
               2 * g->nnodes + 1);

    buf_printf(b, "size_t %s_device_memory_size(void) { return %" PRId64 "; }\n\n", N,
               c->const_bytes + align256(g->workspace_size));
    buf_printf(b, "#define KILN_CU_DNN_WS_LIMIT ((size_t)256 << 20)\n\n");
    buf_printf(b, "static kiln_status create(int device, void *device_memory, const kiln_cuda_allocator *alloc, %s_context *c)\n{\n", N);
    buf_printf(b, "    size_t need = %s_device_memory_size();\n    cudaError_t e;\n    int rt = 0, drv = 0;\n", N);
    buf_printf(b, "    KILN_CU_STATUS(kiln_cuda_check_device(device, %d, \"%s\"));\n", c->o->cuda_arch, N);
    buf_printf(b, "    if ((e = cudaRuntimeGetVersion(&rt)) || (e = cudaDriverGetVersion(&drv))) return kiln_cuda_check(0, e, \"cudaDriverGetVersion\", 0);\n"
                  "    if (drv < CUDART_VERSION)\n"
                  "        return kiln_cuda_fail(KILN_STATUS_VERSION_MISMATCH, \"%s was built with CUDA %%d.%%d; the driver supports up to %%d.%%d\",\n"
                  "                              CUDART_VERSION / 1000, CUDART_VERSION %% 1000 / 10, drv / 1000, drv %% 1000 / 10);\n", N);
    buf_printf(b, "    c->device = device;\n");
    buf_printf(b, "    if ((e = cudaSetDevice(device))) return kiln_cuda_check(0, e, \"cudaSetDevice\", 0);\n");
    buf_printf(b, "    if ((e = cudaStreamCreateWithFlags(&c->stream, cudaStreamNonBlocking))) return kiln_cuda_check(0, e, \"cudaStreamCreate\", 0);\n");
    buf_printf(b, "    { cublasStatus_t be = cublasCreate(&c->cublas); if (be) return kiln_cuda_check(1, be, \"cublasCreate\", 0); }\n");
    if (nconv) buf_printf(b, "    { cudnnStatus_t de = cudnnCreate(&c->cudnn); if (de) return kiln_cuda_check(2, de, \"cudnnCreate\", 0); }\n");
    buf_printf(b, "    if (device_memory) {\n        if ((uintptr_t)device_memory %% 256)\n"
                  "            return kiln_cuda_fail(KILN_STATUS_INVALID_ARGUMENT, \"%s_create: device_memory is not 256-byte aligned\");\n"
                  "        c->mem = (unsigned char *)device_memory;\n        c->mem_size = need;\n"
                  "    } else {\n        c->mem_size = need + %s;\n", N, nconv ? "KILN_CU_DNN_WS_LIMIT" : "0");
    buf_printf(b, "        if (alloc) {\n            c->alloc = *alloc;\n            c->mem = (unsigned char *)alloc->alloc(alloc->user, c->mem_size);\n"
                  "            if (!c->mem) return kiln_cuda_fail(KILN_STATUS_OUT_OF_MEMORY, \"%s_create: the allocator gave no %%zu bytes\", c->mem_size);\n"
                  "            c->own = 2;\n        } else {\n"
                  "            if ((e = cudaMalloc((void **)&c->mem, c->mem_size))) {\n                c->mem = 0;\n"
                  "                return kiln_cuda_fail(KILN_STATUS_OUT_OF_MEMORY, \"%s_create: cannot allocate %%zu bytes of device memory on device %%d: %%s\",\n"
                  "                                      c->mem_size, device, cudaGetErrorString(e));\n            }\n"
                  "            c->own = 1;\n        }\n    }\n", N, N);
    buf_printf(b, "    c->consts = c->mem;\n    c->ws = c->mem + %" PRId64 ";\n    c->dnn_ws = c->mem + need;\n"
                  "    c->dnn_ws_size = c->own ? c->mem_size - need : 0;\n", c->const_bytes);
    buf_printf(b, "    for (size_t i = 0; i < sizeof uploads / sizeof *uploads; i++)\n"
                  "        if (uploads[i].bytes && (e = cudaMemcpy(c->consts + uploads[i].off, uploads[i].src, uploads[i].bytes, cudaMemcpyHostToDevice)))\n"
                  "            return kiln_cuda_check(0, e, \"cudaMemcpy (weights)\", 0);\n");
    buf_printf(b, "    (void)kiln_cu_ref_stack;\n    if (KILN_CU_USES_REF && (e = cudaDeviceSetLimit(cudaLimitStackSize, kiln_cu_ref_stack)))\n"
                  "        return kiln_cuda_check(0, e, \"cudaDeviceSetLimit\", 0);\n");
    for (int i = 0; i < g->nnodes; i++)
        if (cudnn_conv(c, i, &at))
            buf_printf(b, "    KILN_CU_STATUS(kiln_cu_conv_plan(&c->conv%d, c->cudnn, p%d + %" PRId64 ", c->dnn_ws, c->dnn_ws_size, "
                          "node_names[%d]));\n",
                       g->nodes[i]->id, g->nodes[i]->id, at, i);
    buf_printf(b, "    for (int i = 0; i < %d; i++)\n        if ((e = cudaEventCreate(&c->events[i]))) return kiln_cuda_check(0, e, \"cudaEventCreate\", 0);\n",
               2 * g->nnodes + 1);
    /* cudaMemcpy from pageable memory may return before its DMA lands, and
     * the module's non-blocking stream does not wait for the legacy stream:
     * without this the first inference can read weights not there yet */
    buf_printf(b, "    if ((e = cudaDeviceSynchronize())) return kiln_cuda_check(0, e, \"cudaDeviceSynchronize\", 0);\n");
    buf_printf(b, "    c->flags = %s;\n    c->live = 1;\n    return KILN_STATUS_OK;\n}\n\n", c->o->cuda_graph ? "KILN_CUDA_GRAPH" : "0");

    buf_printf(b, "kiln_status %s_create(int device, void *device_memory, const kiln_cuda_allocator *alloc, %s_context **out)\n{\n"
                  "    int prev = 0;\n    kiln_status st;\n    %s_context *c;\n"
                  "    if (!out) return kiln_cuda_fail(KILN_STATUS_INVALID_ARGUMENT, \"%s_create: out is NULL\");\n    *out = 0;\n"
                  "    if (alloc && (!alloc->alloc || !alloc->free))\n"
                  "        return kiln_cuda_fail(KILN_STATUS_INVALID_ARGUMENT, \"%s_create: the allocator lacks alloc or free\");\n"
                  "    if (desc_of() == 0) return kiln_cuda_fail(KILN_STATUS_VERSION_MISMATCH, \"%s: runtime version mismatch\");\n"
                  "    c = (%s_context *)calloc(1, sizeof *c);\n"
                  "    if (!c) return kiln_cuda_fail(KILN_STATUS_OUT_OF_MEMORY, \"%s_create: out of host memory\");\n"
                  "    cudaGetDevice(&prev);\n    st = create(device, device_memory, alloc, c);\n    cudaSetDevice(prev);\n"
                  "    if (st != KILN_STATUS_OK) { release(c); return st; }\n"
                  "    kiln_cuda_register(c);\n    *out = c;\n    return KILN_STATUS_OK;\n}\n\n",
               N, N, N, N, N, N, N, N);

    buf_printf(b, "static kiln_status check_ctx(%s_context *c, const char *fn)\n{\n"
                  "    if (!c) return kiln_cuda_fail(KILN_STATUS_INVALID_ARGUMENT, \"%%s: the context is NULL\", fn);\n"
                  "    if (!kiln_cuda_is_live(c)) return kiln_cuda_fail(KILN_STATUS_INVALID_ARGUMENT, \"%%s: the context was destroyed\", fn);\n"
                  "    return KILN_STATUS_OK;\n}\n\n", N);
    buf_printf(b, "kiln_status %s_configure(%s_context *c, const kiln_cuda_options *o)\n{\n"
                  "    KILN_CU_STATUS(check_ctx(c, \"%s_configure\"));\n"
                  "    if (!o) return kiln_cuda_fail(KILN_STATUS_INVALID_ARGUMENT, \"%s_configure: options are NULL\");\n"
                  "    c->flags = o->flags;\n    c->profiler = o->profiler;\n    c->profiler_user = o->profiler_user;\n"
                  "    if (c->graph) { cudaGraphExecDestroy(c->graph); c->graph = 0; }\n    return KILN_STATUS_OK;\n}\n\n",
               N, N, N, N);

    buf_printf(b, "kiln_status %s_enqueue(%s_context *c, const void *const inputs[], void *const outputs[], cudaStream_t s)\n{\n"
                  "    int prev = 0, k, same;\n    kiln_status st = KILN_STATUS_OK;\n    cudaError_t e;\n"
                  "    KILN_CU_STATUS(check_ctx(c, \"%s_enqueue\"));\n"
                  "    if ((%d && !inputs) || !outputs) return kiln_cuda_fail(KILN_STATUS_INVALID_ARGUMENT, \"%s_enqueue: inputs or outputs is NULL\");\n"
                  "    for (k = 0; k < %d; k++) if (!inputs[k]) return kiln_cuda_fail(KILN_STATUS_INVALID_ARGUMENT, \"%s_enqueue: input %%d is NULL\", k);\n"
                  "    for (k = 0; k < %d; k++) if (!outputs[k]) return kiln_cuda_fail(KILN_STATUS_INVALID_ARGUMENT, \"%s_enqueue: output %%d is NULL\", k);\n",
               N, N, N, g->ninputs, N, g->ninputs, N, g->noutputs, N);
    buf_printf(b, "    cudaGetDevice(&prev);\n    if (prev != c->device && (e = cudaSetDevice(c->device))) return kiln_cuda_check(0, e, \"cudaSetDevice\", 0);\n"
                  "    st = check_bound(inputs);\n");
    buf_printf(b, "    if (st == KILN_STATUS_OK) {\n        cublasSetStream(c->cublas, s);\n        if (c->cudnn) cudnnSetStream(c->cudnn, s);\n"
                  "    }\n");
    buf_printf(b, "    if (st == KILN_STATUS_OK && (c->flags & KILN_CUDA_GRAPH) && !c->profiler && !(c->flags & KILN_CUDA_DEBUG_SYNC)) {\n"
                  "        same = c->graph != 0 && c->graph_stream == s;\n"
                  "        for (k = 0; k < %d; k++) same = same && c->graph_in[k] == inputs[k];\n"
                  "        for (k = 0; k < %d; k++) same = same && c->graph_out[k] == outputs[k];\n"
                  "        if (!same) {\n            cudaGraph_t graph;\n"
                  "            if (c->graph) { cudaGraphExecDestroy(c->graph); c->graph = 0; }\n"
                  "            if ((e = cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal))) st = kiln_cuda_check(0, e, \"cudaStreamBeginCapture\", 0);\n"
                  "            else {\n                st = forward(c, inputs, outputs, s);\n"
                  "                e = cudaStreamEndCapture(s, &graph);\n"
                  "                if (st == KILN_STATUS_OK && e) st = kiln_cuda_check(0, e, \"cudaStreamEndCapture\", 0);\n"
                  "                if (st == KILN_STATUS_OK && (e = cudaGraphInstantiate(&c->graph, graph, 0))) st = kiln_cuda_check(0, e, \"cudaGraphInstantiate\", 0);\n"
                  "                if (!e) cudaGraphDestroy(graph);\n            }\n"
                  "            for (k = 0; k < %d; k++) c->graph_in[k] = inputs[k];\n"
                  "            for (k = 0; k < %d; k++) c->graph_out[k] = outputs[k];\n            c->graph_stream = s;\n"
                  "            if (st != KILN_STATUS_OK && c->graph) { cudaGraphExecDestroy(c->graph); c->graph = 0; }\n        }\n"
                  "        if (st == KILN_STATUS_OK && (e = cudaGraphLaunch(c->graph, s))) st = kiln_cuda_check(0, e, \"cudaGraphLaunch\", 0);\n"
                  "    } else if (st == KILN_STATUS_OK) {\n        st = forward(c, inputs, outputs, s);\n",
               g->ninputs, g->noutputs, g->ninputs, g->noutputs);
    buf_printf(b, "        if (st == KILN_STATUS_OK && c->profiler) {\n"
                  "            if ((e = cudaStreamSynchronize(s))) st = kiln_cuda_check(0, e, \"cudaStreamSynchronize\", 0);\n"
                  "            for (k = 0; st == KILN_STATUS_OK && k < %d; k++) {\n                float ms = 0;\n"
                  "                cudaEventElapsedTime(&ms, c->events[2 * k], c->events[2 * k + 1]);\n"
                  "                c->profiler(c->profiler_user, k, node_names[k], node_ops[k], ms);\n            }\n        }\n    }\n",
               g->nnodes);
    buf_printf(b, "    if (prev != c->device) cudaSetDevice(prev);\n    return st;\n}\n\n");

    buf_printf(b, "kiln_status %s_run(%s_context *c, const void *const inputs[], void *const outputs[])\n{\n"
                  "    cudaError_t e;\n    KILN_CU_STATUS(check_ctx(c, \"%s_run\"));\n"
                  "    KILN_CU_STATUS(%s_enqueue(c, inputs, outputs, c->stream));\n"
                  "    if ((e = cudaStreamSynchronize(c->stream))) return kiln_cuda_check(0, e, \"cudaStreamSynchronize\", 0);\n"
                  "    return KILN_STATUS_OK;\n}\n\n",
               N, N, N, N);
    buf_printf(b, "void %s_destroy(%s_context *c)\n{\n    if (!c || !kiln_cuda_is_live(c)) return;\n"
                  "    kiln_cuda_unregister(c);\n    cudaSetDevice(c->device);\n    cudaStreamSynchronize(c->stream);\n    release(c);\n}\n",
               N, N);
}

/* Bound inputs are compiled in: check them against what the module was built for. */
static void emit_check_bound(Cu *c)
{
    const Graph *g = c->g;
    Buf *b = c->b;
    buf_printf(b, "\nstatic kiln_status check_bound(const void *const *inputs)\n{\n    (void)inputs;\n");
    for (int k = 0; k < g->ninputs; k++) {
        const Value *v = g->inputs[k];
        if (!v->bound || !value_bytes(v)) continue;
        buf_printf(b, "    {\n        unsigned char host[%zu];\n        cudaError_t e = cudaMemcpy(host, inputs[%d], %zu, cudaMemcpyDeviceToHost);\n"
                      "        if (e) return kiln_cuda_check(0, e, \"cudaMemcpy (bound input)\", 0);\n"
                      "        if (memcmp(host, w%d, %zu) != 0)\n"
                      "            return kiln_cuda_fail(KILN_STATUS_SHAPE_MISMATCH, \"input %d differs from the value the module was compiled for\");\n    }\n",
                   value_bytes(v), k, value_bytes(v), v->id, value_bytes(v), k);
    }
    buf_printf(b, "    return KILN_STATUS_OK;\n}\n");
}

Status codegen_cuda(const Graph *g, const CodegenOptions *o, Diag *d)
{
    Status st = ST_OK;
    Buf body = {0}, h = {0};
    Cu c = {.g = g, .o = o, .b = &body};
    int n = g->nnodes;
    const char **headers = calloc((size_t)n + 2, sizeof *headers);
    c.calls = calloc((size_t)n + 1, sizeof *c.calls);
    c.kinds = calloc((size_t)n + 1, sizeof *c.kinds);
    c.absorbed = calloc((size_t)n + 1, sizeof *c.absorbed);
    c.poff = calloc((size_t)n + 1, sizeof *c.poff);
    c.foff = calloc((size_t)n + 1, sizeof *c.foff);
    c.voff = calloc((size_t)g->nvalues + 1, sizeof *c.voff);
    int nheaders = 0;
    bool uses_ref = false;
    if (!headers || !c.calls || !c.kinds || !c.absorbed || !c.poff || !c.foff || !c.voff) {
        st = diag_error(d, ST_INTERNAL, NULL, "out of memory");
        goto done;
    }
    headers[nheaders++] = "common";
    for (int i = 0; i < n; i++) {
        c.calls[i].reference = true; /* the CPU's packed fast paths are not for the GPU */
        if ((st = lower_node(g->nodes[i], &c.calls[i], d))) goto done;
        c.kinds[i] = classify(g->nodes[i], &c.calls[i]);
        if (c.kinds[i] == CU_BCAST) merge_axes(&c.calls[i]);
        if (c.kinds[i] == CU_MAP && in_list(cu_strided, c.calls[i].name)) simplify_copy(&c.calls[i]);
        uses_ref = uses_ref || c.kinds[i] == CU_REF || c.kinds[i] == CU_CONV || c.kinds[i] == CU_FUSED;
        bool seen = false;
        for (int k = 0; k < nheaders; k++) seen = seen || strcmp(headers[k], c.calls[i].header) == 0;
        if (!seen) headers[nheaders++] = c.calls[i].header;
    }
    for (int i = 0; i < n; i++) {
        const Value *t, *mask;
        const Node *e;
        double scale;
        if (c.kinds[i] == CU_LINES && (e = masked_softmax(&c, i, &t, &mask, &scale))) c.absorbed[e->id] = true;
    }

    /* the device block: constants, then every node's p and f */
    int64_t off = 0;
    for (int i = 0; i < g->nvalues; i++) {
        const Value *v = g->values[i];
        c.voff[i] = -1;
        if (v->kind == VAL_CONST || (v->bound && value_bytes(v))) {
            c.voff[i] = off;
            off = align256(off + (int64_t)value_bytes(v) + 1);
        }
    }
    for (int i = 0; i < n; i++) {
        c.poff[i] = c.foff[i] = -1;
        if (c.calls[i].np) c.poff[i] = off, off = align256(off + 8 * c.calls[i].np);
        if (c.calls[i].nf) c.foff[i] = off, off = align256(off + 8 * c.calls[i].nf);
    }
    c.const_bytes = off;

    Buf *b = &body;
    const char *N = o->name;
    buf_printf(b, "/* %s.cu — generated by kiln %s", N, KILN_VERSION_STRING);
    if (o->source) {
        buf_printf(b, " from ");
        emit_comment(b, o->source);
    }
    buf_printf(b, " for sm_%d. Do not edit.\n * Build: nvcc -arch=sm_%d -c %s.cu; link libkiln_rt_cuda.a libkiln_rt.a -lcublas -lcudnn. */\n",
               o->cuda_arch, o->cuda_arch, N);
    buf_printf(b, "#include <math.h>\n#include <stdint.h>\n#include <stdlib.h>\n#include <string.h>\n\n"
                  "#include <cuda_runtime.h>\n\n#include \"%s.h\"\n", N);
    emit_kernel_headers(b, "c", ".h", headers, nheaders);
    const char *cu[5] = {"common"};
    int ncu = 1;
    bool la = false; /* the fused linalg nodes need cuBLAS/cuDNN and the epilogue too */
    for (int k = 0; k < nheaders; k++) la = la || strcmp(headers[k], "linalg") == 0 || strcmp(headers[k], "fused") == 0;
    if (la) cu[ncu++] = "linalg";
    for (int k = 0; k < nheaders; k++) {
        if (strcmp(headers[k], "elementwise") == 0) cu[ncu++] = "elementwise";
        if (strcmp(headers[k], "pool_norm") == 0) cu[ncu++] = "pool_norm";
        if (strcmp(headers[k], "movement") == 0) cu[ncu++] = "movement";
    }
    bool has_linalg = false;
    for (int k = 0; k < ncu; k++) has_linalg = has_linalg || strcmp(cu[k], "linalg") == 0;
    if (!has_linalg) buf_printf(b, "\n#include <cublas_v2.h>\n#include <cudnn.h>\n");
    emit_kernel_headers(b, "cuda", ".cuh", cu, ncu);
    if (!has_linalg) buf_printf(b, "typedef struct { int ok; } kiln_cu_conv;\n");
    /* kernels generated for one node: plain C, made device code like the headers */
    for (int i = 0; i < n; i++) {
        const char *src = c.calls[i].source;
        const char *at = src ? strstr(src, "static void ") : NULL;
        if (c.kinds[i] == CU_EW) emit_ew_kernel(b, g->nodes[i], &c.calls[i]);
        if (!src || c.kinds[i] == CU_EW) continue;
        if (at) {
            buf_put(b, "\n", 1);
            buf_put(b, src, (size_t)(at - src));
            buf_printf(b, "static KILN_UNUSED void %s", at + strlen("static void "));
        } else {
            buf_printf(b, "\n%s", src);
        }
    }
    buf_printf(b, "\n/* The reference kernels run as one thread with deep C stacks. */\n"
                  "#define KILN_CU_USES_REF %d\nstatic const size_t kiln_cu_ref_stack = 16384;\n", uses_ref);

    /* Big weights go to NAME.weights, which the host assembler includes
     * (.incbin): a literal array of 100 MB takes the compiler minutes. */
    bool blob = c.const_bytes > ((int64_t)1 << 20);
    buf_printf(b, "\n/* ---- weights (host copies, uploaded at create) ---- */\n");
    if (blob) {
        /* an absolute path: the assembler resolves it from wherever nvcc runs */
        char wpath[4200], dir[PATH_MAX];
        snprintf(wpath, sizeof wpath, "%s/%s.weights", realpath(o->outdir, dir) ? dir : o->outdir, N);
        buf_printf(b, "extern \"C\" const unsigned char kiln_weights_%s[];\n#ifndef __CUDA_ARCH__\n"
                      "__asm__(\".section .rodata\\n.balign 64\\n.globl kiln_weights_%s\\nkiln_weights_%s:\\n\"\n"
                      "        \".incbin \\\"%s\\\"\\n.previous\\n\");\n#endif\n",
                   N, N, N, wpath);
        for (int i = 0; i < g->nvalues; i++)
            if (c.voff[i] >= 0)
                buf_printf(b, "#define w%d ((const void *)(kiln_weights_%s + %" PRId64 "))\n", g->values[i]->id, N, c.voff[i]);
    } else {
        for (int i = 0; i < g->nvalues; i++)
            if (c.voff[i] >= 0) emit_const(b, g->values[i]);
    }
    buf_printf(b, "\n/* ---- kernel parameters ---- */\n");
    for (int i = 0; i < n; i++) emit_params(b, g->nodes[i], &c.calls[i]);
    buf_printf(b, "\nstatic const struct { const void *src; size_t off, bytes; } uploads[] = {\n");
    for (int i = 0; i < g->nvalues; i++)
        if (c.voff[i] >= 0)
            buf_printf(b, "    {w%d, %" PRId64 ", %zu},\n", g->values[i]->id, c.voff[i], value_bytes(g->values[i]));
    for (int i = 0; i < n; i++) {
        if (c.poff[i] >= 0) buf_printf(b, "    {p%d, %" PRId64 ", %d},\n", g->nodes[i]->id, c.poff[i], 8 * c.calls[i].np);
        if (c.foff[i] >= 0) buf_printf(b, "    {f%d, %" PRId64 ", %d},\n", g->nodes[i]->id, c.foff[i], 8 * c.calls[i].nf);
    }
    buf_printf(b, "    {0, 0, 0}\n};\n");
    emit_check_bound(&c);
    if (blob)
        for (int i = 0; i < g->nvalues; i++)
            if (c.voff[i] >= 0) buf_printf(b, "#undef w%d\n", g->values[i]->id);

    buf_printf(b, "\n/* ---- where the device copies are ---- */\n");
    for (int i = 0; i < g->nvalues; i++)
        if (c.voff[i] >= 0) buf_printf(b, "#define w%d ((const void *)(K + %" PRId64 "))\n", g->values[i]->id, c.voff[i]);
    for (int i = 0; i < n; i++) {
        if (c.poff[i] >= 0) buf_printf(b, "#define pd%d ((kiln_ip)(K + %" PRId64 "))\n", g->nodes[i]->id, c.poff[i]);
        if (c.foff[i] >= 0) buf_printf(b, "#define fd%d ((kiln_fp)(K + %" PRId64 "))\n", g->nodes[i]->id, c.foff[i]);
    }

    buf_printf(b, "\n/* ---- nodes, for messages and the profiler ---- */\nstatic const char *const node_names[%d] = {\n", n + 1);
    for (int i = 0; i < n; i++) {
        char s[512];
        snprintf(s, sizeof s, "'%s' (%s)", g->nodes[i]->name ? g->nodes[i]->name : "", op_info[g->nodes[i]->op].name);
        buf_printf(b, "    ");
        emit_string_lit(b, s);
        buf_printf(b, ",\n");
    }
    buf_printf(b, "    0};\nstatic const char *const node_ops[%d] = {\n", n + 1);
    for (int i = 0; i < n; i++) buf_printf(b, "    \"%s\",\n", op_info[g->nodes[i]->op].name);
    buf_printf(b, "    0};\n");

    buf_printf(b, "\n/* ---- descriptor ---- */\n");
    emit_tensor_descs(b, "input_descs", g->inputs, g->ninputs);
    emit_tensor_descs(b, "output_descs", g->outputs, g->noutputs);
    buf_printf(b, "static const kiln_model_desc desc = {\n    ");
    emit_string_lit(b, N);
    buf_printf(b, ", \"%s\", %d, input_descs, %d, output_descs, %" PRId64 "\n};\n\n", KILN_VERSION_STRING, g->ninputs,
               g->noutputs, g->workspace_size);
    buf_printf(b, "/* Reading the runtime's version symbol makes a mismatched runtime fail to link. */\n"
                  "static const kiln_model_desc *desc_of(void)\n{\n    return KILN_RT_VERSION_SYMBOL == %d ? &desc : 0;\n}\n\n"
                  "const kiln_model_desc *%s_desc(void) { return desc_of(); }\n",
               KILN_VERSION_MAJOR * 10000 + KILN_VERSION_MINOR * 100 + KILN_VERSION_PATCH, N);
    emit_api(&c);

    emit_header(&h, g, o);
    char cname[256], hname[256];
    snprintf(cname, sizeof cname, "%s.cu", N);
    snprintf(hname, sizeof hname, "%s.h", N);
    const char *rt = embedded_file("kiln_rt.h"), *rtc = embedded_file("kiln_rt_cuda.h");
    if (!(st = emit_write_file(o->outdir, hname, h.data, h.len, d)) &&
        !(st = emit_write_file(o->outdir, cname, body.data, body.len, d)) &&
        !(st = emit_write_file(o->outdir, "kiln_rt.h", rt, strlen(rt), d)))
        st = emit_write_file(o->outdir, "kiln_rt_cuda.h", rtc, strlen(rtc), d);
    if (!st && blob) {
        char *w = calloc(1, (size_t)c.const_bytes);
        if (!w) st = diag_error(d, ST_INTERNAL, NULL, "out of memory");
        for (int i = 0; w && i < g->nvalues; i++)
            if (c.voff[i] >= 0) memcpy(w + c.voff[i], g->values[i]->data, value_bytes(g->values[i]));
        char wname[300];
        snprintf(wname, sizeof wname, "%s.weights", N);
        if (w) st = emit_write_file(o->outdir, wname, w, (size_t)c.const_bytes, d);
        free(w);
    }
done:
    for (int i = 0; c.calls && i < n; i++) kc_free(&c.calls[i]);
    free(c.calls);
    free(c.kinds);
    free(c.absorbed);
    free(c.poff);
    free(c.foff);
    free(c.voff);
    free(headers);
    buf_free(&body);
    buf_free(&h);
    return st;
}

/* The -O2 pipeline without fuse-attention (its kernel is a CPU one: the
 * GPU fuses the scores' scale and mask into its softmax instead), with
 * fuse-epilogues (cuDNN/cuBLAS, then one epilogue pass) and fuse-elementwise
 * (a kernel generated per chain). NULL: the level's own. */
const char *cuda_pass_list(int level)
{
    return level >= 2 ? "infer-shapes,fold-constants,fold-batchnorm,eliminate-noops,simplify,cse,fuse-layernorm,"
                        "fuse-gelu,fuse-epilogues,fuse-elementwise,eliminate-dead,plan-memory"
                      : NULL;
}
