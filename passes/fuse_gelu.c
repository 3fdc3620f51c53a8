/* fuse_gelu.c — the GELU formulas exporters write out op by op become one
 * Gelu node:
 *
 *   x * 0.5 * (1 + Erf(x / sqrt(2)))                         (approximate "none")
 *   x * 0.5 * (1 + Tanh(sqrt(2/pi) * (x + 0.044715 * x^3)))  (approximate "tanh")
 *
 * in the orders PyTorch and TensorFlow exporters use: x / sqrt(2) or
 * x * (1/sqrt(2)); x^3 as Pow(x, 3) or x * x * x; the product
 * (x * 0.5) * s, (x * s) * 0.5 or (s * 0.5) * x, operands either way round.
 * Every intermediate value must have no other reader. */
#include <math.h>

#include "kiln.h"

/* A binary node of op that reads v, whose other operand is returned. */
static Value *with(const Node *n, Op op, const Value *v)
{
    return n && n->op == op ? other_operand(n, v) : NULL;
}

/* Mul(a, b) or Mul(b, a) with a == x: b. */
static Value *mul_by(const Value *prod, const Value *x)
{
    Node *p = live_producer(prod, OP_Mul);
    return p ? other_operand(p, x) : NULL;
}

/* The tail 0.5 * x * (1 + t): the node that ends it, with its other nodes in mid[]. */
static Node *tail(const Value *t, const Value *x, Node **mid, int *nmid)
{
    Node *add = sole_user(t, OP_Add), *m1, *m2;
    Value *o;
    if (!add || !const_near(other_operand(add, t), 1.0)) return NULL;
    const Value *s = add->out[0];
    if (!(m1 = sole_user(s, OP_Mul)) || !(o = other_operand(m1, s))) return NULL;
    mid[(*nmid)++] = add;
    if (o == x) { /* (x * s) * 0.5 */
        m2 = sole_user(m1->out[0], OP_Mul);
        if (!m2 || !const_near(with(m2, OP_Mul, m1->out[0]), 0.5)) return NULL;
        mid[(*nmid)++] = m1;
        return m2;
    }
    if (const_near(o, 0.5)) { /* (s * 0.5) * x */
        m2 = sole_user(m1->out[0], OP_Mul);
        if (!m2 || with(m2, OP_Mul, m1->out[0]) != x) return NULL;
        mid[(*nmid)++] = m1;
        return m2;
    }
    Value *h = mul_by(o, x); /* (x * 0.5) * s */
    if (!h || !const_near(h, 0.5) || !only_use(o, m1)) return NULL;
    mid[(*nmid)++] = o->producer;
    return m1;
}

/* Erf(x / sqrt(2)): x, with the scaling node in mid[]. */
static Value *erf_arg(const Node *e, Node **mid, int *nmid)
{
    Node *p = live_producer(e->in[0], OP_COUNT_);
    if (!p || !only_use(e->in[0], e) || p->nin != 2) return NULL;
    Value *x = NULL;
    if (p->op == OP_Div && const_near(p->in[1], sqrt(2.0))) x = p->in[0];
    else if (p->op == OP_Mul && const_near(p->in[1], sqrt(0.5))) x = p->in[0];
    else if (p->op == OP_Mul && const_near(p->in[0], sqrt(0.5))) x = p->in[1];
    if (x) mid[(*nmid)++] = p;
    return x;
}

/* x^3 as Pow(x, 3), x * (x * x) or (x * x) * x, reading x: its nodes in mid[]. */
static bool is_cube(const Value *c, const Value *x, const Node *reader, Node **mid, int *nmid)
{
    Node *p = live_producer(c, OP_COUNT_);
    if (!p || !only_use(c, reader)) return false;
    if (p->op == OP_Pow && p->in[0] == x && const_near(p->in[1], 3.0)) {
        mid[(*nmid)++] = p;
        return true;
    }
    if (p->op != OP_Mul) return false;
    Value *sq = other_operand(p, x);
    Node *q = live_producer(sq, OP_Mul);
    if (!q || !only_use(sq, p) || q->in[0] != x || q->in[1] != x) return false;
    mid[(*nmid)++] = p;
    mid[(*nmid)++] = q;
    return true;
}

/* Tanh(sqrt(2/pi) * (x + 0.044715 * x^3)): x, with its nodes in mid[]. */
static Value *tanh_arg(const Node *th, Node **mid, int *nmid)
{
    Node *p = live_producer(th->in[0], OP_Mul), *add, *cm;
    if (!p || !only_use(th->in[0], th)) return NULL;
    Value *inner = const_near(p->in[0], sqrt(2.0 / M_PI)) ? p->in[1] : const_near(p->in[1], sqrt(2.0 / M_PI)) ? p->in[0] : NULL;
    if (!inner || !(add = live_producer(inner, OP_Add)) || !only_use(inner, p)) return NULL;
    for (int k = 0; k < 2; k++) {
        Value *x = add->in[k], *term = add->in[1 - k];
        if (!(cm = live_producer(term, OP_Mul)) || !only_use(term, add)) continue;
        for (int j = 0; j < 2; j++) {
            int n0 = *nmid;
            if (const_near(cm->in[j], 0.044715) && is_cube(cm->in[1 - j], x, cm, mid, nmid)) {
                mid[(*nmid)++] = p;
                mid[(*nmid)++] = add;
                mid[(*nmid)++] = cm;
                return x;
            }
            *nmid = n0;
        }
    }
    return NULL;
}

Status pass_fuse_gelu(Graph *g, Diag *d)
{
    for (int i = 0; i < g->nnodes; i++) {
        Node *n = g->nodes[i], *mid[12], *root;
        int nmid = 0;
        if (n->dead || (n->op != OP_Erf && n->op != OP_Tanh) || !n->out[0] || !dtype_is_float(n->out[0]->dtype)) continue;
        Value *x = n->op == OP_Erf ? erf_arg(n, mid, &nmid) : tanh_arg(n, mid, &nmid);
        if (!x || x->dtype != n->out[0]->dtype || !(root = tail(n->out[0], x, mid, &nmid))) continue;
        if (!shape_equal(&x->shape, &root->out[0]->shape)) continue;
        Node *f = fuse_replace(g, root, OP_Gelu, 1);
        node_set_input(f, 0, x);
        if (n->op == OP_Tanh) node_add_attr(g, f, "approximate", ATTR_STRING)->s = "tanh";
        for (int k = 0; k < nmid; k++) node_remove(mid[k]);
        node_remove(n);
        if (fuse_check(f, d)) return d->status;
    }
    graph_compact(g);
    return ST_OK;
}
