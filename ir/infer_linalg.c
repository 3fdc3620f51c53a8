/* infer_linalg.c — shape rules of the linalg operators (see ops.def). The
 * geometry lives in kernels/c/linalg.h (la_*), shared with the lowering. */
#include "kiln.h"
#include "../kernels/c/linalg.h"
#include "linalg_plan.h"

/* The types MatMul, Gemm and Einsum have kernels for (KILN_LA_TYPES). */
static bool la_type(DType t)
{
    switch (t) {
    case KILN_DTYPE_F32: case KILN_DTYPE_F64: case KILN_DTYPE_F16: case KILN_DTYPE_BF16:
    case KILN_DTYPE_I32: case KILN_DTYPE_I64: case KILN_DTYPE_U32: case KILN_DTYPE_U64:
        return true;
    default:
        return false;
    }
}

static Status check_type(const Node *n, bool ok, Diag *d)
{
    if (ok) return ST_OK;
    return diag_unsupported(d, n, "no kernel for type %s", dtype_name(n->in[0]->dtype));
}

static Status infer_matmul(Node *n, Diag *d)
{
    LaMatMul g = {0};
    Status st = la_matmul(n, &g, d);
    if (!st) st = check_type(n, la_type(n->in[0]->dtype), d);
    if (!st) value_set_type(n->out[0], n->in[0]->dtype, &g.out);
    return st;
}

/* Integer kernels take alpha and beta as integers (KILN_FD_i64). */
static bool small_int(double v)
{
    return v >= -1e9 && v <= 1e9 && v == (double)(int64_t)v;
}

static Status infer_gemm(Node *n, Diag *d)
{
    LaGemm g = {0};
    Status st = la_gemm(n, &g, d);
    if (!st) st = check_type(n, la_type(n->in[0]->dtype), d);
    if (!st && !dtype_is_float(n->in[0]->dtype) && (!small_int(g.alpha) || !small_int(g.beta)))
        return diag_unsupported(d, n, "integer Gemm with alpha %g and beta %g: only whole numbers", g.alpha, g.beta);
    if (!st) value_set_type(n->out[0], n->in[0]->dtype, &g.out);
    return st;
}

static Status infer_einsum(Node *n, Diag *d)
{
    LaEinsum e = {0};
    Status st = la_einsum(n, &e, d);
    if (!st) st = check_type(n, la_type(n->in[0]->dtype), d);
    if (!st) value_set_type(n->out[0], n->in[0]->dtype, &e.out);
    return st;
}

static Status infer_conv(Node *n, Diag *d)
{
    LaConv g = {0};
    DType t = n->in[0]->dtype;
    Status st = la_conv(n, n->op == OP_ConvTranspose, &g, d);
    if (!st) st = check_type(n, t == KILN_DTYPE_F32 || t == KILN_DTYPE_F64 || t == KILN_DTYPE_F16, d);
    if (!st) value_set_type(n->out[0], t, &g.oshape);
    return st;
}

/* y's type is the zero point's, uint8 without one. */
static Status infer_quantize(Node *n, Diag *d)
{
    LaQuant q = {0};
    DType x = n->in[0]->dtype, s = n->in[1]->dtype, y = has_input(n, 2) ? n->in[2]->dtype : KILN_DTYPE_U8;
    Status st = la_quant(n, &q, d);
    if (st) return st;
    if (!((x == KILN_DTYPE_F32 && s == x) || (x == KILN_DTYPE_F16 && s == x) || (x == KILN_DTYPE_I32 && s == KILN_DTYPE_F32)))
        return diag_unsupported(d, n, "no kernel for input %s with scale %s", dtype_name(x), dtype_name(s));
    if (y != KILN_DTYPE_U8 && y != KILN_DTYPE_I8) return diag_unsupported(d, n, "no kernel for output type %s", dtype_name(y));
    value_set_type(n->out[0], y, &n->in[0]->shape);
    return ST_OK;
}

/* y's type is the scale's. */
static Status infer_dequantize(Node *n, Diag *d)
{
    LaQuant q = {0};
    DType x = n->in[0]->dtype, s = n->in[1]->dtype;
    Status st = la_quant(n, &q, d);
    if (st) return st;
    if (has_input(n, 2) && n->in[2]->dtype != x)
        return diag_error(d, ST_INPUT, n, "zero point is %s, input %s", dtype_name(n->in[2]->dtype), dtype_name(x));
    if ((x != KILN_DTYPE_U8 && x != KILN_DTYPE_I8 && x != KILN_DTYPE_I32) || (s != KILN_DTYPE_F32 && s != KILN_DTYPE_F16))
        return diag_unsupported(d, n, "no kernel for input %s with scale %s", dtype_name(x), dtype_name(s));
    value_set_type(n->out[0], s, &n->in[0]->shape);
    return ST_OK;
}

const InferRule infer_linalg[] = {
    {OP_MatMul, infer_matmul},
    {OP_Gemm, infer_gemm},
    {OP_Einsum, infer_einsum},
    {OP_Conv, infer_conv},
    {OP_ConvTranspose, infer_conv},
    {OP_QuantizeLinear, infer_quantize},
    {OP_DequantizeLinear, infer_dequantize},
    {OP_COUNT_, NULL},
};
