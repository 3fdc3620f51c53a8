/* lower_fused.c — kernel choice and parameters for kiln's fused operators
 * (kernels/c/fused.h documents the layouts). A fused linalg node reuses the
 * lowering of the op it came from for its leading parameters; an Elementwise
 * node gets a loop generated for it, with the interpreter as its reference. */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kiln.h"
#include "../kernels/c/fused.h"
#include "../kernels/c/gemm.h"
#include "../ir/fused_plan.h"

/* The linalg kernels an epilogue can follow, by name. */
typedef struct {
    const char *base, *name;
    KernelFn fn;
} FusedLa;
#define FUSED_LA_ROW(b, S) {"kiln_" #b "_" #S, "kiln_fused_" #b "_" #S, kiln_fused_##b##_##S},
static const FusedLa fused_la[] = {KILN_FZ_FUSED_LA(FUSED_LA_ROW)};

static Op base_op(Op op)
{
    return op == OP_FusedConv ? OP_Conv : op == OP_FusedGemm ? OP_Gemm : op == OP_FusedMatMul ? OP_MatMul : OP_COUNT_;
}

static const FusedLa *find_fused(const KernelCall *base)
{
    for (size_t i = 0; i < sizeof fused_la / sizeof *fused_la; i++)
        if (base->name && strcmp(fused_la[i].base, base->name) == 0) return &fused_la[i];
    return NULL;
}

/* A fused form exists for every reference linalg kernel of a float type
 * (kiln_fused_* in fused.h) and for every fast one (a wrapper generated
 * for the node). */
static bool epilogue_ok(const Node *n, const KernelCall *base)
{
    return find_fused(base) || (!base->reference && dtype_is_float(n->out[0]->dtype) && n->out[0]->dtype == n->in[0]->dtype);
}

bool lower_takes_epilogue(const Node *n)
{
    KernelCall kc = {.reference = true}; /* the fast kernels of float types take one too; no weight packing here */
    Diag ignore = {0};
    bool ok = lower_node(n, &kc, &ignore) == ST_OK && epilogue_ok(n, &kc);
    kc_free(&kc);
    return ok;
}

static const char *ew_suffix(DType t);

/* The headers of a fast kernel's wrapper: the kernel's, and fused.h for the epilogue. */
static const char *fused_headers(const char *base)
{
    static const char *const with_fused[] = {"gemm fused", "gemm conv_nhwc fused", "linalg fused"};
    for (size_t i = 0; i < sizeof with_fused / sizeof *with_fused; i++) {
        size_t len = strlen(base);
        if (!strncmp(with_fused[i], base, len) && !strcmp(with_fused[i] + len, " fused")) return with_fused[i];
    }
    return "linalg fused";
}

/* kiln_fused_nID: the chosen linalg kernel, then the epilogue. */
static char *wrapper_source(const Node *n, const KernelCall *base, const char *fname, int E, int F)
{
    Buf b = {0};
    buf_printf(&b, "/* %s with its epilogue */\nstatic void %s(kiln_ip p, kiln_fp f, kiln_in in, kiln_out out)\n{\n",
               op_info[n->op].name, fname);
    buf_printf(&b, "    %s(p + %d, f + %d, in, out);\n", base->name, E, F);
    if (!base->epilogue_done) buf_printf(&b, "    kiln_fz_epilogue_%s(p, f, in, out);\n", ew_suffix(n->out[0]->dtype));
    buf_printf(&b, "}\n");
    return b.data;
}

static Status lower_fused_linalg(const Node *n, KernelCall *kc, Diag *d)
{
    KernelCall base = {.reference = kc->reference};
    const Shape *y = &n->out[0]->shape;
    int r = y->rank, E = 4 + 3 * r, F = 2;
    Status st = lower_rule(base_op(n->op))(n, &base, d);
    if (!st && !epilogue_ok(n, &base)) st = diag_unsupported(d, n, "no fused form of kernel %s", base.name);
    if (st) {
        kc_free(&base);
        return st;
    }
    const FusedLa *fl = find_fused(&base);
    if (fl) {
        kc_kernel(kc, "fused", fl->name, fl->fn);
    } else { /* a fast kernel: never run in the compiler (folding lowers with reference set) */
        snprintf(kc->gen_name, sizeof kc->gen_name, "kiln_fused_n%d", n->id);
        kc_kernel(kc, base.header, kc->gen_name, base.fn);
        kc->header = fused_headers(base.header);
        kc->source = wrapper_source(n, &base, kc->gen_name, E, F);
    }
    const char *act = attr_str(n, "activation", "");
    kc_i(kc, E);
    kc_i(kc, F);
    kc_i(kc, *act ? fz_op_find(act, strlen(act)) : -1);
    kc_i(kc, r);
    kc_is(kc, y->dims, r);
    for (int k = 3; k <= 4; k++) {
        int64_t st_[KILN_MAX_RANK] = {0};
        if (has_input(n, k)) fz_strides(&n->in[k]->shape, y, st_);
        kc_is(kc, st_, r);
    }
    kc_f(kc, attr_float(n, "activation_alpha", 0));
    kc_f(kc, attr_float(n, "activation_beta", 0));
    kc_is(kc, base.p, base.np);
    for (int i = 0; i < base.nf; i++) kc_f(kc, base.f[i]);
    kc->scratch = base.scratch;
    /* a weight the kernel reads packed stays packed */
    kc->packed_in = base.packed_in;
    kc->packed_too = base.packed_too;
    kc->packed = base.packed;
    kc->npacked = base.npacked;
    base.packed = NULL;
    kc_free(&base);
    return ST_OK;
}

/* ---- Elementwise ------------------------------------------------------- */

/* The output's axes with size-1 axes dropped and neighbours merged where
 * every input steps through them as one; strides[k * r + axis]. */
typedef struct {
    int r, nin;
    int64_t dims[KILN_MAX_RANK];
    int64_t st[KILN_FZ_MAX_IN * KILN_MAX_RANK];
} EwLoops;

static void ew_loops(const Node *n, EwLoops *L)
{
    const Shape *y = &n->out[0]->shape;
    int64_t st[KILN_FZ_MAX_IN][KILN_MAX_RANK];
    *L = (EwLoops){.nin = n->nin};
    for (int k = 0; k < n->nin; k++) fz_strides(&n->in[k]->shape, y, st[k]);
    for (int a = 0; a < y->rank; a++) {
        if (y->dims[a] == 1) continue;
        bool merge = L->r > 0;
        for (int k = 0; k < n->nin && merge; k++)
            merge = L->st[k * KILN_MAX_RANK + L->r - 1] == st[k][a] * y->dims[a];
        if (merge) {
            L->dims[L->r - 1] *= y->dims[a];
            for (int k = 0; k < n->nin; k++) L->st[k * KILN_MAX_RANK + L->r - 1] = st[k][a];
            continue;
        }
        L->dims[L->r] = y->dims[a];
        for (int k = 0; k < n->nin; k++) L->st[k * KILN_MAX_RANK + L->r] = st[k][a];
        L->r++;
    }
    if (L->r == 0) L->dims[L->r++] = shape_numel(y) ? 1 : 0;
}

static const char *ew_suffix(DType t)
{
    switch (t) {
    case KILN_DTYPE_F32: return "f32";
    case KILN_DTYPE_F64: return "f64";
    case KILN_DTYPE_F16: return "f16";
    case KILN_DTYPE_BF16: return "bf16";
    default: return NULL;
    }
}

/* "i0 * s0 + i1 * s1 ..." for input k (or the dense output when k < 0). */
static void ew_index(Buf *b, const EwLoops *L, int k)
{
    int64_t dense = 1;
    bool any = false;
    for (int a = L->r - 1; a >= 0; a--) {
        int64_t s = k < 0 ? dense : L->st[k * KILN_MAX_RANK + a];
        dense *= L->dims[a];
        if (!s) continue;
        buf_printf(b, "%si%d", any ? " + " : "", a);
        if (s != 1) buf_printf(b, " * %" PRId64, s);
        any = true;
    }
    if (!any) buf_printf(b, "0");
}

/* The loop nest computing the program, one pass over the output. */
static char *ew_source(const Node *n, const FzProg *pr, const EwLoops *L, const char *fname, const char *S)
{
    Buf b = {0};
    bool used[KILN_FZ_MAX_IN] = {0};
    for (int i = 0; i < pr->n; i++)
        if (pr->kind[i] == 0) used[pr->arg[i]] = true;
    buf_printf(&b, "/* Elementwise: %s */\nstatic void %s(kiln_ip p, kiln_fp f, kiln_in in, kiln_out out)\n{\n",
               attr_str(n, "expr", ""), fname);
    for (int k = 0; k < n->nin; k++)
        if (used[k]) buf_printf(&b, "    const kiln_ew_t_%s *x%d = (const kiln_ew_t_%s *)in[%d];\n", S, k, S, k);
    buf_printf(&b, "    kiln_ew_t_%s *y = (kiln_ew_t_%s *)out[0];\n    int64_t i0", S, S);
    for (int a = 1; a < L->r; a++) buf_printf(&b, ", i%d", a);
    buf_printf(&b, ";\n    (void)p;\n    (void)f;\n    (void)in;\n");
    for (int a = 0; a < L->r; a++)
        buf_printf(&b, "%*sfor (i%d = 0; i%d < %" PRId64 "; i%d++)%s\n", 4 + 4 * a, "", a, a, L->dims[a], a,
                   a == L->r - 1 ? " {" : "");
    int ind = 4 + 4 * L->r;
    for (int k = 0; k < n->nin; k++)
        if (used[k]) {
            buf_printf(&b, "%*skiln_ew_n_%s v%d = KILN_EW_LD(%s, x%d[", ind, "", S, k, S, k);
            ew_index(&b, L, k);
            buf_printf(&b, "]);\n");
        }
    char res[48];
    fz_emit_program(&b, pr->n, pr->kind, pr->arg, 1, pr->consts, S, ind, res, sizeof res);
    buf_printf(&b, "%*sy[", ind, "");
    ew_index(&b, L, -1);
    buf_printf(&b, "] = KILN_EW_ST(%s, %s);\n%*s}\n}\n", S, res, ind - 4, "");
    return b.data;
}

#define EW_KERNEL_CASE(S) \
    if (strcmp(suffix, #S) == 0) KC_KERNEL(kc, "fused", kiln_elementwise_##S);

static Status lower_elementwise_kop(const Node *n, KernelCall *kc, Diag *d)
{
    FzProg pr = {0};
    EwLoops L;
    const char *suffix = ew_suffix(n->out[0]->dtype);
    Status st = fz_parse(n, &pr, d);
    if (st) return st;
    if (!suffix) return diag_unsupported(d, n, "no kernel for type %s", dtype_name(n->out[0]->dtype));
    KILN_FZ_TYPES(EW_KERNEL_CASE)
    ew_loops(n, &L);
    kc_i(kc, L.nin);
    kc_i(kc, L.r);
    kc_is(kc, L.dims, L.r);
    for (int k = 0; k < L.nin; k++) kc_is(kc, &L.st[k * KILN_MAX_RANK], L.r);
    kc_i(kc, pr.n);
    for (int i = 0; i < pr.n; i++) {
        kc_i(kc, pr.kind[i]);
        kc_i(kc, pr.arg[i]);
    }
    for (int i = 0; i < pr.nconst; i++) kc_f(kc, pr.consts[i]);
    snprintf(kc->gen_name, sizeof kc->gen_name, "kiln_elementwise_n%d", n->id);
    kc->source = ew_source(n, &pr, &L, kc->gen_name, suffix);
    kc->name = kc->gen_name;
    return ST_OK;
}

/* ---- Attention --------------------------------------------------------- */

static Status lower_attention(const Node *n, KernelCall *kc, Diag *d)
{
    FzAttention a;
    Status st = fz_attention(n, &a, d);
    if (st) return st;
    bool f64 = n->in[0]->dtype == KILN_DTYPE_F64;
    /* fp32 for a --cpu target: the two products through kernels/c/gemm.h */
    bool fast = !f64 && !kc->reference && codegen_cpu;
    if (f64) KC_KERNEL(kc, "fused", kiln_attention_f64);
    else if (fast) KC_KERNEL(kc, "gemm", kiln_attention_fast_f32);
    else KC_KERNEL(kc, "fused", kiln_attention_f32);
    int r = a.batch.rank;
    /* each operand's strides along its own axes (through its perm), 0 along
     * a broadcast batch axis; y's along y's axes */
    int64_t sd[4][KILN_MAX_RANK];
    for (int k = 0; k < 4; k++) {
        const Shape *s = k < 3 ? &n->in[k]->shape : &a.out;
        int64_t dense[KILN_MAX_RANK], acc = 1;
        for (int x = s->rank - 1; x >= 0; x--) dense[x] = acc, acc *= s->dims[x];
        for (int x = 0; x < s->rank; x++) {
            int64_t axis = a.perm[k][x]; /* operand axis x is stored axis axis; y's axis axis is stored axis x */
            if (k < 3) sd[k][x] = x < r && s->dims[axis] == 1 ? 0 : dense[axis];
            else sd[k][axis] = dense[x];
        }
    }
    kc_i(kc, r);
    kc_is(kc, a.batch.dims, r);
    for (int k = 0; k < 3; k++) kc_is(kc, sd[k], r);
    Shape sc = a.batch;
    sc.dims[sc.rank++] = a.Sq;
    sc.dims[sc.rank++] = a.Sk;
    int64_t ms[KILN_MAX_RANK] = {0};
    if (has_input(n, 3)) fz_strides(&n->in[3]->shape, &sc, ms);
    kc_is(kc, ms, r);
    kc_is(kc, (int64_t[]){a.Sq, a.Sk, a.D, a.Dv, has_input(n, 3), ms[r], ms[r + 1]}, 7);
    for (int k = 0; k < 3; k++) kc_is(kc, sd[k] + r, 2); /* row and column strides of Q, KT, V */
    kc_is(kc, sd[3], r + 1);                            /* y's batch and row strides */
    kc_f(kc, attr_float(n, "scale", 1.0));
    kc->scratch = a.Sk * (f64 ? 8 : 4);
    if (fast)
        kc->scratch = 4 * kiln_attention_scratch(a.Sq, a.Sk, a.D, a.Dv, codegen_cpu->mr, codegen_cpu->nr, codegen_cpu->threads);
    return ST_OK;
}

const LowerRule lower_fused[] = {
    {OP_FusedConv, lower_fused_linalg},
    {OP_FusedGemm, lower_fused_linalg},
    {OP_FusedMatMul, lower_fused_linalg},
    {OP_Elementwise, lower_elementwise_kop},
    {OP_Attention, lower_attention},
    {OP_COUNT_, NULL},
};
