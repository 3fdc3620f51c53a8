/* lower_linalg.c — kernel choice and parameters for the linalg operators.
 * The geometry comes from kernels/c/linalg.h (la_*), shared with the shape
 * rules; the parameter orders are documented above each kernel. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kiln.h"
#include "../kernels/c/linalg.h"
#include "../kernels/c/gemm.h"
#include "../kernels/c/conv_nhwc.h"
#include "../ir/linalg_plan.h"
#include "../kernels/c/fused.h"
#include "../ir/fused_plan.h"

/* X(enum suffix, kernel suffix, base): the dtypes of KILN_LA_TYPES / KILN_CONV_TYPES. */
#define CONV_TYPES(X, base) X(F32, f32, base) X(F64, f64, base) X(F16, f16, base)
#define LA_TYPES(X, base)                                                                    \
    CONV_TYPES(X, base) X(BF16, bf16, base) X(I32, i32, base) X(I64, i64, base) X(U32, u32, base) \
    X(U64, u64, base)
#define PICK_CASE(E, s, base) \
    case KILN_DTYPE_##E: KC_KERNEL(kc, "linalg", kiln_##base##_##s); return ST_OK;
/* Choose kiln_<base>_<dtype> by the dtype of input 0. */
#define PICK(TYPES, base)                                                                    \
    static Status pick_##base(const Node *n, KernelCall *kc, Diag *d)                        \
    {                                                                                        \
        switch (n->in[0]->dtype) {                                                           \
        TYPES(PICK_CASE, base)                                                               \
        default: return diag_unsupported(d, n, "no kernel for type %s", dtype_name(n->in[0]->dtype)); \
        }                                                                                    \
    }
PICK(LA_TYPES, matmul)
PICK(LA_TYPES, gemm)
PICK(LA_TYPES, einsum)
PICK(CONV_TYPES, conv)
PICK(CONV_TYPES, convtranspose)

/* ---- fast paths (kernels/c/gemm.h): fp32 for the --cpu target ----------
 * Taken when generating a module for a CPU (codegen_cpu), never for constant
 * folding (kc->reference): the compiler's own copy of gemm.h is not built for
 * the target's tile. A constant operand is packed here, once, into the panels
 * the target's micro-kernel reads, and replaces the weight in the module. */

static bool fast_ok(const Node *n, const KernelCall *kc)
{
    return !kc->reference && codegen_cpu && n->in[0]->dtype == KILN_DTYPE_F32;
}

static float *pack_alloc(KernelCall *kc, int k, int64_t count)
{
    kc->packed_in = k + 1;
    kc->npacked = count;
    kc->packed = calloc((size_t)(count ? count : 1), sizeof *kc->packed);
    return kc->packed;
}

/* Scratch for one M x N x K product per thread, sized to that product. */
static void gemm_scratch(KernelCall *kc, int64_t M, int64_t N, int64_t K, bool ap, int bmode)
{
    const CpuTarget *c = codegen_cpu;
    kc->scratch = kiln_sgemm_scratch_all(M, N, K, ap, bmode, c->mr, c->nr, c->threads) * (int64_t)sizeof(float);
}

/* A [M,K] operand (strides rs, cs) packed in MR panels, or B [K,N] in NR panels. */
static Status pack_operand(const Node *n, KernelCall *kc, int k, bool as_a, int64_t rows, int64_t cols,
                           int64_t rs, int64_t cs, Diag *d)
{
    const CpuTarget *c = codegen_cpu;
    int64_t K = as_a ? cols : rows, P = as_a ? kiln_gemm_round_up(rows, c->mr) : kiln_gemm_round_up(cols, c->nr);
    float *dst = pack_alloc(kc, k, P * (as_a ? kiln_gemm_round_up(K, c->vec_bytes / 4) : K));
    if (!dst) return diag_error(d, ST_INTERNAL, n, "out of memory packing weights");
    if (as_a) kiln_sgemm_pack_a(dst, n->in[k]->data, rs, cs, rows, 0, P, 0, K, c->mr, c->vec_bytes / 4);
    else kiln_sgemm_pack_b(dst, n->in[k]->data, rs, cs, cols, 0, P, 0, K, c->nr);
    return ST_OK;
}

static bool unbatched(const int64_t *st, int r)
{
    for (int i = 0; i < r; i++)
        if (st[i]) return false;
    return true;
}

/* The block of kernels/c/gemm.h's fused epilogue (kiln_sgemm_fz_read) for a
 * product of r batch axes, with rows (has_m) and columns (has_n) in the
 * output: a FusedMatMul's or FusedGemm's bias, residual and clamp when the
 * kernel can apply them in registers, which is then the node's whole
 * epilogue (epilogue_done: the fused wrapper makes no second pass); else an
 * empty block and the wrapper's pass does it all. */
static void fused_epilogue(const Node *n, KernelCall *kc, int r, bool has_m, bool has_n)
{
    const Shape *y = &n->out[0]->shape;
    int64_t blk[KILN_SGEMM_FZ_PARAMS(KILN_MAX_RANK)] = {0}, st[KILN_MAX_RANK];
    int64_t *q = blk;
    bool clamp = false, ok = (n->op == OP_FusedMatMul || n->op == OP_FusedGemm) && y->rank == r + has_m + has_n;
    double lo = 0, hi = 0;
    ok = ok && fz_clamp_activation(n, &clamp, &lo, &hi);
    for (int k = 3; k <= 4 && ok; k++, q += r + 3) {
        if (!has_input(n, k)) continue;
        ok = n->in[k]->dtype == KILN_DTYPE_F32;
        fz_strides(&n->in[k]->shape, y, st);
        q[0] = 1;
        for (int a = 0; a < r; a++) q[1 + a] = st[a];
        q[1 + r] = has_m ? st[r] : 0;
        q[2 + r] = has_n ? st[y->rank - 1] : 0;
        ok = ok && (q[2 + r] == 0 || q[2 + r] == 1); /* whole vectors of a row in registers */
    }
    if (ok) q[0] = clamp;
    else memset(blk, 0, sizeof blk);
    if (!ok || !clamp) lo = hi = 0; /* unread: kept 0 so the module's text does not depend on them */
    kc->epilogue_done = ok;
    kc_is(kc, blk, KILN_SGEMM_FZ_PARAMS(r));
    kc_f(kc, lo);
    kc_f(kc, hi);
}

static Status lower_matmul_fast(const Node *n, const LaMatMul *g, KernelCall *kc, Diag *d)
{
    bool bp = value_is_const(n->in[1]) && unbatched(g->bs, g->r);
    bool ap = !bp && value_is_const(n->in[0]) && unbatched(g->as, g->r);
    KC_KERNEL(kc, "gemm", kiln_matmul_fast_f32);
    kc_i(kc, g->r);
    kc_is(kc, (int64_t[]){g->M, g->N, g->K}, 3);
    kc_is(kc, g->batch, g->r);
    kc_is(kc, g->as, g->r);
    kc_is(kc, g->bs, g->r);
    kc_is(kc, (int64_t[]){ap, bp}, 2);
    fused_epilogue(n, kc, g->r, n->in[0]->shape.rank > 1, n->in[1]->shape.rank > 1);
    gemm_scratch(kc, g->M, g->N, g->K, ap, kiln_sgemm_b_mode(bp, 0, 1));
    if (bp) return pack_operand(n, kc, 1, false, g->K, g->N, g->N, 1, d);
    if (ap) return pack_operand(n, kc, 0, true, g->M, g->K, g->K, 1, d);
    return ST_OK;
}

static Status lower_gemm_fast(const Node *n, const LaGemm *g, KernelCall *kc, Diag *d)
{
    bool bp = value_is_const(n->in[1]), ap = !bp && value_is_const(n->in[0]);
    KC_KERNEL(kc, "gemm", kiln_gemm_fast_f32);
    kc_is(kc, (int64_t[]){g->M, g->N, g->K, g->ars, g->acs, g->brs, g->bcs, has_input(n, 2), g->crs, g->ccs, ap, bp}, 12);
    kc_f(kc, g->alpha);
    kc_f(kc, g->beta);
    fused_epilogue(n, kc, 0, true, true);
    gemm_scratch(kc, g->M, g->N, g->K, ap, kiln_sgemm_b_mode(bp, 0, g->bcs));
    if (bp) return pack_operand(n, kc, 1, false, g->K, g->N, g->brs, g->bcs, d);
    if (ap) return pack_operand(n, kc, 0, true, g->M, g->K, g->ars, g->acs, d);
    return ST_OK;
}

/* The parameters of the fast convolutions (KILN_CONV2D_PARAMS), a 1-D one as H = KH = 1. */
static void conv_params(const Node *n, const LaConv *g, KernelCall *kc, bool clamp, double lo, double hi)
{
    bool two = g->S == 2;
    kc_is(kc, (int64_t[]){g->N, g->C, g->M, g->group, two ? g->in[0] : 1, g->in[two], two ? g->out[0] : 1, g->out[two],
                          two ? g->k[0] : 1, g->k[two], two ? g->st[0] : 1, g->st[two], two ? g->dl[0] : 1, g->dl[two],
                          two ? g->pb[0] : 0, g->pb[two], has_input(n, 2), clamp}, 18);
    kc_f(kc, lo);
    kc_f(kc, hi);
}

/* A channels-last 2-D Conv (group 1 or depthwise): the weights packed for
 * the kernel, as B [KH*KW*C, M] of the GEMM ([C*KH*KW, M], W as it is, when
 * the input is channels first) or as [KH*KW, C] rows. */
static Status lower_conv_nhwc(const Node *n, const LaConv *g, KernelCall *kc, bool clamp, double lo, double hi,
                              Diag *d)
{
    const CpuTarget *c = codegen_cpu;
    int64_t KH = g->k[0], KW = g->k[1], C = g->C, M = g->M, K = KH * KW * C, taps = KH * KW;
    const float *w = n->in[1]->data;
    bool depthwise = la_conv_depthwise(g) && !g->nchw_in;
    if (depthwise) KC_KERNEL(kc, "gemm conv_nhwc", kiln_dwconv_nhwc_f32);
    else if (g->nchw_in) KC_KERNEL(kc, "gemm", kiln_conv_nchw_nhwc_f32);
    else KC_KERNEL(kc, "gemm", kiln_conv_nhwc_f32);
    conv_params(n, g, kc, clamp, lo, hi);
    if (g->nchw_in) {
        float *dst = pack_alloc(kc, 1, kiln_gemm_round_up(M, c->nr) * K);
        if (!dst) return diag_error(d, ST_INTERNAL, n, "out of memory packing weights");
        kiln_sgemm_pack_b(dst, w, 1, K, M, 0, kiln_gemm_round_up(M, c->nr), 0, K, c->nr);
        kc->scratch = (int64_t)c->threads * kiln_conv_nchw_scratch(K, c->mr) * (int64_t)sizeof(float);
        return ST_OK;
    }
    float *dst = pack_alloc(kc, 1, depthwise ? taps * C : kiln_gemm_round_up(M, c->nr) * K);
    float *wt = depthwise ? NULL : malloc(sizeof *wt * (size_t)(K * M + 1));
    if (!dst || (!depthwise && !wt)) {
        free(wt);
        return diag_error(d, ST_INTERNAL, n, "out of memory packing weights");
    }
    if (depthwise) {
        kiln_dwconv_nhwc_pack(dst, w, C, KH, KW);
        return ST_OK;
    }
    for (int64_t m = 0; m < M; m++) /* W [M, C, KH, KW] as [K, M], k = (kh*KW + kw)*C + c */
        for (int64_t ci = 0; ci < C; ci++)
            for (int64_t t = 0; t < taps; t++) wt[(t * C + ci) * M + m] = w[(m * C + ci) * taps + t];
    kiln_sgemm_pack_b(dst, wt, M, 1, M, 0, kiln_gemm_round_up(M, c->nr), 0, K, c->nr);
    free(wt);
    gemm_scratch(kc, g->out[0] * g->out[1], M, K, false, KILN_B_PACKED);
    return ST_OK;
}

/* 1-D and 2-D Conv with constant weights; the epilogue clamps to [lo, hi] if clamp. */
static Status lower_conv_fast(const Node *n, const LaConv *g, KernelCall *kc, bool clamp, double lo, double hi,
                              Diag *d)
{
    const CpuTarget *c = codegen_cpu;
    bool two = g->S == 2;
    int64_t H = two ? g->in[0] : 1, W = g->in[two], OH = two ? g->out[0] : 1, OW = g->out[two];
    int64_t KH = two ? g->k[0] : 1, KW = g->k[two], Cg = g->C / g->group, Mg = g->M / g->group, K = Cg * KH * KW;
    bool depthwise = la_conv_depthwise(g);
    if (g->channels_last) return lower_conv_nhwc(n, g, kc, clamp, lo, hi, d);
    if (depthwise) KC_KERNEL(kc, "gemm", kiln_dwconv_f32);
    else KC_KERNEL(kc, "gemm", kiln_conv_fast_f32);
    conv_params(n, g, kc, clamp, lo, hi);
    if (depthwise) {
        kc->scratch = (int64_t)c->threads * 4 *
                      kiln_dwconv_scratch(OH, OW, KH, KW, two ? g->st[0] : 1, g->st[two], two ? g->dl[0] : 1, g->dl[two],
                                          c->vec_bytes / 4);
        return ST_OK;
    }
    bool direct = KH == 1 && KW == 1 && g->st[0] == 1 && g->st[two] == 1 && OH == H && OW == W && g->pb[0] == 0 &&
                  g->pb[two] == 0;
    gemm_scratch(kc, Mg, OH * OW, K, true, kiln_sgemm_b_mode(0, !direct, 1));
    /* per group, its Mg rows of W [M, K] as A */
    int64_t P = kiln_gemm_round_up(Mg, c->mr), Kp = kiln_gemm_round_up(K, c->vec_bytes / 4);
    float *dst = pack_alloc(kc, 1, g->group * P * Kp);
    if (!dst) return diag_error(d, ST_INTERNAL, n, "out of memory packing weights");
    const float *w = n->in[1]->data;
    for (int64_t gi = 0; gi < g->group; gi++)
        kiln_sgemm_pack_a(dst + gi * P * Kp, w + gi * Mg * K, K, 1, Mg, 0, P, 0, K, c->mr, c->vec_bytes / 4);
    return ST_OK;
}

/* FusedSepConv (C target only): the depthwise part's parameters, the
 * pointwise ones and the rows a slab (its depthwise rows about 32 KiB). */
static Status lower_sepconv(const Node *n, KernelCall *kc, Diag *d)
{
    const CpuTarget *c = codegen_cpu;
    LaConv g = {0};
    bool dclamp, pclamp;
    double dlo, dhi, plo, phi;
    Status st = la_conv(n, false, &g, d);
    if (st) return st;
    if (!fast_ok(n, kc) || !value_is_const(n->in[1]) || !value_is_const(n->in[3]) ||
        !fz_clamp_activation(n, &dclamp, &dlo, &dhi) || !fz_clamp_activation_of(n, "pw_", &pclamp, &plo, &phi))
        return diag_unsupported(d, n, "FusedSepConv runs only on the C target's fast kernels (f32, constant "
                                      "weights, Relu, Clip or no activations)");
    int64_t C = g.C, M = n->in[3]->shape.dims[0], OW = g.out[1], slab = 8192 / (OW * C);
    if (slab < 1) slab = 1;
    if (slab > g.out[0]) slab = g.out[0];
    KC_KERNEL(kc, "gemm conv_nhwc", kiln_sepconv_nhwc_f32);
    conv_params(n, &g, kc, dclamp, dlo, dhi);
    kc_is(kc, (int64_t[]){M, has_input(n, 4), pclamp, slab}, 4);
    kc_f(kc, plo);
    kc_f(kc, phi);
    kc->scratch = (int64_t)c->threads * kiln_sepconv_scratch(slab, OW, C, M, c->mr, c->nr) * (int64_t)sizeof(float);
    /* one packed array: the depthwise weights, then the pointwise W [M, C] as B [C, M] */
    int64_t taps = g.k[0] * g.k[1], P = kiln_gemm_round_up(M, c->nr);
    float *dst = pack_alloc(kc, 1, taps * C + P * C);
    if (!dst) return diag_error(d, ST_INTERNAL, n, "out of memory packing weights");
    kc->packed_too = 4;
    kiln_dwconv_nhwc_pack(dst, n->in[1]->data, C, g.k[0], g.k[1]);
    kiln_sgemm_pack_b(dst + taps * C, n->in[3]->data, 1, C, M, 0, P, 0, C, c->nr);
    return ST_OK;
}

static Status lower_matmul(const Node *n, KernelCall *kc, Diag *d)
{
    LaMatMul g = {0};
    Status st = la_matmul(n, &g, d);
    if (st) return st;
    if (fast_ok(n, kc)) return lower_matmul_fast(n, &g, kc, d);
    if ((st = pick_matmul(n, kc, d))) return st;
    kc_i(kc, g.r);
    kc_is(kc, (int64_t[]){g.M, g.N, g.K}, 3);
    kc_is(kc, g.batch, g.r);
    kc_is(kc, g.as, g.r);
    kc_is(kc, g.bs, g.r);
    return ST_OK;
}

static Status lower_gemm(const Node *n, KernelCall *kc, Diag *d)
{
    LaGemm g = {0};
    Status st = la_gemm(n, &g, d);
    if (st) return st;
    if (fast_ok(n, kc)) return lower_gemm_fast(n, &g, kc, d);
    if ((st = pick_gemm(n, kc, d))) return st;
    kc_is(kc, (int64_t[]){g.M, g.N, g.K, g.ars, g.acs, g.brs, g.bcs, has_input(n, 2), g.crs, g.ccs}, 10);
    kc_f(kc, g.alpha);
    kc_f(kc, g.beta);
    return ST_OK;
}

static Status lower_einsum(const Node *n, KernelCall *kc, Diag *d)
{
    LaEinsum e = {0};
    Status st = la_einsum(n, &e, d);
    if (st || (st = pick_einsum(n, kc, d))) return st;
    kc_is(kc, (int64_t[]){e.nin, e.nlab, e.nout}, 3);
    kc_is(kc, e.dims, e.nlab);
    for (int k = 0; k < e.nin; k++) kc_is(kc, e.st[k], e.nlab);
    return ST_OK;
}

static Status lower_conv(const Node *n, KernelCall *kc, Diag *d)
{
    LaConv g = {0};
    bool tr = n->op == OP_ConvTranspose;
    Status st = la_conv(n, tr, &g, d);
    if (st) return st;
    if (g.channels_last && !(fast_ok(n, kc) && la_conv_nhwc_ok(&g) && value_is_const(n->in[1])))
        return diag_unsupported(d, n, "a channels-last convolution runs only on the C target's fast kernels "
                                      "(f32, 2-D, group 1 or depthwise, constant weights)");
    if (!tr && fast_ok(n, kc) && g.S <= 2 && value_is_const(n->in[1])) {
        /* a clamp after the convolution's own bias, and nothing added: the kernel's whole epilogue */
        double lo = 0, hi = 0;
        bool clamp = false, whole = n->op == OP_FusedConv && !has_input(n, 3) && !has_input(n, 4) &&
                                    fz_clamp_activation(n, &clamp, &lo, &hi) && clamp;
        kc->epilogue_done = whole;
        if (!whole) lo = hi = 0;
        return lower_conv_fast(n, &g, kc, whole, lo, hi, d);
    }
    if ((st = tr ? pick_convtranspose(n, kc, d) : pick_conv(n, kc, d))) return st;
    kc_is(kc, (int64_t[]){g.S, g.N, g.C, g.M, g.group, has_input(n, 2)}, 6);
    kc_is(kc, g.in, g.S);
    kc_is(kc, g.out, g.S);
    kc_is(kc, g.k, g.S);
    kc_is(kc, g.st, g.S);
    kc_is(kc, g.dl, g.S);
    kc_is(kc, g.pb, g.S);
    return ST_OK;
}

#define QUANT_CASE(x, y, X, Y) \
    if (xt == KILN_DTYPE_##X && yt == KILN_DTYPE_##Y) KC_KERNEL(kc, "linalg", kiln_quantize_##x##_##y);
#define DEQUANT_CASE(x, y, X, Y) \
    if (xt == KILN_DTYPE_##X && yt == KILN_DTYPE_##Y) KC_KERNEL(kc, "linalg", kiln_dequantize_##x##_##y);

static Status lower_quant(const Node *n, KernelCall *kc, Diag *d)
{
    LaQuant q = {0};
    DType xt = n->in[0]->dtype, yt = n->out[0]->dtype;
    Status st = la_quant(n, &q, d);
    if (st) return st;
    if (n->op == OP_QuantizeLinear) {
        QUANT_CASE(f32, u8, F32, U8) QUANT_CASE(f32, i8, F32, I8) QUANT_CASE(f16, u8, F16, U8)
        QUANT_CASE(f16, i8, F16, I8) QUANT_CASE(i32, u8, I32, U8) QUANT_CASE(i32, i8, I32, I8)
    } else {
        DEQUANT_CASE(u8, f32, U8, F32) DEQUANT_CASE(i8, f32, I8, F32) DEQUANT_CASE(i32, f32, I32, F32)
        DEQUANT_CASE(u8, f16, U8, F16) DEQUANT_CASE(i8, f16, I8, F16) DEQUANT_CASE(i32, f16, I32, F16)
    }
    if (!kc->fn) return diag_unsupported(d, n, "no kernel from %s to %s", dtype_name(xt), dtype_name(yt));
    kc_is(kc, (int64_t[]){q.numel, q.adim, q.inner, has_input(n, 2)}, 4);
    return ST_OK;
}

const LowerRule lower_linalg[] = {
    {OP_MatMul, lower_matmul},
    {OP_Gemm, lower_gemm},
    {OP_Einsum, lower_einsum},
    {OP_Conv, lower_conv},
    {OP_ConvTranspose, lower_conv},
    {OP_FusedSepConv, lower_sepconv},
    {OP_QuantizeLinear, lower_quant},
    {OP_DequantizeLinear, lower_quant},
    {OP_COUNT_, NULL},
};
