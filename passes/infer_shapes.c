/* infer_shapes.c — give every value a dtype and static shape, folding small
 * constant computations on the way (the Shape -> Gather -> Concat -> Reshape
 * chains exporters write need their values to infer the next shape). */
#include "kiln.h"

enum { FOLD_DURING_INFER_BYTES = 1 << 16 };

/* Ops whose output depends only on input shapes, never on input data. */
static bool reads_only_shapes(Op op)
{
    return op == OP_Shape || op == OP_Size;
}

bool node_is_foldable(const Node *n)
{
    if (!lower_rule(n->op)) return false;
    if (reads_only_shapes(n->op)) return true;
    for (int k = 0; k < n->nin; k++)
        if (n->in[k] && !value_is_const(n->in[k])) return false;
    return true;
}

static size_t output_bytes(const Node *n)
{
    size_t total = 0;
    for (int k = 0; k < n->nout; k++)
        if (n->out[k]) total += value_bytes(n->out[k]);
    return total;
}

static Status check_static(const Graph *g, Diag *d)
{
    char buf[256];
    for (int i = 0; i < g->ninputs; i++) {
        const Value *v = g->inputs[i];
        if (!shape_is_static(&v->shape))
            return diag_unsupported(d, NULL, "input '%s' has dynamic shape %s: give each symbolic dimension a value "
                                             "with --dim NAME=VALUE", v->name, shape_str(&v->shape, buf, sizeof buf));
    }
    return ST_OK;
}

Status pass_infer_shapes(Graph *g, Diag *d)
{
    if (check_static(g, d)) return d->status;
    for (int i = 0; i < g->nnodes; i++) {
        Node *n = g->nodes[i];
        if (n->dead) continue;
        InferFn rule = infer_rule(n->op);
        if (!rule) return diag_unsupported(d, n, "unsupported operator: kiln has no shape rule for %s yet", op_info[n->op].name);
        for (int k = 0; k < n->nin; k++)
            if (!n->in[k] && k < op_info[n->op].min_in) /* shape rules rely on this, whatever the frontend */
                return diag_error(d, ST_INPUT, n, "input %d is required, but it is omitted", k);
        for (int k = 0; k < n->nin; k++)
            if (n->in[k] && !n->in[k]->typed)
                return diag_error(d, ST_INTERNAL, n, "input '%s' has no type before its use", n->in[k]->name);
        if (rule(n, d)) return d->status;
        for (int k = 0; k < n->nout; k++) {
            Value *v = n->out[k];
            if (!v) continue;
            if (!v->typed) return diag_error(d, ST_INTERNAL, n, "shape rule left output %d untyped", k);
            if (shape_numel(&v->shape) < 0 || shape_numel(&v->shape) > KILN_MAX_ELEMENTS ||
                (value_bytes(v) == 0 && shape_numel(&v->shape) > 0))
                return diag_error(d, ST_INPUT, n, "output '%s' has shape %s: more than %lld elements", v->name,
                                  shape_str(&v->shape, (char[256]){0}, 256), (long long)KILN_MAX_ELEMENTS);
        }
        if (node_is_foldable(n) && output_bytes(n) <= FOLD_DURING_INFER_BYTES)
            if (eval_node(g, n, d)) return d->status;
    }
    graph_compact(g);
    return ST_OK;
}
