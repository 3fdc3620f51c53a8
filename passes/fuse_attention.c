/* fuse_attention.c — scaled dot-product attention written out op by op
 * becomes one Attention node:
 *
 *   s = MatMul(Q, KT) [* c or / c] [+ mask]
 *   y = MatMul(Softmax(s, last axis), V)
 *
 * KT is whatever the first MatMul reads (usually a Transpose of K): the
 * Attention kernel takes K transposed, so no transpose is assumed or undone.
 * Every intermediate value must have no other reader. Then a Transpose that
 * only the Attention reads (of Q, KT or V: heads split out of a row) or that
 * alone reads it (heads merged back) and keeps the last axis last becomes
 * the node's perm_q, perm_k, perm_v or perm_y: the kernels read and write
 * through strides, and the copies are gone. */
#include "kiln.h"
#include "../kernels/c/fused.h"
#include "../ir/fused_plan.h"

/* s is MatMul(Q, KT), or that times or divided by a constant c: the MatMul and the scale node. */
static Node *scaled_scores(const Value *s, const Node *reader, double *scale, Node **scale_node)
{
    Node *p = live_producer(s, OP_COUNT_);
    double c;
    *scale = 1.0;
    *scale_node = NULL;
    if (!p || !only_use(s, reader)) return NULL;
    if (p->op == OP_Mul || p->op == OP_Div) {
        Value *v = p->in[0];
        if (value_scalar(p->in[1], &c)) v = p->in[0];
        else if (p->op == OP_Mul && value_scalar(p->in[0], &c)) v = p->in[1];
        else return NULL;
        if (c == 0) return NULL;
        *scale = p->op == OP_Mul ? c : 1 / c;
        *scale_node = p;
        reader = p;
        s = v;
        if (!(p = live_producer(s, OP_MatMul)) || !only_use(s, reader)) return NULL;
    }
    return p->op == OP_MatMul ? p : NULL;
}

/* The Transposes around Attention node f into its perm_* attributes. */
static void fold_transposes(Graph *g, Node *f)
{
    static const char *const names[3] = {"perm_q", "perm_k", "perm_v"};
    int64_t perm[KILN_MAX_RANK];
    int rank = f->out[0]->shape.rank;
    for (int k = 0; k < 3; k++) {
        Node *t = live_producer(f->in[k], OP_Transpose);
        if (!t || !only_use(f->in[k], f) || transpose_perm(t, perm) != rank) continue;
        node_set_ints(g, f, names[k], perm, rank);
        node_set_input(f, k, t->in[0]);
        node_remove(t);
    }
    Node *t = sole_user(f->out[0], OP_Transpose);
    if (t && transpose_perm(t, perm) == rank && perm[rank - 1] == rank - 1) {
        Value *y = t->out[0];
        node_set_ints(g, f, "perm_y", perm, rank);
        node_remove(t);
        node_set_output(f, 0, y);
    }
}

static Status fuse(Graph *g, Node *sm, Diag *d)
{
    const Value *x = sm->in[0];
    int64_t axis;
    if (!norm_axis(attr_int(sm, "axis", sm->opset < 13 ? 1 : -1), x->shape.rank, &axis) || axis != x->shape.rank - 1)
        return ST_OK;
    Node *mm2 = sole_user(sm->out[0], OP_MatMul), *mm1 = NULL, *scale_node = NULL, *mask_add = NULL;
    Value *mask = NULL;
    double scale = 1.0;
    if (!mm2 || mm2->in[0] != sm->out[0]) return ST_OK;
    Node *p = live_producer(x, OP_Add);
    if (p && only_use(x, sm)) /* scores + mask, either way round */
        for (int k = 0; k < 2 && !mm1; k++)
            if ((mm1 = scaled_scores(p->in[k], p, &scale, &scale_node))) {
                mask = p->in[1 - k];
                mask_add = p;
            }
    if (!mm1) mm1 = scaled_scores(x, sm, &scale, &scale_node);
    if (!mm1) return ST_OK;
    /* the Attention kernel must accept the operands and give the same result */
    Value *in[4] = {mm1->in[0], mm1->in[1], mm2->in[1], mask};
    Node probe = {.op = OP_Attention, .name = sm->name, .in = in, .nin = mask ? 4 : 3};
    FzAttention a;
    Diag ignore = {0};
    for (int k = 0; k < probe.nin; k++)
        if (!in[k]->typed) return ST_OK;
    if (fz_attention(&probe, &a, &ignore) || !shape_equal(&a.out, &mm2->out[0]->shape) ||
        mm2->out[0]->dtype != in[0]->dtype)
        return ST_OK;
    Node *f = fuse_replace(g, mm2, OP_Attention, probe.nin);
    for (int k = 0; k < probe.nin; k++) node_set_input(f, k, in[k]);
    node_add_attr(g, f, "scale", ATTR_FLOAT)->f = scale;
    Node *parts[] = {mm1, scale_node, mask_add, sm};
    for (size_t i = 0; i < sizeof parts / sizeof *parts; i++)
        if (parts[i]) node_remove(parts[i]);
    fold_transposes(g, f);
    return fuse_check(f, d);
}

Status pass_fuse_attention(Graph *g, Diag *d)
{
    for (int i = 0; i < g->nnodes; i++) {
        Node *n = g->nodes[i];
        if (!n->dead && n->op == OP_Softmax && n->out[0] && fuse(g, n, d)) return d->status;
    }
    graph_compact(g);
    return ST_OK;
}
