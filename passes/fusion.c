/* fusion.c — what the fuse-* passes share: finding single-use intermediate
 * values, and putting a fused node in the place of the last node it replaces
 * (there every input it reads is already computed and every reader of its
 * result comes later, so the order stays topological). */
#include <math.h>

#include "kiln.h"

bool only_use(const Value *v, const Node *user)
{
    return v && v->kind == VAL_ACT && !v->is_output && v->nusers == 1 && v->users[0] == user;
}

Node *sole_user(const Value *v, Op op)
{
    if (!v || v->kind != VAL_ACT || v->is_output || v->nusers != 1) return NULL;
    Node *u = v->users[0];
    return !u->dead && (op == OP_COUNT_ || u->op == op) ? u : NULL;
}

Value *other_operand(const Node *n, const Value *v)
{
    if (n->nin != 2) return NULL;
    return n->in[0] == v ? n->in[1] : n->in[1] == v ? n->in[0] : NULL;
}

bool value_scalar(const Value *v, double *x)
{
    if (!v || !value_is_const(v) || !v->typed || !v->data || shape_numel(&v->shape) != 1) return false;
    if (!dtype_is_float(v->dtype) && !dtype_is_int(v->dtype)) return false;
    *x = dtype_load_f64(v->dtype, v->data, 0);
    return true;
}

bool const_near(const Value *v, double want)
{
    double x;
    return value_scalar(v, &x) && fabs(x - want) <= 1e-4 * fabs(want);
}

void node_remove(Node *n)
{
    for (int k = 0; k < n->nin; k++) node_set_input(n, k, NULL);
    n->dead = true;
}

Node *fuse_replace(Graph *g, Node *root, Op op, int nin)
{
    Node *n = graph_node(g, op, root->name, nin, 1);
    n->loc = root->loc;
    n->opset = root->opset;
    for (int i = 0; i < g->nnodes; i++)
        if (g->nodes[i] == root) {
            g->nodes[i] = n;
            g->nodes[g->nnodes - 1] = root;
            n->id = root->id;
            break;
        }
    Value *y = root->out[0];
    node_remove(root);
    node_set_output(n, 0, y);
    return n;
}

Status fuse_check(Node *n, Diag *d)
{
    Value *y = n->out[0];
    DType t = y->dtype;
    Shape s = y->shape;
    InferFn rule = infer_rule(n->op);
    Status st = rule ? rule(n, d) : diag_error(d, ST_INTERNAL, n, "no shape rule");
    if (st) return diag_error(d, ST_INTERNAL, n, "fusion made a node its shape rule rejects: %s", d->msg);
    if (y->dtype != t || !shape_equal(&y->shape, &s))
        return diag_error(d, ST_INTERNAL, n, "fusion changed the type of '%s'", y->name);
    return ST_OK;
}
