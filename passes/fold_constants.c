/* fold_constants.c — evaluate at compile time every node whose inputs are
 * all known (weight transposes, casts, dequantisation of constants, ...). */
#include "kiln.h"

enum { MAX_FOLD_BYTES = 256 << 20 }; /* larger results stay run-time work, not module data */

Status pass_fold_constants(Graph *g, Diag *d)
{
    for (int i = 0; i < g->nnodes; i++) {
        Node *n = g->nodes[i];
        if (n->dead || !node_is_foldable(n)) continue;
        size_t bytes = 0;
        for (int k = 0; k < n->nout; k++)
            if (n->out[k]) bytes += value_bytes(n->out[k]);
        if (bytes > MAX_FOLD_BYTES) continue;
        if (eval_node(g, n, d)) return d->status;
    }
    graph_compact(g);
    return ST_OK;
}
