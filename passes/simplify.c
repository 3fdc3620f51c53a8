/* simplify.c — algebraic simplification: x*1, x+0, x-0, x/1, x^1, bool
 * identities, Neg(Neg(x)), Not(Not(x)), repeated idempotent ops, 0-x and
 * x*-1 as Neg, lossless Cast round trips, chains of reshapes merged into one
 * Reshape, transposes composed (or made a Reshape where no data moves).
 * Only where the result keeps x's dtype and shape: x + 0 that broadcasts x
 * to a larger shape is not x. */
#include "kiln.h"

/* The constant operand that leaves the other unchanged, for op. */
static bool identity_element(Op op, bool right, double *e)
{
    switch (op) {
    case OP_Add: case OP_Or: case OP_Xor: *e = 0; return true;
    case OP_Mul: case OP_And: *e = 1; return true;
    case OP_Sub: *e = 0; return right;
    case OP_Div: case OP_Pow: *e = 1; return right;
    default: return false;
    }
}

/* x op e, e op x with e the identity element: x. */
static bool binary_identity(Node *n)
{
    double e;
    if (n->nin != 2 || n->nattrs) return false; /* attributes: pre-opset-7 broadcasting */
    for (int k = 0; k < 2; k++)
        if (identity_element(n->op, k == 1, &e) && value_all_equal(n->in[k], e) && node_bypass(n, 0, n->in[1 - k]))
            return true;
    return false;
}

/* 0 - x and x * -1 (or -1 * x) as Neg(x), for float and signed types. */
static bool as_neg(Graph *g, Node *n)
{
    DType t = n->out[0]->dtype;
    if (n->nin != 2 || n->nattrs || !(dtype_is_float(t) || dtype_is_signed(t))) return false;
    int k = -1;
    if (n->op == OP_Sub && value_all_equal(n->in[0], 0)) k = 1;
    if (n->op == OP_Mul) k = value_all_equal(n->in[1], -1) ? 0 : value_all_equal(n->in[0], -1) ? 1 : -1;
    if (k < 0 || !shape_equal(&n->in[k]->shape, &n->out[0]->shape)) return false;
    Value *x = n->in[k];
    node_set_input(n, 0, x);
    node_set_ninputs(g, n, 1);
    n->op = OP_Neg;
    return true;
}

static bool is_involution(Op op)
{
    return op == OP_Neg || op == OP_Not;
}

static bool is_idempotent(Op op)
{
    return op == OP_Relu || op == OP_Abs || op == OP_Floor || op == OP_Ceil || op == OP_Round || op == OP_Sign;
}

/* f(f(x)) = x for involutions; f(f(x)) = f(x) for idempotent ops. */
static bool repeated_unary(Node *n)
{
    Node *p = live_producer(n->in[0], n->op);
    if (!p || n->nattrs || p->nattrs) return false;
    if (is_involution(n->op)) return node_bypass(n, 0, p->in[0]);
    if (is_idempotent(n->op)) return node_bypass(n, 0, n->in[0]);
    return false;
}

/* Every value of type a has an exact image in type b. */
static bool lossless(DType a, DType b)
{
    size_t sa = dtype_size(a), sb = dtype_size(b);
    if (a == b || a == KILN_DTYPE_BOOL) return dtype_is_float(b) || dtype_is_int(b) || b == KILN_DTYPE_BOOL;
    if (dtype_is_float(a) && dtype_is_float(b))
        return b == KILN_DTYPE_F64 || (b == KILN_DTYPE_F32 && (a == KILN_DTYPE_F16 || a == KILN_DTYPE_BF16));
    if (!dtype_is_int(a)) return false;
    if (dtype_is_int(b))
        return dtype_is_signed(a) == dtype_is_signed(b) ? sb >= sa : !dtype_is_signed(a) && sb > sa;
    int bits = (int)sa * 8 - dtype_is_signed(a); /* magnitude bits of a */
    return (b == KILN_DTYPE_F64 && bits <= 53) || (b == KILN_DTYPE_F32 && bits <= 24) ||
           (b == KILN_DTYPE_F16 && bits <= 11);
}

/* Cast(Cast(x, B), A) with x of type A and B holding every A: x. */
static bool cast_round_trip(Node *n)
{
    Node *p = live_producer(n->in[0], n->op);
    if (!p || n->op != OP_Cast) return false;
    Value *x = p->in[0];
    return x->dtype == n->out[0]->dtype && lossless(x->dtype, p->out[0]->dtype) && node_bypass(n, 0, x);
}

/* n, whose output holds x's elements in x's order, as Reshape(x), or as x. */
static bool reshape_of(Graph *g, Node *n, Value *x)
{
    return (shape_equal(&x->shape, &n->out[0]->shape) && node_bypass(n, 0, x)) || node_make_reshape(g, n, x);
}

/* A reshape of a reshape (of ...) is one Reshape of the first input. */
static bool merge_reshapes(Graph *g, Node *n)
{
    Node *p = live_producer(n->in[0], OP_COUNT_);
    if (!p || !op_is_reshape_like(p->op)) return false;
    Value *x = p->in[0];
    while ((p = live_producer(x, OP_COUNT_)) && op_is_reshape_like(p->op)) x = p->in[0];
    return reshape_of(g, n, x);
}

/* Transpose(Transpose(x, p), q) = Transpose(x, p[q]); one that moves only
 * size-1 axes is a Reshape. */
static bool compose_transposes(Graph *g, Node *n)
{
    int64_t q[KILN_MAX_RANK], p[KILN_MAX_RANK];
    int rank = transpose_perm(n, q);
    if (rank < 0) return false;
    if (perm_keeps_order(q, &n->in[0]->shape)) return reshape_of(g, n, n->in[0]);
    Node *t = live_producer(n->in[0], OP_Transpose);
    if (!t || transpose_perm(t, p) != rank) return false;
    int64_t composed[KILN_MAX_RANK];
    for (int i = 0; i < rank; i++) composed[i] = p[q[i]];
    node_set_ints(g, n, "perm", composed, rank);
    node_set_input(n, 0, t->in[0]);
    if (perm_keeps_order(composed, &n->in[0]->shape)) reshape_of(g, n, n->in[0]);
    return true;
}

static bool simplify_node(Graph *g, Node *n)
{
    if (n->nin < 1 || !n->in[0] || !n->out[0] || !n->out[0]->typed) return false;
    for (int k = 0; k < n->nin; k++)
        if (n->in[k] && !n->in[k]->typed) return false;
    switch (n->op) {
    case OP_Add: case OP_Sub: case OP_Mul: case OP_Div: case OP_Pow: case OP_And: case OP_Or: case OP_Xor:
        return binary_identity(n) || as_neg(g, n);
    case OP_Cast: return cast_round_trip(n);
    case OP_Reshape: case OP_Flatten: case OP_Squeeze: case OP_Unsqueeze: return merge_reshapes(g, n);
    case OP_Transpose: return compose_transposes(g, n);
    default: return repeated_unary(n);
    }
}

Status pass_simplify(Graph *g, Diag *d)
{
    /* a rewrite can expose another (x*1 between two Negs): repeat a few times */
    for (int round = 0; round < 4; round++) {
        bool changed = false;
        for (int i = 0; i < g->nnodes; i++)
            if (!g->nodes[i]->dead) changed |= simplify_node(g, g->nodes[i]);
        if (!changed) break;
    }
    return pass_eliminate_dead(g, d);
}
