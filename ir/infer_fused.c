/* infer_fused.c — shape rules of kiln's fused operators (KOP rows in
 * ops.def, made by passes/fuse_*.c). A fused linalg node reads its geometry
 * through the same la_* plans as the op it came from. */
#include "kiln.h"
#include "../kernels/c/fused.h"
#include "linalg_plan.h"
#include "fused_plan.h"

/* The activation and the epilogue's addends (inputs 3 and 4) of y. */
static Status check_epilogue(const Node *n, const Shape *y, Diag *d)
{
    const char *act = attr_str(n, "activation", "");
    DType t = n->in[0]->dtype;
    char b1[128], b2[128];
    if (*act) {
        int op = fz_op_find(act, strlen(act));
        if (op < 0) return diag_error(d, ST_INPUT, n, "unknown activation '%s'", act);
    }
    for (int k = 3; k < n->nin; k++) {
        if (!has_input(n, k)) continue;
        if (n->in[k]->dtype != t)
            return diag_error(d, ST_INPUT, n, "input %d is %s, input 0 %s", k, dtype_name(n->in[k]->dtype), dtype_name(t));
        if (!fz_broadcasts_to(&n->in[k]->shape, y))
            return diag_error(d, ST_INPUT, n, "input %d %s does not broadcast to the result %s", k,
                              shape_str(&n->in[k]->shape, b1, sizeof b1), shape_str(y, b2, sizeof b2));
    }
    return ST_OK;
}

static Status float_type(const Node *n, bool half_ok, Diag *d)
{
    DType t = n->in[0]->dtype;
    if (t == KILN_DTYPE_F32 || t == KILN_DTYPE_F64 || t == KILN_DTYPE_F16 || (half_ok && t == KILN_DTYPE_BF16))
        return ST_OK;
    return diag_unsupported(d, n, "no kernel for type %s", dtype_name(t));
}

static Status infer_fused_conv(Node *n, Diag *d)
{
    LaConv g = {0};
    Status st = la_conv(n, false, &g, d);
    if (!st) st = float_type(n, false, d);
    if (!st) st = check_epilogue(n, &g.oshape, d);
    if (!st) value_set_type(n->out[0], n->in[0]->dtype, &g.oshape);
    return st;
}

/* FusedSepConv: the depthwise FusedConv of inputs 0-2, channels last, then
 * the pointwise W [M, C, 1, 1] (input 3) and bias [M] (input 4). */
static Status infer_fused_sepconv(Node *n, Diag *d)
{
    LaConv g = {0};
    Status st = la_conv(n, false, &g, d);
    char b1[128];
    if (st || (st = float_type(n, false, d))) return st;
    if (g.S != 2 || !g.channels_last || g.nchw_in || !la_conv_depthwise(&g))
        return diag_error(d, ST_INPUT, n, "inputs 0-2 must be a 2-D depthwise convolution with channels_last = 1");
    if (!has_input(n, 3)) return diag_error(d, ST_INPUT, n, "input 3 (the pointwise weights) is required");
    const Shape *w = &n->in[3]->shape;
    if (w->rank != 4 || w->dims[1] != g.C || w->dims[2] != 1 || w->dims[3] != 1)
        return diag_error(d, ST_INPUT, n, "pointwise W %s must be [M, %lld, 1, 1]", shape_str(w, b1, sizeof b1),
                          (long long)g.C);
    if (has_input(n, 4) && (n->in[4]->shape.rank != 1 || n->in[4]->shape.dims[0] != w->dims[0]))
        return diag_error(d, ST_INPUT, n, "pointwise bias %s must be [%lld]",
                          shape_str(&n->in[4]->shape, b1, sizeof b1), (long long)w->dims[0]);
    for (int k = 0; k < 2; k++) {
        const char *act = attr_str(n, k ? "pw_activation" : "activation", "");
        if (*act && fz_op_find(act, strlen(act)) < 0) return diag_error(d, ST_INPUT, n, "unknown activation '%s'", act);
    }
    Shape y = g.oshape;
    y.dims[3] = w->dims[0];
    value_set_type(n->out[0], n->in[0]->dtype, &y);
    return ST_OK;
}

static Status infer_fused_gemm(Node *n, Diag *d)
{
    LaGemm g = {0};
    Status st = la_gemm(n, &g, d);
    if (!st) st = float_type(n, true, d);
    if (!st) st = check_epilogue(n, &g.out, d);
    if (!st) value_set_type(n->out[0], n->in[0]->dtype, &g.out);
    return st;
}

static Status infer_fused_matmul(Node *n, Diag *d)
{
    LaMatMul g = {0};
    Status st = la_matmul(n, &g, d);
    if (!st && has_input(n, 2)) st = diag_error(d, ST_INPUT, n, "input 2 must be omitted (the bias is input 3)");
    if (!st) st = float_type(n, true, d);
    if (!st) st = check_epilogue(n, &g.out, d);
    if (!st) value_set_type(n->out[0], n->in[0]->dtype, &g.out);
    return st;
}

/* The output is every input broadcast together. */
static Status infer_elementwise_kop(Node *n, Diag *d)
{
    FzProg pr = {0};
    DType t = n->in[0] ? n->in[0]->dtype : KILN_DTYPE_UNDEFINED;
    Shape out = {0};
    Status st = fz_parse(n, &pr, d);
    if (st) return st;
    if (n->nin > KILN_FZ_MAX_IN) return diag_unsupported(d, n, "more than %d inputs", KILN_FZ_MAX_IN);
    if (!dtype_is_float(t)) return diag_unsupported(d, n, "no kernel for type %s", dtype_name(t));
    for (int k = 0; k < n->nin; k++) {
        if (!n->in[k]) return diag_error(d, ST_INPUT, n, "input %d is omitted", k);
        if (n->in[k]->dtype != t) return diag_error(d, ST_INPUT, n, "inputs differ in type");
        Shape b;
        if (!shape_broadcast(&out, &n->in[k]->shape, &b)) return diag_error(d, ST_INPUT, n, "inputs do not broadcast");
        out = b;
    }
    value_set_type(n->out[0], t, &out);
    return ST_OK;
}

static Status infer_attention(Node *n, Diag *d)
{
    FzAttention a;
    Status st = fz_attention(n, &a, d);
    if (!st) value_set_type(n->out[0], n->in[0]->dtype, &a.out);
    return st;
}

const InferRule infer_fused[] = {
    {OP_FusedConv, infer_fused_conv},
    {OP_FusedSepConv, infer_fused_sepconv},
    {OP_FusedGemm, infer_fused_gemm},
    {OP_FusedMatMul, infer_fused_matmul},
    {OP_Elementwise, infer_elementwise_kop},
    {OP_Attention, infer_attention},
    {OP_COUNT_, NULL},
};
