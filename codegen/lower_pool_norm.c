/* lower_pool_norm.c — kernel choice and parameters for the pool_norm operators.
 * The parameter layouts are documented above each core in kernels/c/pool_norm.h;
 * the shape rules in ir/infer_pool_norm.c have already validated every attribute. */
#include <string.h>

#include "kiln.h"
#include "../kernels/c/pool_norm.h"

/* kiln_NAME_<dtype of t>, or no kernel (pick_done then says so). */
#define PICK(kc, t, name)                                                                    \
    do {                                                                                     \
        switch (t) {                                                                         \
        case KILN_DTYPE_F32: KC_KERNEL(kc, "pool_norm", kiln_##name##_f32); break;           \
        case KILN_DTYPE_F64: KC_KERNEL(kc, "pool_norm", kiln_##name##_f64); break;           \
        case KILN_DTYPE_F16: KC_KERNEL(kc, "pool_norm", kiln_##name##_f16); break;           \
        case KILN_DTYPE_BF16: KC_KERNEL(kc, "pool_norm", kiln_##name##_bf16); break;         \
        default: break;                                                                      \
        }                                                                                    \
    } while (0)

static Status pick_done(const Node *n, KernelCall *kc, Diag *d)
{
    if (!kc->fn)
        return diag_unsupported(d, n, "kiln has no %s kernel for %s", op_info[n->op].name,
                                dtype_name(n->in[0]->dtype));
    return ST_OK;
}

static bool out_present(const Node *n, int k)
{
    return k < n->nout && n->out[k];
}

static int64_t prod(const Shape *s, int from, int to)
{
    int64_t p = 1;
    for (int i = from; i < to; i++) p *= s->dims[i];
    return p;
}

/* Append X viewed as [outer, n, inner] around axis (opset < 13 softmax: [outer, n*inner, 1]). */
static void around_axis(KernelCall *kc, const Shape *x, int64_t axis, bool flatten)
{
    if (x->rank == 0) {
        kc_is(kc, (const int64_t[]){1, 1, 1}, 3);
        return;
    }
    int a = (int)(axis < 0 ? axis + x->rank : axis);
    kc_i(kc, prod(x, 0, a));
    kc_i(kc, flatten ? prod(x, a, x->rank) : x->dims[a]);
    kc_i(kc, flatten ? 1 : prod(x, a + 1, x->rank));
}

/* ---- pooling ----------------------------------------------------------- */

static void ints_or(const Node *n, const char *name, int nk, int64_t def, int64_t *out)
{
    const int64_t *v;
    bool has = attr_ints(n, name, &v) == nk;
    for (int i = 0; i < nk; i++) out[i] = has ? v[i] : def;
}

/* Whether a --cpu target gets the f32 row kernels (kernels/c/pool_norm.h). */
static bool rows_f32(const Node *n, const KernelCall *kc)
{
    return !kc->reference && codegen_cpu && n->in[0]->dtype == KILN_DTYPE_F32;
}

static Status lower_pool(const Node *n, KernelCall *kc, Diag *d)
{
    const Shape *x = &n->in[0]->shape, *y = &n->out[0]->shape;
    int nsp = x->rank - 2;
    int64_t k[KILN_MAX_RANK], s[KILN_MAX_RANK], dil[KILN_MAX_RANK], pads[2 * KILN_MAX_RANK];
    bool global = n->op == OP_GlobalAveragePool || n->op == OP_GlobalMaxPool || n->op == OP_GlobalLpPool;
    int mode = n->op == OP_MaxPool || n->op == OP_GlobalMaxPool ? 0
               : n->op == OP_AveragePool || n->op == OP_GlobalAveragePool ? 1 : 2;
    if (n->op == OP_GlobalAveragePool && rows_f32(n, kc)) {
        KC_KERNEL(kc, "pool_norm", kiln_gap_rows_f32);
        kc_is(kc, (const int64_t[]){prod(x, 0, 2), prod(x, 2, x->rank)}, 2);
        return ST_OK;
    }
    if (global) {
        for (int i = 0; i < nsp; i++) k[i] = x->dims[i + 2], s[i] = dil[i] = 1, pads[i] = pads[i + nsp] = 0;
    } else {
        const char *ap = attr_str(n, "auto_pad", "NOTSET");
        ints_or(n, "kernel_shape", nsp, 1, k);
        ints_or(n, "strides", nsp, 1, s);
        ints_or(n, "dilations", nsp, 1, dil);
        ints_or(n, "pads", 2 * nsp, 0, pads);
        for (int i = 0; i < nsp; i++) {
            int64_t total = (y->dims[i + 2] - 1) * s[i] + (k[i] - 1) * dil[i] + 1 - x->dims[i + 2];
            if (total < 0) total = 0;
            if (!strcmp(ap, "VALID")) pads[i] = pads[i + nsp] = 0;
            if (!strcmp(ap, "SAME_UPPER")) pads[i] = total / 2, pads[i + nsp] = total - total / 2;
            if (!strcmp(ap, "SAME_LOWER")) pads[i] = total - total / 2, pads[i + nsp] = total / 2;
        }
    }
    if (mode == 0 && (n->in[0]->dtype == KILN_DTYPE_I8 || n->in[0]->dtype == KILN_DTYPE_U8)) {
        if (n->in[0]->dtype == KILN_DTYPE_I8) KC_KERNEL(kc, "pool_norm", kiln_pool_i8);
        else KC_KERNEL(kc, "pool_norm", kiln_pool_u8);
    } else {
        PICK(kc, n->in[0]->dtype, pool);
    }
    kc_i(kc, mode);
    kc_i(kc, nsp);
    kc_i(kc, x->dims[0] * x->dims[1]);
    kc_i(kc, n->op == OP_AveragePool ? attr_int(n, "count_include_pad", 0) : 0);
    kc_i(kc, n->op == OP_MaxPool ? attr_int(n, "storage_order", 0) : 0);
    kc_i(kc, out_present(n, 1));
    kc_is(kc, x->dims + 2, nsp);
    kc_is(kc, y->dims + 2, nsp);
    kc_is(kc, k, nsp);
    kc_is(kc, s, nsp);
    kc_is(kc, dil, nsp);
    kc_is(kc, pads, nsp);
    kc_is(kc, pads + nsp, nsp);
    kc_f(kc, (double)attr_int(n, "p", 2));
    return pick_done(n, kc, d);
}

/* ---- normalization ----------------------------------------------------- */

static Status lower_batchnorm(const Node *n, KernelCall *kc, Diag *d)
{
    const Shape *x = &n->in[0]->shape;
    int64_t c = x->dims[1], inner = prod(x, 2, x->rank);
    if (attr_int(n, "spatial", 1) == 0) c *= inner, inner = 1; /* per-element statistics */
    PICK(kc, n->in[0]->dtype, batchnorm);
    kc_is(kc, (const int64_t[]){x->dims[0], c, inner}, 3);
    kc_f(kc, attr_float(n, "epsilon", 1e-5));
    return pick_done(n, kc, d);
}

static Status lower_instnorm(const Node *n, KernelCall *kc, Diag *d)
{
    const Shape *x = &n->in[0]->shape;
    PICK(kc, n->in[0]->dtype, instnorm);
    kc_is(kc, (const int64_t[]){x->dims[0], x->dims[1], prod(x, 2, x->rank)}, 3);
    kc_f(kc, attr_float(n, "epsilon", 1e-5));
    return pick_done(n, kc, d);
}

/* Strides of input k over the normalized axes [axis, rank) of X, 0 where it broadcasts. */
static void norm_strides(const Node *n, int k, int axis, KernelCall *kc)
{
    const Shape *x = &n->in[0]->shape;
    int nr = x->rank - axis;
    int64_t st[KILN_MAX_RANK] = {0}, run = 1;
    if (has_input(n, k)) {
        const Shape *p = &n->in[k]->shape;
        for (int i = nr - 1, j = p->rank - 1; i >= 0 && j >= 0; i--, j--) {
            st[i] = p->dims[j] == 1 ? 0 : run;
            run *= p->dims[j];
        }
    }
    kc_is(kc, st, nr);
}

static Status lower_layernorm(const Node *n, KernelCall *kc, Diag *d)
{
    const Shape *x = &n->in[0]->shape;
    int64_t axis = attr_int(n, "axis", -1);
    int a = (int)(axis < 0 ? axis + x->rank : axis);
    int64_t inner = prod(x, a, x->rank);
    /* Scale and B as large as a row are dense over it */
    if (rows_f32(n, kc) && shape_numel(&n->in[1]->shape) == inner &&
        (!has_input(n, 2) || shape_numel(&n->in[2]->shape) == inner)) {
        KC_KERNEL(kc, "pool_norm", kiln_layernorm_rows_f32);
        kc_is(kc, (const int64_t[]){prod(x, 0, a), inner, has_input(n, 2), out_present(n, 1), out_present(n, 2)}, 5);
        kc_f(kc, attr_float(n, "epsilon", 1e-5));
        return ST_OK;
    }
    PICK(kc, n->in[0]->dtype, layernorm);
    kc_is(kc, (const int64_t[]){prod(x, 0, a), prod(x, a, x->rank), x->rank - a}, 3);
    kc_is(kc, (const int64_t[]){has_input(n, 2), out_present(n, 1), out_present(n, 2)}, 3);
    kc_is(kc, x->dims + a, x->rank - a);
    norm_strides(n, 1, a, kc);
    norm_strides(n, 2, a, kc);
    kc_f(kc, attr_float(n, "epsilon", 1e-5));
    return pick_done(n, kc, d);
}

static Status lower_lpnorm(const Node *n, KernelCall *kc, Diag *d)
{
    PICK(kc, n->in[0]->dtype, lpnorm);
    around_axis(kc, &n->in[0]->shape, attr_int(n, "axis", -1), false);
    kc_i(kc, attr_int(n, "p", 2));
    return pick_done(n, kc, d);
}

static Status lower_mvn(const Node *n, KernelCall *kc, Diag *d)
{
    static const int64_t def[] = {0, 2, 3};
    const Shape *x = &n->in[0]->shape;
    const int64_t *axes = def;
    int na = attr_ints(n, "axes", &axes);
    bool red[KILN_MAX_RANK] = {0};
    int64_t gs[KILN_MAX_RANK], ng = 1;
    if (na < 0) axes = def, na = 3;
    for (int i = 0; i < na; i++) red[axes[i] < 0 ? axes[i] + x->rank : axes[i]] = true;
    for (int i = x->rank - 1; i >= 0; i--) {
        gs[i] = red[i] ? 0 : ng;
        if (!red[i]) ng *= x->dims[i];
    }
    PICK(kc, n->in[0]->dtype, mvn);
    kc_is(kc, (const int64_t[]){x->rank, ng, ng ? shape_numel(x) / ng : 0}, 3);
    kc_is(kc, x->dims, x->rank);
    kc_is(kc, gs, x->rank);
    kc->scratch = 2 * ng * (int64_t)sizeof(double);
    return pick_done(n, kc, d);
}

static Status lower_lrn(const Node *n, KernelCall *kc, Diag *d)
{
    const Shape *x = &n->in[0]->shape;
    PICK(kc, n->in[0]->dtype, lrn);
    kc_is(kc, (const int64_t[]){x->dims[0], x->dims[1], prod(x, 2, x->rank), attr_int(n, "size", 1)}, 4);
    kc_f(kc, attr_float(n, "alpha", 1e-4));
    kc_f(kc, attr_float(n, "beta", 0.75));
    kc_f(kc, attr_float(n, "bias", 1.0));
    return pick_done(n, kc, d);
}

static Status lower_softmax(const Node *n, KernelCall *kc, Diag *d)
{
    int64_t def = n->opset < 13 ? 1 : -1;
    PICK(kc, n->in[0]->dtype, softmax);
    around_axis(kc, &n->in[0]->shape, attr_int(n, "axis", def), n->opset < 13);
    kc_i(kc, n->op == OP_Softmax ? 0 : n->op == OP_LogSoftmax ? 1 : 2);
    if (rows_f32(n, kc) && kc->p[2] == 1 && n->op != OP_Hardmax) KC_KERNEL(kc, "pool_norm", kiln_softmax_rows_f32);
    return pick_done(n, kc, d);
}

/* ---- losses ------------------------------------------------------------ */

static Status lower_loss(const Node *n, KernelCall *kc, Diag *d)
{
    const Shape *x = &n->in[0]->shape;
    const char *red = attr_str(n, "reduction", "mean");
    PICK(kc, n->in[0]->dtype, nllloss);
    kc_is(kc, (const int64_t[]){x->dims[0], x->dims[1], prod(x, 2, x->rank)}, 3);
    kc_i(kc, !strcmp(red, "none") ? 0 : !strcmp(red, "sum") ? 1 : 2);
    kc_i(kc, attr_get(n, "ignore_index") != NULL);
    kc_i(kc, attr_int(n, "ignore_index", 0));
    kc_i(kc, n->in[1]->dtype == KILN_DTYPE_I32);
    kc_i(kc, n->op == OP_SoftmaxCrossEntropyLoss);
    kc_i(kc, has_input(n, 2));
    kc_i(kc, n->op == OP_SoftmaxCrossEntropyLoss && out_present(n, 1));
    return pick_done(n, kc, d);
}

const LowerRule lower_pool_norm[] = {
    {OP_MaxPool, lower_pool},
    {OP_AveragePool, lower_pool},
    {OP_LpPool, lower_pool},
    {OP_GlobalAveragePool, lower_pool},
    {OP_GlobalMaxPool, lower_pool},
    {OP_GlobalLpPool, lower_pool},
    {OP_BatchNormalization, lower_batchnorm},
    {OP_InstanceNormalization, lower_instnorm},
    {OP_LayerNormalization, lower_layernorm},
    {OP_LpNormalization, lower_lpnorm},
    {OP_MeanVarianceNormalization, lower_mvn},
    {OP_LRN, lower_lrn},
    {OP_Softmax, lower_softmax},
    {OP_LogSoftmax, lower_softmax},
    {OP_Hardmax, lower_softmax},
    {OP_SoftmaxCrossEntropyLoss, lower_loss},
    {OP_NegativeLogLikelihoodLoss, lower_loss},
    {OP_COUNT_, NULL},
};
