/* rewrite.c — pattern helpers the graph-cleanup passes share (noops,
 * simplify, cse, fold-batchnorm). */
#include <string.h>

#include "kiln.h"

bool op_is_reshape_like(Op op)
{
    return op == OP_Reshape || op == OP_Flatten || op == OP_Squeeze || op == OP_Unsqueeze;
}

Node *live_producer(const Value *v, Op op)
{
    Node *p = v ? v->producer : NULL;
    return p && !p->dead && (op == OP_COUNT_ || p->op == op) ? p : NULL;
}

int transpose_perm(const Node *n, int64_t perm[KILN_MAX_RANK])
{
    int rank = n->in[0]->shape.rank;
    const int64_t *p;
    int np = attr_ints(n, "perm", &p);
    if (np < 0) {
        for (int i = 0; i < rank; i++) perm[i] = rank - 1 - i;
        return rank;
    }
    if (np != rank) return -1;
    for (int i = 0; i < rank; i++) {
        if (p[i] < 0 || p[i] >= rank) return -1;
        perm[i] = p[i];
    }
    return rank;
}

/* The axes of size > 1 keep their relative order: the bytes do not move. */
bool perm_keeps_order(const int64_t *perm, const Shape *in)
{
    int64_t last = -1;
    for (int i = 0; i < in->rank; i++) {
        if (in->dims[perm[i]] == 1) continue;
        if (perm[i] < last) return false;
        last = perm[i];
    }
    return true;
}

bool value_all_equal(const Value *v, double x)
{
    if (!v || v->kind != VAL_CONST || !v->typed || !v->data) return false;
    if (!dtype_is_float(v->dtype) && !dtype_is_int(v->dtype) && v->dtype != KILN_DTYPE_BOOL) return false;
    int64_t n = shape_numel(&v->shape);
    for (int64_t i = 0; i < n; i++)
        if (dtype_load_f64(v->dtype, v->data, (size_t)i) != x) return false;
    return true;
}

Value *new_const(Graph *g, const char *base, DType t, const Shape *s, const void *data)
{
    const char *name = base;
    for (int i = 1; graph_find(g, name); i++) name = arena_printf(g->arena, "%s.%d", base, i);
    return graph_const(g, name, t, s, data);
}

/* n becomes Reshape(x, its own output shape); x holds the same elements in
 * the same order. False where Reshape cannot say it (an empty dim means
 * "copy" to Reshape). */
bool node_make_reshape(Graph *g, Node *n, Value *x)
{
    const Shape *y = &n->out[0]->shape;
    for (int i = 0; i < y->rank; i++)
        if (y->dims[i] <= 0) return false;
    Value *c = n->op == OP_Reshape && n->nin > 1 ? n->in[1] : NULL; /* keep a shape that says it already */
    for (int i = 0; c && i < y->rank; i++)
        if (c->kind != VAL_CONST || c->dtype != KILN_DTYPE_I64 || shape_numel(&c->shape) != y->rank ||
            ((const int64_t *)c->data)[i] != y->dims[i])
            c = NULL;
    Shape s = shape_make(1, (int64_t[]){y->rank});
    if (!c) c = new_const(g, arena_printf(g->arena, "%s.shape", n->out[0]->name), KILN_DTYPE_I64, &s, y->dims);
    if (!c) return false;
    node_set_ninputs(g, n, 2);
    node_set_input(n, 0, x);
    node_set_input(n, 1, c);
    n->op = OP_Reshape;
    n->nattrs = 0;
    n->opset = n->opset < 14 ? 14 : n->opset;
    return true;
}
