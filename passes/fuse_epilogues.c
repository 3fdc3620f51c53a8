/* fuse_epilogues.c — Conv / Gemm / MatMul followed by up to two Adds (a
 * bias, a residual) and an activation become one FusedConv / FusedGemm /
 * FusedMatMul: y = act(op(x) + bias + residual), the kernel applying the
 * epilogue to its result while it is hot instead of three more passes over
 * memory. Each intermediate value must have no other reader, and each
 * addend must broadcast to the result without changing its shape. */
#include <string.h>

#include "kiln.h"
#include "../kernels/c/fused.h"
#include "../ir/fused_plan.h"

static Op fused_op(Op op)
{
    return op == OP_Conv ? OP_FusedConv : op == OP_Gemm ? OP_FusedGemm : op == OP_MatMul ? OP_FusedMatMul : OP_COUNT_;
}

/* An Add of y and another tensor that broadcasts to y: that tensor. */
static Value *addend(const Node *add, const Value *y)
{
    Value *o = other_operand(add, y);
    if (!o || o == y || !o->typed || o->dtype != y->dtype || !fz_broadcasts_to(&o->shape, &y->shape)) return NULL;
    if (add->opset < 7 && attr_get(add, "broadcast")) return NULL;
    return o;
}

static Status fuse(Graph *g, Node *n, Diag *d)
{
    Value *y = n->out[0], *add[2] = {NULL, NULL};
    Node *chain[3], *u;
    int nchain = 0, nadd = 0;
    FzScalar act = {.op = -1};
    while (nadd < 2 && (u = sole_user(y, OP_Add)) && (add[nadd] = addend(u, y))) {
        nadd++;
        chain[nchain++] = u;
        y = u->out[0];
    }
    if ((u = sole_user(y, OP_COUNT_)) && fz_scalar_of(u, &act) && act.ntensor == 1 && u->in[0] == y) {
        chain[nchain++] = u;
        y = u->out[0];
    } else {
        act.op = -1;
    }
    if (!nchain) return ST_OK;
    /* a constant addend is the bias, the other one the residual */
    Value *bias = add[0], *res = add[1];
    if (res && value_is_const(res) && !value_is_const(bias)) bias = add[1], res = add[0];
    if (bias && !res && !value_is_const(bias)) res = bias, bias = NULL;

    Node *f = fuse_replace(g, chain[nchain - 1], fused_op(n->op), 5);
    for (int k = 0; k < 3 && k < n->nin; k++) node_set_input(f, k, n->in[k]);
    node_set_input(f, 3, bias);
    node_set_input(f, 4, res);
    f->name = n->name;
    f->loc = n->loc;
    f->opset = n->opset;
    for (int a = 0; a < n->nattrs; a++) *node_add_attr(g, f, n->attrs[a].name, n->attrs[a].kind) = n->attrs[a];
    if (act.op >= 0) {
        node_add_attr(g, f, "activation", ATTR_STRING)->s = fz_op_name(act.op);
        if (act.nparam > 0) node_add_attr(g, f, "activation_alpha", ATTR_FLOAT)->f = act.param[0];
        if (act.nparam > 1) node_add_attr(g, f, "activation_beta", ATTR_FLOAT)->f = act.param[1];
    }
    for (int i = 0; i < nchain - 1; i++) node_remove(chain[i]);
    node_remove(n);
    return fuse_check(f, d);
}

Status pass_fuse_epilogues(Graph *g, Diag *d)
{
    for (int i = 0; i < g->nnodes; i++) {
        Node *n = g->nodes[i];
        if (n->dead || fused_op(n->op) == OP_COUNT_ || !n->out[0] || !dtype_is_float(n->out[0]->dtype)) continue;
        if (!lower_takes_epilogue(n)) continue;
        if (fuse(g, n, d)) return d->status;
    }
    graph_compact(g);
    return ST_OK;
}
