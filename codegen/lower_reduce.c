/* lower_reduce.c — kernel choice and parameters for the reduce operators. */
#include "kiln.h"
#include "../kernels/c/reduce.h"

/* Kernel choice by dtype: each family's instantiations are listed in reduce.h. */
#define CASE(dt, base, sfx) \
    case KILN_DTYPE_##dt: KC_KERNEL(kc, "reduce", base##_##sfx); return ST_OK;
#define FLOAT_CASES(base) CASE(F32, base, f32) CASE(F64, base, f64) CASE(F16, base, f16) CASE(BF16, base, bf16)
#define WIDE_INT_CASES(base) CASE(I32, base, i32) CASE(I64, base, i64) CASE(U32, base, u32)

static Status no_kernel(const Node *n, DType t, Diag *d)
{
    return diag_unsupported(d, n, "%s of %s is not supported", op_info[n->op].name, dtype_name(t));
}

/* outer, n, inner of an axis: the kernels walk it as [outer][n][inner]. */
static void axis_split(KernelCall *kc, const Shape *s, int64_t axis)
{
    int64_t outer = 1, inner = 1;
    for (int a = 0; a < axis; a++) outer *= s->dims[a];
    for (int a = (int)axis + 1; a < s->rank; a++) inner *= s->dims[a];
    kc_i(kc, outer);
    kc_i(kc, s->dims[axis]);
    kc_i(kc, inner);
}

static Status lower_reduce_op(const Node *n, KernelCall *kc, Diag *d)
{
    static const struct { Op op; int code; } codes[] = {
        {OP_ReduceSum, KILN_RED_SUM},       {OP_ReduceMean, KILN_RED_MEAN},
        {OP_ReduceMax, KILN_RED_MAX},       {OP_ReduceMin, KILN_RED_MIN},
        {OP_ReduceProd, KILN_RED_PROD},     {OP_ReduceL1, KILN_RED_L1},
        {OP_ReduceL2, KILN_RED_L2},         {OP_ReduceLogSum, KILN_RED_LOGSUM},
        {OP_ReduceLogSumExp, KILN_RED_LOGSUMEXP}, {OP_ReduceSumSquare, KILN_RED_SUMSQ},
    };
    const Shape *s = &n->in[0]->shape;
    bool mask[KILN_MAX_RANK];
    int code = -1;
    if (reduce_axes(n, mask, d)) return d->status;
    for (size_t i = 0; i < sizeof codes / sizeof *codes; i++)
        if (codes[i].op == n->op) code = codes[i].code;
    kc_i(kc, code);
    kc_i(kc, s->rank);
    kc_is(kc, s->dims, s->rank);
    for (int a = 0; a < s->rank; a++) kc_i(kc, mask[a]);
    switch (n->in[0]->dtype) {
    FLOAT_CASES(kiln_reduce) WIDE_INT_CASES(kiln_reduce) CASE(I8, kiln_reduce, i8) CASE(U8, kiln_reduce, u8)
    default: return no_kernel(n, n->in[0]->dtype, d);
    }
}

static Status lower_argminmax(const Node *n, KernelCall *kc, Diag *d)
{
    const Shape *s = &n->in[0]->shape;
    int64_t axis;
    norm_axis(attr_int(n, "axis", 0), s->rank, &axis);
    axis_split(kc, s, axis);
    kc_i(kc, attr_int(n, "select_last_index", 0) != 0);
    kc_i(kc, n->op == OP_ArgMin);
    switch (n->in[0]->dtype) {
    FLOAT_CASES(kiln_argminmax) WIDE_INT_CASES(kiln_argminmax)
    CASE(I8, kiln_argminmax, i8) CASE(U8, kiln_argminmax, u8) CASE(U64, kiln_argminmax, u64)
    default: return no_kernel(n, n->in[0]->dtype, d);
    }
}

static Status lower_topk(const Node *n, KernelCall *kc, Diag *d)
{
    const Shape *s = &n->in[0]->shape;
    const Value *y = n->out[0] ? n->out[0] : n->out[1];
    int64_t axis;
    norm_axis(attr_int(n, "axis", -1), s->rank, &axis);
    axis_split(kc, s, axis);
    kc_i(kc, y->shape.dims[axis]);
    kc_i(kc, attr_int(n, "largest", 1) != 0);
    kc->scratch = 2 * s->dims[axis] * (int64_t)sizeof(int64_t);
    switch (n->in[0]->dtype) {
    FLOAT_CASES(kiln_topk) WIDE_INT_CASES(kiln_topk)
    CASE(I8, kiln_topk, i8) CASE(U8, kiln_topk, u8) CASE(U64, kiln_topk, u64)
    default: return no_kernel(n, n->in[0]->dtype, d);
    }
}

static Status lower_cumsum(const Node *n, KernelCall *kc, Diag *d)
{
    const Shape *s = &n->in[0]->shape;
    int64_t axis;
    if (const_ints(n, 1, &axis, 1, d) != 1) return d->status ? d->status : ST_INTERNAL;
    norm_axis(axis, s->rank, &axis);
    axis_split(kc, s, axis);
    kc_i(kc, attr_int(n, "exclusive", 0) != 0);
    kc_i(kc, attr_int(n, "reverse", 0) != 0);
    switch (n->in[0]->dtype) {
    FLOAT_CASES(kiln_cumsum) WIDE_INT_CASES(kiln_cumsum) CASE(U64, kiln_cumsum, u64)
    default: return no_kernel(n, n->in[0]->dtype, d);
    }
}

const LowerRule lower_reduce[] = {
    {OP_ReduceSum, lower_reduce_op},
    {OP_ReduceMean, lower_reduce_op},
    {OP_ReduceMax, lower_reduce_op},
    {OP_ReduceMin, lower_reduce_op},
    {OP_ReduceProd, lower_reduce_op},
    {OP_ReduceL1, lower_reduce_op},
    {OP_ReduceL2, lower_reduce_op},
    {OP_ReduceLogSum, lower_reduce_op},
    {OP_ReduceLogSumExp, lower_reduce_op},
    {OP_ReduceSumSquare, lower_reduce_op},
    {OP_ArgMax, lower_argminmax},
    {OP_ArgMin, lower_argminmax},
    {OP_TopK, lower_topk},
    {OP_CumSum, lower_cumsum},
    {OP_COUNT_, NULL},
};
