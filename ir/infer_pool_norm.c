/* infer_pool_norm.c — shape rules of the pool_norm operators (see ops.def). */
#include <string.h>

#include "kiln.h"

/* Attribute values above this are rejected, so geometry products stay far from overflow. */
#define ATTR_MAX ((int64_t)1 << 31)

static Status need_float(Node *n, int k, Diag *d)
{
    Value *v = n->in[k];
    if (!dtype_is_float(v->dtype))
        return diag_unsupported(d, n, "input %d ('%s') has type %s; kiln supports f16, bf16, f32, f64 here", k,
                                v->name, dtype_name(v->dtype));
    return ST_OK;
}

/* Optional input k, if present, must have X's dtype (kernels read one dtype) and numel elements. */
static Status need_param(Node *n, int k, int64_t numel, Diag *d)
{
    char b[128];
    if (!has_input(n, k)) return ST_OK;
    Value *v = n->in[k];
    if (v->dtype != n->in[0]->dtype)
        return diag_unsupported(d, n, "input %d ('%s') is %s but X is %s; kiln needs them alike", k, v->name,
                                dtype_name(v->dtype), dtype_name(n->in[0]->dtype));
    if (shape_numel(&v->shape) != numel)
        return diag_error(d, ST_INPUT, n, "input %d ('%s') has shape %s, expected %lld elements", k, v->name,
                          shape_str(&v->shape, b, sizeof b), (long long)numel);
    return ST_OK;
}

static Status need_rank(Node *n, int min, Diag *d)
{
    if (n->in[0]->shape.rank < min)
        return diag_error(d, ST_INPUT, n, "input X has rank %d, at least %d needed", n->in[0]->shape.rank, min);
    return ST_OK;
}

static void set_out(Node *n, int k, DType t, const Shape *s)
{
    if (k < n->nout && n->out[k]) value_set_type(n->out[k], t, s);
}

/* ---- pooling ----------------------------------------------------------- */

/* An ints attribute of nk values (default def for each), each in [lo, ATTR_MAX). */
static Status pool_ints(Node *n, const char *name, int nk, int64_t def, int64_t lo, int64_t *out, Diag *d)
{
    const int64_t *v;
    int c = attr_ints(n, name, &v);
    if (c >= 0 && c != nk)
        return diag_error(d, ST_INPUT, n, "attribute %s has %d values, expected %d", name, c, nk);
    for (int i = 0; i < nk; i++) {
        out[i] = c >= 0 ? v[i] : def;
        if (out[i] < lo || out[i] >= ATTR_MAX)
            return diag_error(d, ST_INPUT, n, "attribute %s[%d] = %lld is out of range", name, i, (long long)out[i]);
    }
    return ST_OK;
}

static Status infer_pool(Node *n, Diag *d)
{
    Value *x = n->in[0];
    const int64_t *ks;
    int64_t k[KILN_MAX_RANK], s[KILN_MAX_RANK], dil[KILN_MAX_RANK], pads[2 * KILN_MAX_RANK];
    Shape y = x->shape;
    Status st;
    bool maxpool = n->op == OP_MaxPool;
    if (!dtype_is_float(x->dtype) && !(maxpool && (x->dtype == KILN_DTYPE_I8 || x->dtype == KILN_DTYPE_U8)))
        return diag_unsupported(d, n, "input X has type %s; kiln supports f16, bf16, f32, f64%s here",
                                dtype_name(x->dtype), maxpool ? ", i8, u8" : "");
    int nk = attr_ints(n, "kernel_shape", &ks);
    if (nk < 1) return diag_error(d, ST_INPUT, n, "attribute kernel_shape is required");
    if (x->shape.rank != nk + 2)
        return diag_error(d, ST_INPUT, n, "input X has rank %d but kernel_shape has %d values (rank %d expected)",
                          x->shape.rank, nk, nk + 2);
    if ((st = pool_ints(n, "kernel_shape", nk, 1, 1, k, d)) || (st = pool_ints(n, "strides", nk, 1, 1, s, d)) ||
        (st = pool_ints(n, "dilations", nk, 1, 1, dil, d)) || (st = pool_ints(n, "pads", 2 * nk, 0, 0, pads, d)))
        return st;
    const char *ap = attr_str(n, "auto_pad", "NOTSET");
    int64_t ceil_mode = attr_int(n, "ceil_mode", 0);
    if (strcmp(ap, "NOTSET") && strcmp(ap, "VALID") && strcmp(ap, "SAME_UPPER") && strcmp(ap, "SAME_LOWER"))
        return diag_error(d, ST_INPUT, n, "attribute auto_pad = '%s' is not NOTSET, VALID, SAME_UPPER or SAME_LOWER", ap);
    if (ceil_mode != 0 && ceil_mode != 1) return diag_error(d, ST_INPUT, n, "attribute ceil_mode must be 0 or 1");
    if (attr_int(n, "storage_order", 0) != 0 && attr_int(n, "storage_order", 0) != 1)
        return diag_error(d, ST_INPUT, n, "attribute storage_order must be 0 or 1");
    if (n->op == OP_LpPool && attr_int(n, "p", 2) < 1)
        return diag_error(d, ST_INPUT, n, "attribute p must be at least 1");
    for (int i = 0; i < nk; i++) {
        int64_t in = x->shape.dims[i + 2], ext = (k[i] - 1) * dil[i] + 1, o;
        if (!strcmp(ap, "SAME_UPPER") || !strcmp(ap, "SAME_LOWER")) {
            o = (in + s[i] - 1) / s[i];
        } else {
            int64_t pb = strcmp(ap, "VALID") ? pads[i] : 0, pe = strcmp(ap, "VALID") ? pads[i + nk] : 0;
            if (pb >= ext || pe >= ext)
                return diag_error(d, ST_INPUT, n, "pads on spatial axis %d (%lld, %lld) must be smaller than the "
                                  "kernel (%lld)", i, (long long)pb, (long long)pe, (long long)ext);
            int64_t span = in + pb + pe - ext;
            if (span < 0)
                return diag_error(d, ST_INPUT, n, "the kernel (%lld) is larger than spatial axis %d (%lld with pads)",
                                  (long long)ext, i, (long long)(in + pb + pe));
            o = (ceil_mode && strcmp(ap, "VALID") ? (span + s[i] - 1) / s[i] : span / s[i]) + 1;
            /* ceil_mode: a last window starting in the end padding is dropped (as ORT and PyTorch) */
            if (ceil_mode && o > 1 && (o - 1) * s[i] >= in + pb) o--;
        }
        y.dims[i + 2] = o;
    }
    set_out(n, 0, x->dtype, &y);
    set_out(n, 1, KILN_DTYPE_I64, &y);
    return ST_OK;
}

static Status infer_global_pool(Node *n, Diag *d)
{
    Status st;
    Shape y = n->in[0]->shape;
    if ((st = need_float(n, 0, d)) || (st = need_rank(n, 2, d))) return st;
    if (n->op == OP_GlobalLpPool && attr_int(n, "p", 2) < 1)
        return diag_error(d, ST_INPUT, n, "attribute p must be at least 1");
    for (int i = 2; i < y.rank; i++) y.dims[i] = 1;
    set_out(n, 0, n->in[0]->dtype, &y);
    return ST_OK;
}

/* ---- normalization ----------------------------------------------------- */

static Status infer_batchnorm(Node *n, Diag *d)
{
    Status st;
    const Shape *x = &n->in[0]->shape;
    if ((st = need_float(n, 0, d)) || (st = need_rank(n, 2, d))) return st;
    if (attr_int(n, "training_mode", 0) != 0 || (n->opset < 7 && attr_int(n, "is_test", 0) == 0))
        return diag_unsupported(d, n, "training mode is not supported: kiln compiles inference only");
    for (int k = 1; k < n->nout; k++)
        if (n->out[k])
            return diag_unsupported(d, n, "output %d (running or saved statistics) exists only in training mode, "
                                    "which kiln does not support", k);
    /* spatial = 0 (opset < 9): statistics per element of [C, D1, ...] rather than per channel */
    int64_t per = x->dims[1];
    if (attr_int(n, "spatial", 1) == 0)
        for (int i = 2; i < x->rank; i++) per *= x->dims[i];
    for (int k = 1; k < 5; k++)
        if ((st = need_param(n, k, per, d))) return st;
    set_out(n, 0, n->in[0]->dtype, x);
    return ST_OK;
}

static Status infer_instnorm(Node *n, Diag *d)
{
    Status st;
    if ((st = need_float(n, 0, d)) || (st = need_rank(n, 2, d)) ||
        (st = need_param(n, 1, n->in[0]->shape.dims[1], d)) || (st = need_param(n, 2, n->in[0]->shape.dims[1], d)))
        return st;
    set_out(n, 0, n->in[0]->dtype, &n->in[0]->shape);
    return ST_OK;
}

/* Scale or B of LayerNormalization must broadcast to X's dims from axis on (leading 1s allowed). */
static Status need_norm_broadcast(Node *n, int k, int64_t axis, Diag *d)
{
    char b[128];
    const Shape *x = &n->in[0]->shape, *p = &n->in[k]->shape;
    if (n->in[k]->dtype != n->in[0]->dtype)
        return diag_unsupported(d, n, "input %d ('%s') is %s but X is %s; kiln needs them alike", k,
                                n->in[k]->name, dtype_name(n->in[k]->dtype), dtype_name(n->in[0]->dtype));
    for (int i = 0; i < p->rank; i++) {
        int xi = x->rank - p->rank + i;
        int64_t pd = p->dims[i];
        if (pd != 1 && (xi < axis || pd != x->dims[xi]))
            return diag_error(d, ST_INPUT, n, "input %d ('%s') of shape %s does not broadcast to the normalized "
                              "axes %lld.. of X", k, n->in[k]->name, shape_str(p, b, sizeof b), (long long)axis);
    }
    return ST_OK;
}

static Status infer_layernorm(Node *n, Diag *d)
{
    Status st;
    int64_t axis;
    Shape stat = n->in[0]->shape;
    if ((st = need_float(n, 0, d))) return st;
    if (!norm_axis(attr_int(n, "axis", -1), stat.rank, &axis) || stat.rank == 0)
        return diag_error(d, ST_INPUT, n, "attribute axis = %lld is out of range for rank %d",
                          (long long)attr_int(n, "axis", -1), stat.rank);
    if (attr_int(n, "stash_type", 1) != 1)
        return diag_unsupported(d, n, "stash_type %lld is not supported (only 1, float)",
                                (long long)attr_int(n, "stash_type", 1));
    if ((st = need_norm_broadcast(n, 1, axis, d)) || (has_input(n, 2) && (st = need_norm_broadcast(n, 2, axis, d))))
        return st;
    for (int i = (int)axis; i < stat.rank; i++) stat.dims[i] = 1;
    set_out(n, 0, n->in[0]->dtype, &n->in[0]->shape);
    set_out(n, 1, KILN_DTYPE_F32, &stat);
    set_out(n, 2, KILN_DTYPE_F32, &stat);
    return ST_OK;
}

static Status infer_lpnorm(Node *n, Diag *d)
{
    Status st;
    int64_t axis, p = attr_int(n, "p", 2);
    if ((st = need_float(n, 0, d)) || (st = need_rank(n, 1, d))) return st;
    if (!norm_axis(attr_int(n, "axis", -1), n->in[0]->shape.rank, &axis))
        return diag_error(d, ST_INPUT, n, "attribute axis is out of range");
    if (p != 1 && p != 2) return diag_error(d, ST_INPUT, n, "attribute p = %lld; it must be 1 or 2", (long long)p);
    set_out(n, 0, n->in[0]->dtype, &n->in[0]->shape);
    return ST_OK;
}

static Status infer_mvn(Node *n, Diag *d)
{
    Status st;
    static const int64_t def[] = {0, 2, 3};
    const int64_t *axes = def;
    int na = attr_ints(n, "axes", &axes), rank = n->in[0]->shape.rank;
    bool seen[KILN_MAX_RANK] = {0};
    if (na < 0) axes = def, na = 3;
    if ((st = need_float(n, 0, d))) return st;
    for (int i = 0; i < na; i++) {
        int64_t a;
        if (!norm_axis(axes[i], rank, &a) || rank == 0)
            return diag_error(d, ST_INPUT, n, "axis %lld is out of range for rank %d", (long long)axes[i], rank);
        if (seen[a]) return diag_error(d, ST_INPUT, n, "axis %lld is repeated", (long long)axes[i]);
        seen[a] = true;
    }
    set_out(n, 0, n->in[0]->dtype, &n->in[0]->shape);
    return ST_OK;
}

static Status infer_lrn(Node *n, Diag *d)
{
    Status st;
    if ((st = need_float(n, 0, d)) || (st = need_rank(n, 2, d))) return st;
    if (!attr_get(n, "size")) return diag_error(d, ST_INPUT, n, "attribute size is required");
    if (attr_int(n, "size", 0) < 1) return diag_error(d, ST_INPUT, n, "attribute size must be at least 1");
    set_out(n, 0, n->in[0]->dtype, &n->in[0]->shape);
    return ST_OK;
}

/* Softmax, LogSoftmax, Hardmax: opset < 13 flattens to 2-D at axis (default 1), later ones act on one axis. */
static Status infer_softmax(Node *n, Diag *d)
{
    Status st;
    int64_t axis, def = n->opset < 13 ? 1 : -1;
    int rank = n->in[0]->shape.rank;
    if ((st = need_float(n, 0, d))) return st;
    if (rank > 0 && !norm_axis(attr_int(n, "axis", def), rank, &axis))
        return diag_error(d, ST_INPUT, n, "attribute axis = %lld is out of range for rank %d",
                          (long long)attr_int(n, "axis", def), rank);
    set_out(n, 0, n->in[0]->dtype, &n->in[0]->shape);
    return ST_OK;
}

/* ---- losses ------------------------------------------------------------ */

static Status infer_loss(Node *n, Diag *d)
{
    Status st;
    char b1[128], b2[128];
    const Shape *x = &n->in[0]->shape, *t = &n->in[1]->shape;
    const char *red = attr_str(n, "reduction", "mean");
    if ((st = need_float(n, 0, d)) || (st = need_rank(n, 2, d))) return st;
    if (n->in[1]->dtype != KILN_DTYPE_I32 && n->in[1]->dtype != KILN_DTYPE_I64)
        return diag_error(d, ST_INPUT, n, "target must be i32 or i64, not %s", dtype_name(n->in[1]->dtype));
    bool ok = t->rank == x->rank - 1 && t->dims[0] == x->dims[0];
    for (int i = 1; ok && i < t->rank; i++) ok = t->dims[i] == x->dims[i + 1];
    if (!ok)
        return diag_error(d, ST_INPUT, n, "target shape %s does not match input shape %s without its axis 1",
                          shape_str(t, b1, sizeof b1), shape_str(x, b2, sizeof b2));
    if ((st = need_param(n, 2, x->dims[1], d))) return st;
    if (strcmp(red, "none") && strcmp(red, "sum") && strcmp(red, "mean"))
        return diag_error(d, ST_INPUT, n, "attribute reduction = '%s' is not none, sum or mean", red);
    Shape scalar = {.rank = 0};
    set_out(n, 0, n->in[0]->dtype, strcmp(red, "none") ? &scalar : t);
    set_out(n, 1, n->in[0]->dtype, x);
    return ST_OK;
}

const InferRule infer_pool_norm[] = {
    {OP_MaxPool, infer_pool},
    {OP_AveragePool, infer_pool},
    {OP_LpPool, infer_pool},
    {OP_GlobalAveragePool, infer_global_pool},
    {OP_GlobalMaxPool, infer_global_pool},
    {OP_GlobalLpPool, infer_global_pool},
    {OP_BatchNormalization, infer_batchnorm},
    {OP_InstanceNormalization, infer_instnorm},
    {OP_LayerNormalization, infer_layernorm},
    {OP_LpNormalization, infer_lpnorm},
    {OP_MeanVarianceNormalization, infer_mvn},
    {OP_LRN, infer_lrn},
    {OP_Softmax, infer_softmax},
    {OP_LogSoftmax, infer_softmax},
    {OP_Hardmax, infer_softmax},
    {OP_SoftmaxCrossEntropyLoss, infer_loss},
    {OP_NegativeLogLikelihoodLoss, infer_loss},
    {OP_COUNT_, NULL},
};
