/* eliminate_noops.c — remove nodes whose output equals a value the graph
 * already has: Identity, inference Dropout, Cast to the same type, reshapes,
 * Expand and Tile to the same shape, identity Transposes, zero Pads, full
 * Slices, one-input Concat/Split/Sum/Max/Min/Mean, and chains of reshapes
 * or of transposes that cancel. Their users read the earlier value. */
#include "kiln.h"

/* A value upstream of a chain of reshapes ending in n with n's shape. */
static Value *reshapes_cancel(const Node *n)
{
    for (Value *v = n->in[0]; v && v->typed;) {
        if (shape_equal(&v->shape, &n->out[0]->shape)) return v;
        Node *p = live_producer(v, OP_COUNT_);
        if (!p || !op_is_reshape_like(p->op)) return NULL;
        v = p->in[0];
    }
    return NULL;
}

/* The same for transposes: their composed permutation moves no data. */
static Value *transposes_cancel(const Node *n)
{
    int64_t q[KILN_MAX_RANK], p[KILN_MAX_RANK];
    int rank = transpose_perm(n, q);
    for (Value *v = n->in[0]; rank >= 0;) {
        if (shape_equal(&v->shape, &n->out[0]->shape) && perm_keeps_order(q, &v->shape)) return v;
        Node *t = live_producer(v, OP_Transpose);
        if (!t || transpose_perm(t, p) != rank) return NULL;
        for (int i = 0; i < rank; i++) q[i] = p[q[i]];
        v = t->in[0];
    }
    return NULL;
}

static bool pads_zero(const Node *n)
{
    int64_t begin[KILN_MAX_RANK], end[KILN_MAX_RANK];
    int mode;
    Diag ignore = {0};
    if (movement_pad_plan(n, begin, end, &mode, &ignore)) return false;
    for (int a = 0; a < n->in[0]->shape.rank; a++)
        if (begin[a] || end[a]) return false;
    return true;
}

static bool slice_full(const Node *n)
{
    int64_t start[KILN_MAX_RANK], step[KILN_MAX_RANK], len[KILN_MAX_RANK];
    Diag ignore = {0};
    if (movement_slice_plan(n, start, step, len, &ignore)) return false;
    const Shape *s = &n->in[0]->shape;
    for (int a = 0; a < s->rank; a++)
        if (start[a] != 0 || step[a] != 1 || len[a] != s->dims[a]) return false;
    return true;
}

/* The value n's output 0 equals, or NULL. */
static Value *noop_source(const Node *n)
{
    if (n->nin < 1 || !n->in[0] || !n->in[0]->typed || !n->out[0] || !n->out[0]->typed) return NULL;
    Value *x = n->in[0];
    bool same_shape = shape_equal(&x->shape, &n->out[0]->shape);
    switch (n->op) {
    case OP_Identity: case OP_Dropout: return x;  /* Dropout: the shape rule admits inference mode only */
    case OP_Cast: case OP_CastLike: return x->dtype == n->out[0]->dtype ? x : NULL;
    case OP_Reshape: case OP_Flatten: case OP_Squeeze: case OP_Unsqueeze: return reshapes_cancel(n);
    case OP_Transpose: return transposes_cancel(n);
    case OP_Expand: case OP_Tile: return same_shape ? x : NULL;
    case OP_Concat: case OP_Sum: case OP_Max: case OP_Min: case OP_Mean: return n->nin == 1 ? x : NULL;
    case OP_Split: return n->nout == 1 && same_shape ? x : NULL;
    case OP_Pad: return same_shape && pads_zero(n) ? x : NULL;
    case OP_Slice: return same_shape && slice_full(n) ? x : NULL;
    default: return NULL;
    }
}

Status pass_eliminate_noops(Graph *g, Diag *d)
{
    for (int i = 0; i < g->nnodes; i++) {
        Node *n = g->nodes[i];
        if (n->dead) continue;
        Value *x = noop_source(n);
        if (x) node_bypass(n, 0, x);
    }
    return pass_eliminate_dead(g, d);
}
