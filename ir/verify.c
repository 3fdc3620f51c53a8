/* verify.c — the invariants every pass must keep. */
#include <string.h>

#include "kiln.h"

static bool has_user(const Value *v, const Node *n)
{
    for (int u = 0; u < v->nusers; u++)
        if (v->users[u] == n) return true;
    return false;
}

Status graph_verify(const Graph *g, Diag *d)
{
    for (int i = 0; i < g->nnodes; i++) {
        const Node *n = g->nodes[i];
        const OpInfo *info = &op_info[n->op];
        if (n->dead) return diag_error(d, ST_INTERNAL, n, "verify: dead node left in the graph");
        if (n->nin < info->min_in || (info->max_in >= 0 && n->nin > info->max_in))
            return diag_error(d, ST_INTERNAL, n, "verify: %d inputs, outside %d..%d", n->nin, info->min_in, info->max_in);
        for (int k = 0; k < n->nin; k++) {
            const Value *v = n->in[k];
            if (!v) continue;
            if (!has_user(v, n)) return diag_error(d, ST_INTERNAL, n, "verify: input '%s' does not list the node as a user", v->name);
            if (v->kind == VAL_ACT && (!v->producer || v->producer->id >= n->id))
                return diag_error(d, ST_INTERNAL, n, "verify: input '%s' is not produced by an earlier node", v->name);
        }
        for (int k = 0; k < n->nout; k++)
            if (n->out[k] && n->out[k]->producer != n)
                return diag_error(d, ST_INTERNAL, n, "verify: output '%s' names another producer", n->out[k]->name);
    }
    for (int i = 0; i < g->nvalues; i++) {
        const Value *v = g->values[i];
        if (v->kind == VAL_CONST && !v->data) return diag_error(d, ST_INTERNAL, NULL, "verify: constant '%s' has no data", v->name);
        if (v->kind == VAL_ACT && !v->producer) return diag_error(d, ST_INTERNAL, NULL, "verify: value '%s' has no producer", v->name);
        for (int j = i + 1; j < g->nvalues; j++)
            if (strcmp(v->name, g->values[j]->name) == 0)
                return diag_error(d, ST_INTERNAL, NULL, "verify: two values are named '%s'", v->name);
    }
    return ST_OK;
}
