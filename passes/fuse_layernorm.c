/* fuse_layernorm.c — layer normalisation written out op by op, as
 * PyTorch exports it below opset 17, becomes one LayerNormalization:
 *
 *   m = ReduceMean(x, trailing axes)      d = x - m
 *   v = ReduceMean(d^2 or d * d)           (same axes)
 *   y = d / Sqrt(v + eps) [* gamma] [+ beta]
 *
 * Every intermediate value must have no other reader (d has exactly the
 * two); gamma and beta must broadcast as LayerNormalization's Scale and B.
 * Without a gamma, a constant of ones stands in. */
#include <stdlib.h>

#include "kiln.h"

/* ReduceMean over the trailing axes from some axis, keeping dims: that axis, or -1. */
static int trailing_mean(const Node *n)
{
    bool mask[KILN_MAX_RANK];
    Diag ignore = {0};
    int rank = n->in[0]->shape.rank, axis = rank;
    if (n->op != OP_ReduceMean || !attr_int(n, "keepdims", 1) || reduce_axes(n, mask, &ignore)) return -1;
    while (axis > 0 && mask[axis - 1]) axis--;
    for (int a = 0; a < axis; a++)
        if (mask[a]) return -1;
    return axis < rank ? axis : -1;
}

/* p broadcasts to x's dims from axis on (leading 1s allowed), as Scale and B must. */
static bool norm_param(const Value *p, const Value *x, int axis)
{
    if (!p || !p->typed || p->dtype != x->dtype || p->shape.rank > x->shape.rank) return false;
    for (int i = 0; i < p->shape.rank; i++) {
        int xi = x->shape.rank - p->shape.rank + i;
        if (p->shape.dims[i] != 1 && (xi < axis || p->shape.dims[i] != x->shape.dims[xi])) return false;
    }
    return true;
}

/* d * d or d ^ 2, read only by rm. */
static bool is_square(const Value *s, const Value *dv)
{
    Node *p = live_producer(s, OP_COUNT_);
    if (!p || p->nin != 2 || p->in[0] != dv) return false;
    return (p->op == OP_Mul && p->in[1] == dv) || (p->op == OP_Pow && const_near(p->in[1], 2.0));
}

static Status fuse(Graph *g, Node *m1, Diag *d)
{
    Value *x = m1->in[0];
    int axis = trailing_mean(m1);
    Node *sub = sole_user(m1->out[0], OP_Sub), *sq = NULL, *div = NULL, *m2, *add, *sqrt_, *mul, *badd;
    double eps;
    if (axis < 0 || !sub || sub->in[0] != x || sub->in[1] != m1->out[0] || !dtype_is_float(x->dtype)) return ST_OK;
    Value *dv = sub->out[0];
    if (dv->is_output) return ST_OK;
    for (int u = 0; u < dv->nusers; u++) { /* d * d lists its reader twice */
        Node *r = dv->users[u];
        if (r->op == OP_Div && r->in[0] == dv && r->in[1] != dv && (!div || div == r)) div = r;
        else if (is_square(r->out[0], dv) && (!sq || sq == r)) sq = r;
        else return ST_OK;
    }
    if (!sq || !div || !(m2 = sole_user(sq->out[0], OP_ReduceMean)) || trailing_mean(m2) != axis ||
        !(add = sole_user(m2->out[0], OP_Add)) || !value_scalar(other_operand(add, m2->out[0]), &eps) ||
        !(sqrt_ = sole_user(add->out[0], OP_Sqrt)) || sole_user(sqrt_->out[0], OP_Div) != div || div->in[1] != sqrt_->out[0])
        return ST_OK;
    Node *root = div;
    Value *gamma = NULL, *beta = NULL;
    if ((mul = sole_user(div->out[0], OP_Mul)) && norm_param(gamma = other_operand(mul, div->out[0]), x, axis)) {
        root = mul;
        if ((badd = sole_user(mul->out[0], OP_Add)) && norm_param(beta = other_operand(badd, mul->out[0]), x, axis))
            root = badd;
        else
            beta = NULL;
    } else {
        gamma = NULL;
        mul = NULL;
    }
    if (!shape_equal(&root->out[0]->shape, &x->shape)) return ST_OK;
    if (!gamma) { /* LayerNormalization's Scale is not optional */
        Shape s = shape_make(x->shape.rank - axis, x->shape.dims + axis);
        size_t n = (size_t)shape_numel(&s);
        void *ones = calloc(n ? n : 1, dtype_size(x->dtype));
        if (!ones) return diag_error(d, ST_INTERNAL, NULL, "out of memory");
        for (size_t i = 0; i < n; i++) dtype_store_f64(x->dtype, ones, i, 1.0);
        gamma = new_const(g, "ones", x->dtype, &s, ones);
        free(ones);
        if (!gamma) return diag_error(d, ST_INTERNAL, NULL, "out of memory");
    }
    Node *f = fuse_replace(g, root, OP_LayerNormalization, beta ? 3 : 2);
    node_set_input(f, 0, x);
    node_set_input(f, 1, gamma);
    if (beta) node_set_input(f, 2, beta);
    if (f->opset < 17) f->opset = 17;
    node_add_attr(g, f, "axis", ATTR_INT)->i = axis;
    node_add_attr(g, f, "epsilon", ATTR_FLOAT)->f = eps;
    Node *parts[] = {m1, sub, sq, m2, add, sqrt_, div, mul};
    for (size_t i = 0; i < sizeof parts / sizeof *parts; i++)
        if (parts[i] && parts[i] != root && !parts[i]->dead) node_remove(parts[i]);
    return fuse_check(f, d);
}

Status pass_fuse_layernorm(Graph *g, Diag *d)
{
    for (int i = 0; i < g->nnodes; i++) {
        Node *n = g->nodes[i];
        if (!n->dead && n->op == OP_ReduceMean && fuse(g, n, d)) return d->status;
    }
    graph_compact(g);
    return ST_OK;
}
