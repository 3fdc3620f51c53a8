/* infer_reduce.c — shape rules of the reduce operators (see ops.def). */
#include "kiln.h"

static bool numeric(DType t)
{
    return dtype_is_float(t) || dtype_is_int(t);
}

/*
 * The axes a Reduce* node reduces, as a mask over the input's axes. Axes come
 * from the second input (ReduceSum from opset 13, the others from 18) or the
 * attribute; none means all, unless noop_with_empty_axes asks for none.
 * Shared with codegen/lower_reduce.c, which needs the same mask.
 */
Status reduce_axes(const Node *n, bool mask[KILN_MAX_RANK], Diag *d)
{
    int rank = n->in[0]->shape.rank, count;
    int64_t buf[KILN_MAX_RANK * 4];
    const int64_t *axes = buf;
    if (has_input(n, 1)) {
        count = const_ints(n, 1, buf, KILN_MAX_RANK * 4, d);
        if (count < 0) return d->status;
    } else {
        count = attr_ints(n, "axes", &axes);
        if (count < 0) count = 0;
    }
    bool all = count == 0 && !attr_int(n, "noop_with_empty_axes", 0);
    for (int a = 0; a < rank; a++) mask[a] = all;
    for (int i = 0; i < count; i++) {
        int64_t a;
        if (!norm_axis(axes[i], rank, &a) || a >= rank)
            return diag_error(d, ST_INPUT, n, "axis %lld is out of range for rank %d", (long long)axes[i], rank);
        if (mask[a]) return diag_error(d, ST_INPUT, n, "axis %lld is repeated", (long long)axes[i]);
        mask[a] = true;
    }
    return ST_OK;
}

static Status infer_reduce_op(Node *n, Diag *d)
{
    const Value *x = n->in[0];
    bool mask[KILN_MAX_RANK];
    if (!numeric(x->dtype)) return diag_unsupported(d, n, "%s of %s is not supported", op_info[n->op].name,
                                                    dtype_name(x->dtype));
    if (reduce_axes(n, mask, d)) return d->status;
    bool keep = attr_int(n, "keepdims", 1) != 0;
    Shape s = {0};
    for (int a = 0; a < x->shape.rank; a++) {
        if (!mask[a]) s.dims[s.rank++] = x->shape.dims[a];
        else if (keep) s.dims[s.rank++] = 1;
    }
    value_set_type(n->out[0], x->dtype, &s);
    return ST_OK;
}

/* The axis attribute of ArgMax/ArgMin, or the second input of CumSum, normalised. */
static Status one_axis(const Node *n, int64_t axis, int64_t *out, Diag *d)
{
    int rank = n->in[0]->shape.rank;
    if (!norm_axis(axis, rank, out) || *out >= rank)
        return diag_error(d, ST_INPUT, n, "axis %lld is out of range for rank %d", (long long)axis, rank);
    return ST_OK;
}

static Status infer_argminmax(Node *n, Diag *d)
{
    const Value *x = n->in[0];
    int64_t axis;
    if (!numeric(x->dtype)) return diag_unsupported(d, n, "%s of %s is not supported", op_info[n->op].name,
                                                    dtype_name(x->dtype));
    if (one_axis(n, attr_int(n, "axis", 0), &axis, d)) return d->status;
    if (x->shape.dims[axis] == 0)
        return diag_error(d, ST_INPUT, n, "axis %lld is empty: no element to pick", (long long)axis);
    Shape s = x->shape;
    s.dims[axis] = 1;
    if (!attr_int(n, "keepdims", 1)) {
        for (int a = (int)axis; a + 1 < s.rank; a++) s.dims[a] = s.dims[a + 1];
        s.rank--;
    }
    value_set_type(n->out[0], KILN_DTYPE_I64, &s);
    return ST_OK;
}

static Status infer_topk(Node *n, Diag *d)
{
    const Value *x = n->in[0];
    int64_t axis, k;
    if (!numeric(x->dtype)) return diag_unsupported(d, n, "TopK of %s is not supported", dtype_name(x->dtype));
    if (one_axis(n, attr_int(n, "axis", -1), &axis, d)) return d->status;
    int cnt = const_ints(n, 1, &k, 1, d);
    if (cnt < 0) return d->status;
    if (cnt != 1 || n->in[1]->shape.rank > 1)
        return diag_error(d, ST_INPUT, n, "K must be a tensor of one element, of rank 1");
    if (k < 0 || k > x->shape.dims[axis])
        return diag_error(d, ST_INPUT, n, "K = %lld is outside [0, %lld], the size of axis %lld", (long long)k,
                          (long long)x->shape.dims[axis], (long long)axis);
    Shape s = x->shape;
    s.dims[axis] = k;
    if (n->out[0]) value_set_type(n->out[0], x->dtype, &s);
    if (n->out[1]) value_set_type(n->out[1], KILN_DTYPE_I64, &s);
    return ST_OK;
}

static Status infer_cumsum(Node *n, Diag *d)
{
    const Value *x = n->in[0];
    int64_t axis, a;
    DType t = x->dtype;
    if (!(dtype_is_float(t) || t == KILN_DTYPE_I32 || t == KILN_DTYPE_I64 || t == KILN_DTYPE_U32 ||
          t == KILN_DTYPE_U64))
        return diag_unsupported(d, n, "CumSum of %s is not supported", dtype_name(t));
    int cnt = const_ints(n, 1, &axis, 1, d);
    if (cnt < 0) return d->status;
    if (cnt != 1) return diag_error(d, ST_INPUT, n, "axis must have one element, not %d", cnt);
    if (one_axis(n, axis, &a, d)) return d->status;
    value_set_type(n->out[0], t, &x->shape);
    return ST_OK;
}

const InferRule infer_reduce[] = {
    {OP_ReduceSum, infer_reduce_op},
    {OP_ReduceMean, infer_reduce_op},
    {OP_ReduceMax, infer_reduce_op},
    {OP_ReduceMin, infer_reduce_op},
    {OP_ReduceProd, infer_reduce_op},
    {OP_ReduceL1, infer_reduce_op},
    {OP_ReduceL2, infer_reduce_op},
    {OP_ReduceLogSum, infer_reduce_op},
    {OP_ReduceLogSumExp, infer_reduce_op},
    {OP_ReduceSumSquare, infer_reduce_op},
    {OP_ArgMax, infer_argminmax},
    {OP_ArgMin, infer_argminmax},
    {OP_TopK, infer_topk},
    {OP_CumSum, infer_cumsum},
    {OP_COUNT_, NULL},
};
