/* lower_linalg.c — kernel choice and parameters for the linalg operators.
 * The geometry comes from kernels/c/linalg.h (la_*), shared with the shape
 * rules; the parameter orders are documented above each kernel. */
#include "kiln.h"
#include "../kernels/c/linalg.h"
#include "../ir/linalg_plan.h"

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

static Status lower_matmul(const Node *n, KernelCall *kc, Diag *d)
{
    LaMatMul g = {0};
    Status st = la_matmul(n, &g, d);
    if (st || (st = pick_matmul(n, kc, d))) return st;
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
    if (st || (st = pick_gemm(n, kc, d))) return st;
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
    if (st || (st = tr ? pick_convtranspose(n, kc, d) : pick_conv(n, kc, d))) return st;
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
    {OP_QuantizeLinear, lower_quant},
    {OP_DequantizeLinear, lower_quant},
    {OP_COUNT_, NULL},
};
